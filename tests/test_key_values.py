"""Generic form pairs (docproc.readers.rules.forms) on hand-built form pages."""

from docproc.readers.rules import RulesReader
from docproc.readers.rules.forms import read_form_pairs
from tests.rules_helpers import document, page


def _pairs(p):
    # The layout rules alone: the link model's additions are tested in test_form_links.py.
    return [(kv.key, kv.value) for kv in read_form_pairs(document(p), links=False)]


def test_colon_labels_right_and_below():
    p = page(1, [
        (0.1, 0.10, "Date: 9/3/92"),
        (0.1, 0.14, "R&D Group:"), (0.4, 0.14, "Licensee"),
        (0.1, 0.18, "Supervisor:"),
        (0.1, 0.20, "J. S. Wigand"),
    ])
    assert _pairs(p) == [("Date:", "9/3/92"), ("R&D Group:", "Licensee"), ("Supervisor:", "J. S. Wigand")]


def test_label_without_colon_takes_the_value_on_its_row():
    p = page(1, [
        (0.1, 0.30, "Tobacco Rod Length"), (0.45, 0.30, "64 mm"),
        (0.1, 0.33, "Filter Plug Length"), (0.45, 0.33, "20 mm"),
    ])
    assert _pairs(p) == [("Tobacco Rod Length", "64 mm"), ("Filter Plug Length", "20 mm")]


def test_heading_row_and_prose_are_not_pairs():
    p = page(1, [
        (0.1, 0.10, "STORES"), (0.5, 0.10, "NAME OF ACCOUNT"),  # two headings side by side
        (0.1, 0.30, "Meeting at 10:30 today"),
        (0.1, 0.40, "the samples were sent to the lab on time"),
    ])
    assert _pairs(p) == []


def test_wrapped_answer_is_one_value():
    p = page(1, [
        (0.1, 0.10, "NATURE OF WORK:"),
        (0.3, 0.13, "Advise if locally obtained honey (sample"),
        (0.3, 0.145, "enclosed) is an acceptable substitute."),
        (0.1, 0.30, "COUNTRY:"), (0.3, 0.30, "BELGIUM"),
    ])
    pairs = _pairs(p)
    assert ("NATURE OF WORK:", "Advise if locally obtained honey (sample enclosed) is an acceptable substitute.") in pairs
    assert ("COUNTRY:", "BELGIUM") in pairs


def test_reader_reports_pairs_with_boxes():
    p = page(1, [(0.1, 0.10, "Brand:"), (0.3, 0.10, "PHOENIX")])
    ext = RulesReader().read(document(p), None)
    (kv,) = ext.key_values
    assert (kv.key, kv.value, kv.page) == ("Brand:", "PHOENIX", 1)
    assert kv.key_bbox[2] < kv.value_bbox[0] and 0 < kv.confidence <= 1


def test_number_and_unit_boxes_are_one_answer():
    p = page(1, [(0.1, 0.30, "Tobacco Rod Length"), (0.45, 0.30, "64"), (0.50, 0.30, "mm")])
    assert _pairs(p) == [("Tobacco Rod Length", "64 mm")]


def test_column_headings_pair_with_the_answers_under_them():
    p = page(1, [
        (0.55, 0.08, "BWIT"),
        (0.55, 0.10, "Suggestion"), (0.75, 0.10, "HK Trial"),
        (0.1, 0.13, "Filter Plug Length"), (0.55, 0.13, "27 mm"), (0.75, 0.13, "28 mm"),
        (0.1, 0.16, "Tipping Length"), (0.55, 0.16, "32 mm"), (0.75, 0.16, "33 mm"),
    ])
    pairs = _pairs(p)
    for pair in [("Filter Plug Length", "27 mm"), ("Filter Plug Length", "28 mm"), ("Tipping Length", "33 mm"),
                 ("BWIT Suggestion", "27 mm"), ("BWIT Suggestion", "32 mm"), ("HK Trial", "28 mm"),
                 ("HK Trial", "33 mm")]:
        assert pair in pairs
    assert len(pairs) == 8


def test_a_label_takes_one_answer_on_its_row_outside_tables():
    p = page(1, [(0.1, 0.10, "CC:"), (0.3, 0.10, "S. WILLINGER"), (0.6, 0.10, "1984-175NP")])
    assert _pairs(p) == [("CC:", "S. WILLINGER")]


