from pathlib import Path

import pytest

from docproc.readers.rules import RulesReader
from docproc.schemas import load_schema
from tests.rules_helpers import document, page, table

REPO = Path(__file__).resolve().parents[1]


def _invoice_page():
    return page(1, [
        (0.05, 0.03, "ACME Widgets GmbH"),
        (0.05, 0.05, "Hauptstrasse 5, 10115 Berlin"),
        (0.6, 0.03, "INVOICE"),
        (0.6, 0.08, "Invoice No: INV-2024-0042"),
        (0.6, 0.10, "Invoice Date: 05/12/2023"),
        (0.6, 0.12, "Due Date: 25/12/2023"),
        (0.05, 0.15, "Bill To:"),
        (0.05, 0.17, "Customer Corp Ltd"),
        (0.6, 0.70, "Subtotal"), (0.8, 0.70, "EUR 100,00"),
        (0.6, 0.72, "VAT 19%"), (0.8, 0.72, "EUR 19,00"),
        (0.6, 0.74, "Total"), (0.8, 0.74, "EUR 119,00"),
        (0.05, 0.90, "VAT ID: DE123456789"),
    ], tables=[table([["Description", "Qty", "Unit Price", "Amount"], ["Widget", "2", "30,00", "60,00"]])])


def test_invoice_fields_from_labels_and_geometry():
    ext = RulesReader().read(document(_invoice_page()), load_schema("invoice"))
    f = ext.fields
    assert f["invoice_number"].normalized == "INV-2024-0042"
    # 25/12/2023 on the page makes the document day-first: 05/12/2023 is 5 December.
    assert f["invoice_date"].normalized == "2023-12-05"
    assert f["due_date"].normalized == "2023-12-25"
    assert (f["subtotal"].normalized, f["tax"].normalized, f["total"].normalized) == ("100.00", "19.00", "119.00")
    assert f["total"].currency == "EUR" and f["currency"].normalized == "EUR"
    assert f["vendor_name"].value == "ACME Widgets GmbH"
    assert f["vendor_address"].normalized == "Hauptstrasse 5, 10115 Berlin"
    assert f["customer_name"].value == "Customer Corp Ltd"
    assert f["vendor_tax_id"].normalized == "DE123456789"
    assert f["purchase_order"] is None and f["payment_terms"] is None
    total = f["total"]
    assert total.page == 1 and 0.79 < total.bbox[0] < 0.81 and 0.73 < total.bbox[1] < 0.75
    assert 0 < total.confidence <= 1
    outcomes = {c.name: c.outcome for c in ext.checks}
    assert outcomes["totals_add_up"] == "pass" and outcomes["due_after_issue"] == "pass"
    assert outcomes["eu_vat_shape"] == "pass"


def test_line_items_stitched_across_pages():
    header = ["Description", "Qty", "Unit Price", "Amount"]
    p1 = page(1, [(0.05, 0.05, "Seller Ltd")], tables=[table([header, ["Widget", "2", "30.00", "60.00"]])])
    p2 = page(2, [(0.6, 0.8, "Subtotal 100.00")],
              tables=[table([header, ["Gadget", "1", "40.00", "40.00"], ["", "", "", ""]])])
    ext = RulesReader().read(document(p1, p2), load_schema("invoice"))
    assert [(i.description, i.amount, i.page) for i in ext.line_items] == [("Widget", "60.00", 1), ("Gadget", "40.00", 2)]
    assert {c.name: c.outcome for c in ext.checks}["line_items_sum"] == "pass"


def test_failed_arithmetic_lowers_confidence():
    p = page(1, [(0.6, 0.70, "Subtotal 100.00"), (0.6, 0.72, "Tax 19.00"), (0.6, 0.74, "Total 150.00")])
    ext = RulesReader().read(document(p), load_schema("invoice"))
    assert {c.name: c.outcome for c in ext.checks}["totals_add_up"] == "fail"
    assert ext.fields["total"].confidence <= 0.5
    assert any("totals_add_up" in w for w in ext.warnings)


