"""Form pairs where OCR put a label and its answer in one text box, or where a boxed form
prints its label over the answer (docproc.readers.rules.forms), on hand-built pages."""

from docproc.readers.rules.forms import read_form_pairs
from tests.rules_helpers import document, page


def _pairs(p):
    # The layout rules alone: the link model's additions are tested in test_form_links.py.
    return [(kv.key, kv.value) for kv in read_form_pairs(document(p), links=False)]


def test_a_field_label_and_its_number_in_one_box_are_split():
    p = page(1, [
        (0.1, 0.10, "Project No. 1989-29"),
        (0.1, 0.20, "Date 5-13-81"),
        (0.1, 0.30, "May 27, 1982"),  # a date, not "May" -> "27, 1982"
        (0.1, 0.40, "Suite 800"),  # an address line: "Suite" names no field
    ])
    assert _pairs(p) == [("Project No.", "1989-29"), ("Date", "5-13-81")]


def test_the_number_sign_belongs_to_the_label():
    p = page(1, [(0.1, 0.10, "Code #741")])
    assert _pairs(p) == [("Code #", "741")]


def test_an_answer_running_into_the_next_label_is_split_there():
    p = page(1, [
        (0.1, 0.10, "TEL: (212) 627-4111 FAX: (212) 627-8602"),
        (0.1, 0.20, "DATE: June 21, 1993DEPARTMENT:"), (0.5, 0.20, "Research"),
    ])
    assert _pairs(p) == [("TEL:", "(212) 627-4111"), ("FAX:", "(212) 627-8602"),
                         ("DATE:", "June 21, 1993"), ("DEPARTMENT:", "Research")]


def test_the_answer_after_a_colon_is_never_a_label():
    # "Dr. Harry Smith" reads like a label, with a value box right of it on its row.
    p = page(1, [(0.1, 0.10, "Attn: Dr. Harry Smith"), (0.6, 0.10, "3/1/82")])
    assert _pairs(p) == [("Attn:", "Dr. Harry Smith")]


def test_a_field_label_takes_an_answer_in_the_same_case_on_a_two_box_row():
    p = page(1, [
        (0.1, 0.10, "Project Name"), (0.3, 0.10, "Charcoal Smoking Tobacco"),
        (0.1, 0.20, "Carton Count"), (0.3, 0.20, "Package Type"), (0.5, 0.20, "Total Price"),
    ])
    assert _pairs(p) == [("Project Name", "Charcoal Smoking Tobacco")]


def test_a_boxed_label_over_its_answer():
    p = page(1, [
        (0.1, 0.100, "DATE WANTED"), (0.5, 0.100, "LRC COMPOUND CODE"),
        (0.12, 0.122, "1/15/82"), (0.66, 0.112, "A32"),
        (0.1, 0.300, "Weights"),  # no field named: a title over a value, not a label
        (0.1, 0.320, "245 mg"),
    ])
    assert _pairs(p) == [("DATE WANTED", "1/15/82"), ("LRC COMPOUND CODE", "A32")]


def test_numbers_side_by_side_are_separate_answers_but_a_spaced_date_is_one():
    p = page(1, [
        (0.1, 0.10, "Strength"), (0.40, 0.10, "4.31"), (0.44, 0.10, "4.59"),
        (0.1, 0.20, "Date"), (0.40, 0.20, "8"), (0.412, 0.20, "10"), (0.432, 0.20, "82"),
    ])
    assert _pairs(p) == [("Strength", "4.31"), ("Date", "8 10 82")]


def test_a_label_glued_to_the_figure_after_its_colon_is_split():
    p = page(1, [
        (0.1, 0.10, "DATE:8/13/93"),
        (0.1, 0.20, "Telephone:(202) 842-9530"),
        (0.1, 0.30, "Start 10:30"),  # a time: no label before its colon
        (0.1, 0.40, "see http://example.com/a"),  # a web address
    ])
    assert _pairs(p) == [("DATE:", "8/13/93"), ("Telephone:", "(202) 842-9530")]
