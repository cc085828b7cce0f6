"""NDA passage search (docproc.readers.rules.passages) on made-up contract sentences."""

from docproc.readers.rules import passages


def test_term_is_the_agreements_own_period():
    text = ("1. Employee shall not solicit any customer for a period of twelve (12) months after "
            "termination of employment. 2. The obligations of this Agreement shall continue for a period "
            "of three (3) years from the date hereof.")
    hit = passages.term(text)
    assert hit is not None and hit.normalized == "P3Y"


def test_term_from_an_anniversary_and_none_without_one():
    hit = passages.term("This Agreement shall expire on the second anniversary of the Effective Date.")
    assert hit is not None and hit.normalized == "P2Y"
    assert passages.term("You may revoke this release within a period of seven (7) days.") is None


def test_parties_written_as_the_convention_writes_legal_forms():
    text = ("This Agreement is made by and between Smith & Jones Incorporated, a Delaware corporation "
            "(the \"Company\"), and Blue River Partners, L.L.C. (\"Recipient\"). WHEREAS the parties agree.")
    assert [h.normalized for h in passages.parties(text)] == ["Smith and Jones Inc.", "Blue River Partners LLC"]


def test_one_named_company_and_an_unnamed_signatory():
    text = ("This Agreement is made as of the day of , 2012, between Northwind Traders L.L.C. "
            "(the \"Company\"), and the employee signatory hereto (the \"Employee\"). WHEREAS ...")
    got = passages.parties(text)
    assert [h.normalized for h in got] == ["Northwind Traders LLC"] and got[0].score < 0.6
    # Without a legal form a lone name is not trusted as a party.
    assert passages.parties("a dispute between Sears and me shall be settled") == []


def test_term_from_a_section_heading():
    text = ("3. Remedies. Each party may seek an injunction within thirty (30) days. 4. Term. This Agreement "
            "shall be effective from the Effective Date for two (2) years or until its earlier termination.")
    hit = passages.term(text)
    assert hit is not None and hit.normalized == "P2Y" and hit.score > passages.TERM_PERIOD


def test_jurisdiction_named_as_a_state_is_surer_than_a_bare_name():
    named = passages.jurisdiction("This Agreement is governed by the laws of the State of Oregon.")
    bare = passages.jurisdiction("This Agreement is governed by the laws of England, without regard to conflicts.")
    assert named.value == "Oregon" and bare.value == "England"
    assert named.score >= 0.9 > bare.score


def test_parties_after_a_parties_heading_and_names_ending_without_a_comma():
    text = ("AGREEMENT PARTIES: Jane Q. Doe (“EMPLOYEE”) and ACME, Inc., divisions, subsidiaries and affiliates. "
            "(“ACME”): RECITALS: A. This Agreement")
    assert [h.normalized for h in passages.parties(text)] == ["Jane Q. Doe", "ACME Inc."]
    text = ("This Agreement is entered into by and between ZEPHYR CORPORATION having its place of business at "
            "1 Main Street (hereinafter ZEPHYR) and Blue Sky Holdings, Inc a Delaware corporation (“Blue”). "
            "WHEREAS the parties agree.")
    assert [h.normalized for h in passages.parties(text)] == ["ZEPHYR CORPORATION", "Blue Sky Holdings Inc."]


def test_letter_agreement_parties_from_its_head_and_first_sentence():
    text = ("CONFIDENTIALITY AGREEMENT LOGO Northwind Traders, LLC 1 Harbor Road Boston, MA 02110 March 1, 2011 "
            "Attention: J. Smith Ladies and Gentlemen: You have requested information regarding Contoso Coffee "
            "Company, Inc. (the “Company”) in connection with a possible transaction.")
    assert passages.parties(text) == []
    got = passages.letter_parties(text)
    assert [h.normalized for h in got] == ["Northwind Traders LLC", "Contoso Coffee Company Inc."]
    assert passages.letter_parties("This Agreement is between Acme Inc. and Bob.") == []


def test_jurisdiction_written_other_ways():
    hit = passages.jurisdiction("12. This Agreement shall be governed in all respects, whether as to validity, construction, "
                                "capacity, performance, or otherwise, by the laws of the State of Illinois, without regard.")
    assert hit.value == "Illinois" and hit.score < 0.9
    hit = passages.jurisdiction("The laws of the State of Delaware, without giving effect to principles of conflict of "
                                "laws, govern all matters arising out of this Agreement.")
    assert hit.value == "Delaware"
    assert passages.jurisdiction("Employee lived in the State of Ohio under the laws of the State of Ohio.") is None


def test_effective_date_from_the_signature_block_read_month_first_as_the_text_writes_dates():
    from docproc.normalize import Context
    body = "This Agreement protects information. " * 20
    text = (body + "The Employee joined on March 4, 2009. IN WITNESS WHEREOF the parties sign below. "
            "ACME Inc. By: /s/ J. Smith Date: 8/11/08 Title: President")
    hit = passages.effective_date(text, Context(date_order="DMY"))
    assert hit is not None and str(hit.normalized) == "2008-08-11" and hit.score < 0.8


def test_defined_company_when_no_party_list():
    text = ("CONFIDENTIALITY AGREEMENT As an associate of nStor Corporation, Inc. (the “Company”), you will have "
            "access to confidential information of the Company.")
    assert passages.parties(text) == [] and passages.letter_parties(text) == []
    got = passages.defined_company(text)
    assert [h.normalized for h in got] == ["nStor Corporation Inc."] and got[0].score < 0.5
    assert passages.defined_company("Acme Inc. makes widgets for everyone.") == []