def test_receipt_issuer_address_date_total():
    p = page(1, [
        (0.3, 0.02, "BOOK TA .K (TAMAN DAYA) SDN BHD"),
        (0.4, 0.04, "(789417-W)"),
        (0.3, 0.06, "NO.53 55,57 & 59, JALAN SAGU 18,"),
        (0.3, 0.08, "TAMAN DAYA, 81100 JOHOR BAHRU."),
        (0.3, 0.10, "TEL: 07-3553553"),
        (0.1, 0.15, "DOC NO: CS00012345   25/12/2018 8:13:39 PM"),
        (0.1, 0.50, "TOTAL QTY 3"),
        (0.1, 0.55, "TOTAL"), (0.7, 0.55, "9.00"),
        (0.1, 0.57, "CASH"), (0.7, 0.57, "10.00"),
    ])
    f = RulesReader().read(document(p), load_schema("receipt")).fields
    assert f["vendor_name"].value == "BOOK TA .K (TAMAN DAYA) SDN BHD"
    assert f["vendor_address"].normalized == "NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU."
    assert f["date"].normalized == "2018-12-25"
    assert f["total"].normalized == "9.00"
    assert f["tax"] is None


def test_nda_passages_across_lines():
    p = page(1, [
        (0.1, 0.05, "MUTUAL NONDISCLOSURE AGREEMENT"),
        (0.1, 0.10, "This Agreement is entered into as of April 18, 2001 by and between Nike, Inc., an"),
        (0.1, 0.12, "Oregon corporation (\"Company\"), and Eric Dean Sprunk (\"Executive\")."),
        (0.1, 0.30, "The obligations herein shall continue for a period of two (2) years after termination."),
        (0.1, 0.50, "This Agreement shall be governed by the laws of the State of"),
        (0.1, 0.52, "Oregon, without regard to its conflict of laws principles."),
    ])
    f = RulesReader().read(document(p), load_schema("nda")).fields
    assert [v.normalized for v in f["parties"]] == ["Nike Inc.", "Eric Dean Sprunk"]
    assert f["effective_date"].normalized == "2001-04-18"
    assert f["jurisdiction"].normalized == "Oregon"
    assert f["term"].normalized == "P2Y"
    assert f["jurisdiction"].page == 1 and f["jurisdiction"].bbox is not None


def test_nda_label_word_in_a_sentence_is_no_answer():
    """Running text that names "term" or "governing law" without the passage the field needs
    gives no answer; a form line "Term: 12 months" still does."""
    p = page(1, [
        (0.1, 0.10, "The term Confidential Information includes notes kept for two (2) years by the employee"),
        (0.1, 0.12, "Governing Law"),
        (0.1, 0.14, "the courts of any state shall have jurisdiction over disputes hereunder"),
    ])
    f = RulesReader().read(document(p), load_schema("nda")).fields
    assert f["term"] is None and f["jurisdiction"] is None
    form = page(1, [(0.1, 0.10, "Term: 12 months")])
    assert RulesReader().read(document(form), load_schema("nda")).fields["term"].normalized == "P12M"


def test_no_evidence_means_none():
    p = page(1, [(0.1, 0.1, "Hello world"), (0.1, 0.2, "nothing to see here")])
    f = RulesReader().read(document(p), load_schema("nda")).fields
    assert all(v is None for v in f.values())
    inv = RulesReader().read(document(p), load_schema("invoice")).fields
    assert inv["total"] is None and inv["invoice_date"] is None and inv["invoice_number"] is None


def test_generic_key_values_without_schema():
    p = page(1, [
        (0.1, 0.10, "Date: 9/3/92"),
        (0.1, 0.14, "R&D Group:"), (0.4, 0.14, "Licensee"),
        (0.1, 0.18, "Supervisor:"),
        (0.1, 0.20, "J. S. Wigand"),
        (0.1, 0.30, "Meeting at 10:30 today"),
    ])
    ext = RulesReader().read(document(p), None)
    pairs = [(kv.key, kv.value) for kv in ext.key_values]
    assert pairs == [("Date:", "9/3/92"), ("R&D Group:", "Licensee"), ("Supervisor:", "J. S. Wigand")]
    assert ext.fields == {} and ext.checks == []
    assert all(kv.page == 1 and kv.value_bbox is not None for kv in ext.key_values)