def test_wrapped_answer_stops_at_the_next_labels_answer():
    p = page(1, [
        (0.1, 0.10, "PROJECT NAME:"), (0.3, 0.10, "GEMINI AWARENESS ATTITUDE & USAGE MONITOR"),
        (0.1, 0.12, "SUPPLIER:"), (0.3, 0.12, "BURKE MARKETING RESEARCH"),
    ])
    assert _pairs(p) == [("PROJECT NAME:", "GEMINI AWARENESS ATTITUDE & USAGE MONITOR"),
                         ("SUPPLIER:", "BURKE MARKETING RESEARCH")]


def test_a_name_is_not_a_label():
    p = page(1, [(0.1, 0.10, "L. E. GRAVELY"), (0.5, 0.10, "1-11-84")])
    assert _pairs(p) == []


def test_a_lone_heading_over_an_answer_is_not_a_column():
    # A column heading shows itself in a heading row: a lone phrase over a value is a title.
    p = page(1, [(0.5, 0.10, "Weights"), (0.5, 0.12, "245 mg")])
    assert _pairs(p) == []


def test_a_colon_label_does_not_take_the_label_under_it():
    p = page(1, [(0.1, 0.10, "Tipping Paper:"), (0.1, 0.12, "Supplier Name"), (0.1, 0.30, "Remarks:")])
    assert _pairs(p) == []


def test_a_label_over_two_lines_is_one_key():
    p = page(1, [
        (0.1, 0.10, "STRENGTH"), (0.4, 0.10, "4.31"),
        (0.1, 0.115, "(7=Stronger)"),
        (0.1, 0.20, "Perforation Type"),
        (0.1, 0.215, "and No. of lines"), (0.4, 0.215, "12"),
        (0.1, 0.30, "(1) YEAR COVERED:"), (0.4, 0.30, "1985"),
        (0.1, 0.315, "(2) BRAND NAME:"), (0.4, 0.315, "LUCKY STRIKE"),
    ])
    assert _pairs(p) == [("STRENGTH (7=Stronger)", "4.31"), ("Perforation Type and No. of lines", "12"),
                         ("(1) YEAR COVERED:", "1985"), ("(2) BRAND NAME:", "LUCKY STRIKE")]


def test_a_label_takes_an_answer_in_another_case_style():
    # A printed label and a typed answer differ in case; two headings side by side do not.
    p = page(1, [
        (0.1, 0.10, "Brand"), (0.3, 0.10, "BELAIR"),
        (0.1, 0.20, "QUANTITY"), (0.4, 0.20, "DESCRIPTION"),
    ])
    assert _pairs(p) == [("Brand", "BELAIR")]


def test_running_text_under_a_heading_row_is_not_a_column_answer():
    p = page(1, [
        (0.1, 0.10, "CODE"), (0.5, 0.10, "PRICE"),
        (0.1, 0.12, "fixed price of the study, the tests will be run"), (0.5, 0.20, "$20.00"),
        (0.5, 0.12, "$10.00"),
    ])
    assert _pairs(p) == [("PRICE", "$10.00")]


def test_a_colon_label_does_not_take_the_next_label_and_its_answer():
    p = page(1, [(0.1, 0.10, "ORGANIZER:"), (0.5, 0.10, "TELEPHONE."), (0.59, 0.10, "202/457-4850")])
    assert _pairs(p) == [("TELEPHONE.", "202/457-4850")]


def test_a_tick_answers_the_option_next_to_it():
    p = page(1, [
        (0.1, 0.10, "This Project is X Proposed"),
        (0.1, 0.20, "Attached:"), (0.4, 0.20, "Yes x"), (0.6, 0.20, "No"),
        (0.1, 0.30, "Size:"), (0.4, 0.30, "19.750 X 11"),
    ])
    pairs = _pairs(p)
    assert ("Proposed", "X") in pairs and ("Yes", "x") in pairs and ("Size:", "19.750 X 11") in pairs


def test_fill_in_underscores_are_not_text():
    p = page(1, [(0.1, 0.10, "NAME:_ Ronald_W. Davis"), (0.1, 0.20, "(5) FILTER:_"), (0.3, 0.20, "_GOOD")])
    assert _pairs(p) == [("NAME:", "Ronald W. Davis"), ("(5) FILTER:", "GOOD")]