def test_user_schema_date_range():
    adbuy = load_schema(str(REPO / "examples" / "schemas" / "adbuy.yaml"))
    p = page(1, [
        (0.1, 0.05, "Contract # 1982847-1"),
        (0.1, 0.08, "Advertiser: Senate Majority PAC"),
        (0.1, 0.11, "Flight Dates: 04/16/20 - 04/22/20"),
        (0.5, 0.80, "Gross Amount: $17,470.00"),
    ])
    f = RulesReader().read(document(p), adbuy).fields
    assert f["contract_number"].normalized == "1982847-1"
    assert f["advertiser"].normalized == "Senate Majority PAC"
    assert (f["flight_start"].normalized, f["flight_end"].normalized) == ("2020-04-16", "2020-04-22")
    assert f["gross_amount"].normalized == "17470.00" and f["gross_amount"].currency == "USD"


@pytest.mark.parametrize("schema", ["invoice", "receipt", "nda", "cms1500", "key_values"])
def test_results_validate_against_result_schema(schema):
    from docproc.document import Result, ResultDocument
    from docproc.schemas import validate_result

    ext = RulesReader().read(document(_invoice_page()), load_schema(schema))
    result = Result(document=ResultDocument(source="x.pdf", pages=1, schema=schema, text_source="pdf_text"),
                    fields=ext.fields, key_values=ext.key_values, line_items=ext.line_items, checks=ext.checks,
                    warnings=ext.warnings)
    assert validate_result(result.to_json_dict()) == []


def test_view_merges_fragments_of_a_row_at_any_scale():
    """Pieces of one printed line join (word gaps), pieces a column apart stay apart, lines of
    other rows never join; the same in page-relative boxes and in pixel boxes (hand-built)."""
    from docproc.document import Line, Page, Word
    from docproc.readers.rules.view import DocView

    def doc(scale: float):
        p = Page(number=1, width=1000, height=1400, text_source="pdf_text")
        pieces = [(0.10, 0.10, "SAM"), (0.16, 0.10, "TRADING"), (0.26, 0.10, "CO"),  # one line, cut in 3
                  (0.70, 0.10, "TOTAL"),  # a column away: its own line
                  (0.10, 0.12, "No. 5 Jalan")]  # the next row
        for x, y, text in pieces:
            box = (x * scale, y * scale, (x + 0.012 * len(text)) * scale, (y + 0.015) * scale)
            p.words.append(Word(text=text, bbox=box, source="pdf_text"))
            p.lines.append(Line(words=[len(p.words) - 1], text=text, bbox=box))
        return document(p)

    for scale in (1.0, 1400.0):
        texts = [ln.text for ln in DocView.of(doc(scale)).lines]
        assert texts == ["SAM TRADING CO", "TOTAL", "No. 5 Jalan"], scale


def test_view_does_not_merge_down_a_staircase_of_pieces_into_the_next_row():
    """A form's top row: check-box labels set a little lower than the box label after them, over
    hints in brackets on the row below. Each piece joins the piece before it only when the two
    share a row, so the box label ("1a. INSURED'S I.D. NUMBER") is not merged with the hints."""
    from docproc.document import Line, Page, Word
    from docproc.readers.rules.view import DocView

    p = Page(number=1, width=1000, height=1400, text_source="ocr")
    pieces = [(0.30, 0.150, "(Member"), (0.36, 0.143, "PLAN"),  # half a row apart: one line
              (0.395, 0.150, "(ID#)"),  # on (Member's row
              (0.44, 0.136, "1a. INSURED'S I.D. NUMBER")]  # the row above (ID#)
    for x, y, text in pieces:
        box = (x, y, x + 0.008 * len(text), y + 0.015)
        p.words.append(Word(text=text, bbox=box, source="rapidocr"))
        p.lines.append(Line(words=[len(p.words) - 1], text=text, bbox=box))
    texts = [ln.text for ln in DocView.of(document(p)).lines]
    assert "1a. INSURED'S I.D. NUMBER" in texts, texts


def test_exact_label_search_is_whole_word_and_case_blind():
    from docproc.readers.rules.labels import _exact_pattern

    text = "Subtotal 5.00\nTOTAL  12.00\ntotals\n(net) 3\nx-total: 4\ngross\namount"
    # "TOTAL" and the "total" of "x-total"; not inside "Subtotal", not "totals"
    assert [m.start() for m in _exact_pattern("total").finditer(text)] == [text.index("TOTAL"), text.index("x-") + 2]
    assert [m.group() for m in _exact_pattern("(net)").finditer(text)] == ["(net)"]
    assert [m.group() for m in _exact_pattern("gross amount").finditer(text)] == []  # never across lines
    assert [m.start() for m in _exact_pattern("subtotal").finditer(text)] == [0]


def test_invoice_issuer_in_the_footer_when_the_top_names_the_customer():
    """A "To" block at the top names the customer; the issuer's legal name is the footer's
    imprint, its address after it on the same line or under it."""
    p = page(1, [
        (0.08, 0.06, "Invoice FI15636047324"),
        (0.08, 0.15, "To"), (0.50, 0.15, "Date issued"),
        (0.08, 0.18, "Acme Analytics GmbH"), (0.50, 0.18, "Mar 4, 2023"),
        (0.08, 0.20, "Pfalzer Ufer 4"),
        (0.08, 0.32, "Service"), (0.80, 0.32, "Total (EUR)"),
        (0.08, 0.35, "Infographic Design"), (0.80, 0.35, "197.28"),
        (0.60, 0.40, "Total (EUR)"), (0.80, 0.40, "197.28"),
        (0.08, 0.88, "Globex International Ltd."),
        (0.08, 0.92, "8 Kaplan St., Tel Aviv, Israel 6473409"),
    ])
    f = RulesReader().read(document(p), load_schema("invoice")).fields
    assert f["vendor_name"].normalized == "Globex International Ltd"


def test_invoice_issuer_name_and_address_on_one_line():
    """The customer's name printed again in a contact block is still the customer's; the
    imprint "Name Pty Ltd, Level 6, ..." holds the issuer's name and then its address, and a
    sender line "Name GmbH & Co. KG • street • town" likewise."""
    p = page(1, [
        (0.07, 0.10, "Summary"), (0.52, 0.10, "Invoice Number: AT-215508940"),
        (0.07, 0.15, "Acme Analytics GmbH"), (0.52, 0.15, "Billing Contact:"),
        (0.07, 0.17, "Pfalzer Ufer 4"), (0.52, 0.17, "Thomas Muller"),
        (0.52, 0.19, "Acme Analytics GmbH"),
        (0.40, 0.49, "Invoice Total:"), (0.59, 0.49, "USD 47.90"),
        (0.04, 0.88, "Globex Pty Ltd, Level 6, 341 George St, Sydney NSW 2000, Australia"),
    ])
    f = RulesReader().read(document(p), load_schema("invoice")).fields
    assert f["vendor_name"].normalized == "Globex Pty Ltd"
    assert f["vendor_address"].normalized.startswith("Level 6, 341 George St, Sydney NSW 2000")
    p = page(1, [
        (0.10, 0.08, "Medienpilot GmbH & Co. KG • Am Saueracker 23 • 91244 Reichenschwand"),
        (0.10, 0.12, "Acme Analytics GmbH"),
        (0.60, 0.30, "Rechnungsdatum: 04.07.2023"),
        (0.60, 0.50, "Gesamtbetrag:"), (0.80, 0.50, "119,00 EUR"),
    ])
    f = RulesReader().read(document(p), load_schema("invoice")).fields
    assert f["vendor_name"].normalized == "Medienpilot GmbH & Co. KG"
    assert f["vendor_address"].normalized == "Am Saueracker 23, 91244 Reichenschwand"
