"""Form pairs: lists under a recipients label, a field label right after an answer, column
headings whose second line starts with a figure (docproc.readers.rules.forms), on hand-built pages."""

from docproc.readers.rules.forms import page_cells, read_form_pairs
from tests.rules_helpers import document, page


def _pairs(p):
    # The layout rules alone: the link model's additions are tested in test_form_links.py.
    return [(kv.key, kv.value) for kv in read_form_pairs(document(p), links=False)]


def test_each_line_of_a_cc_list_is_an_answer_of_its_own():
    p = page(1, [
        (0.1, 0.500, "cc:"), (0.2, 0.500, "A. H. Tisch"), (0.4, 0.500, "L. H. Kersh"),
        (0.2, 0.516, "R. H. Orcutt"), (0.4, 0.516, "J. R. Slater"),
        (0.2, 0.532, "Records"),
        (0.2, 0.548, "1990-48B"),  # a form number printed under the list: no name
    ])
    assert sorted(_pairs(p)) == sorted([("cc:", "A. H. Tisch"), ("cc:", "L. H. Kersh"), ("cc:", "R. H. Orcutt"),
                                        ("cc:", "J. R. Slater"), ("cc:", "Records")])
    # A list in four columns across the page: each column within a gap of the one before it.
    p = page(1, [(0.112, 0.782, "cc:"), (0.112, 0.796, "A. H. Tisch"), (0.309, 0.796, "V. Norman"),
                 (0.480, 0.796, "J. J. Tatulli"), (0.705, 0.796, "K. P. Augustyn"),
                 (0.112, 0.815, "R. H. Orcutt"), (0.705, 0.815, "V. D. Lindsley")])
    assert sorted(_pairs(p)) == sorted([("cc:", n) for n in ("A. H. Tisch", "V. Norman", "J. J. Tatulli",
                                                             "K. P. Augustyn", "R. H. Orcutt", "V. D. Lindsley")])
    # Another label's lines are one answer ("Copies to:" lists are read as one answer).
    p = page(1, [(0.1, 0.500, "Copies to:"), (0.25, 0.500, "H. J. Minnemeyer"), (0.25, 0.516, "L. B. Gray")])
    assert _pairs(p) == [("Copies to:", "H. J. Minnemeyer L. B. Gray")]


def test_a_field_label_a_word_space_after_an_answer_starts_its_own_field():
    p = page(1, [(0.1, 0.10, "Requisition"), (0.3, 0.10, "LT-10-79"), (0.372, 0.10, "DATE"),
                 (0.41, 0.10, "March 27, 1984")])
    assert _pairs(p) == [("Requisition", "LT-10-79"), ("DATE", "March 27, 1984")]


def test_a_column_heading_whose_second_line_starts_with_a_figure():
    p = page(1, [
        (0.3, 0.100, "Present Sample"), (0.5, 0.100, "Mean of Last"),
        (0.52, 0.116, "12 Samples"),
        (0.1, 0.140, "Weight"), (0.32, 0.140, "1.089"), (0.52, 0.140, "1.106"),
        (0.1, 0.160, "Draw"), (0.32, 0.160, "0.34"), (0.52, 0.160, "0.37"),
    ])
    pairs = _pairs(p)
    assert ("Mean of Last 12 Samples", "1.106") in pairs and ("Mean of Last 12 Samples", "0.37") in pairs
    assert not any(v == "12 Samples" for _, v in pairs)


def test_an_s_read_for_a_dollar_sign_before_an_amount_is_a_dollar_sign():
    p = page(1, [(0.1, 0.10, "Cost"), (0.3, 0.10, "S2.00"), (0.1, 0.20, "Project No"), (0.3, 0.20, "S0002 Supp 2")])
    assert _pairs(p) == [("Cost", "$2.00"), ("Project No", "S0002 Supp 2")]


def test_a_colon_closes_a_long_label():
    p = page(1, [(0.1, 0.10, "If you have any questions, please contact the following person:"),
                 (0.62, 0.10, "Mary D. Davis")])
    assert _pairs(p) == [("If you have any questions, please contact the following person:", "Mary D. Davis")]


def test_a_label_whose_last_word_and_colon_wrap_onto_the_next_line_is_one_key():
    p = page(1, [(0.085, 0.248, "SOURCE OF"), (0.085, 0.262, "INFORMATION:"), (0.27, 0.260, "SHORT STOP FOOD MARTS"),
                 (0.09, 0.610, "OTHER"), (0.086, 0.626, "INFORMATION:"), (0.30, 0.626, "SEE ATTACHMENT")])
    assert _pairs(p) == [("SOURCE OF INFORMATION:", "SHORT STOP FOOD MARTS"), ("OTHER INFORMATION:", "SEE ATTACHMENT")]
    # A name or a complete label over a colon label is a line of its own.
    p = page(1, [(0.1, 0.100, "Research Firm"), (0.1, 0.114, "Facility:"), (0.3, 0.114, "Suburban Associates")])
    assert _pairs(p) == [("Facility:", "Suburban Associates")]


def test_a_colon_labels_short_answer_goes_on_over_the_lines_under_it():
    p = page(1, [(0.1, 0.100, "RETURN TO:"), (0.25, 0.100, "Marden-Kane, Inc."), (0.25, 0.116, "666 Fifth Avenue"),
                 (0.25, 0.132, "New York, NY 10103")])
    assert _pairs(p) == [("RETURN TO:", "Marden-Kane, Inc. 666 Fifth Avenue New York, NY 10103")]
    # A date or a number ends on its line: what is under it is something else.
    p = page(1, [(0.1, 0.100, "Date:"), (0.25, 0.100, "January 15, 1997"), (0.25, 0.116, "Mark Berlind"),
                 (0.6, 0.100, "Total:"), (0.7, 0.100, "85,208"), (0.7, 0.116, "26,055")])
    assert sorted(_pairs(p)) == [("Date:", "January 15, 1997"), ("Total:", "85,208")]


def test_lines_stacked_tight_beside_a_label_are_its_answer_in_order():
    # Tight line spacing: the label's band overlaps its answer's first two lines, and the second
    # starts a hair further left. Only the nearer one is on the label's row.
    p = page(1, [(0.1, 0.484, "Suggested Solution(s):"),
                 (0.350, 0.478, "Delete coal retention from the list of standard"),
                 (0.349, 0.494, "analyses performed on licensee submitted"),
                 (0.350, 0.506, "product samples. Special requests for coal"),
                 (0.349, 0.520, "retention testing could still be submitted on"),
                 (0.350, 0.537, "an exception basis.")], height=0.022)
    assert _pairs(p) == [("Suggested Solution(s):",
                          "Delete coal retention from the list of standard analyses performed on licensee submitted "
                          "product samples. Special requests for coal retention testing could still be submitted on "
                          "an exception basis.")]
    # A colon line stacked under the first answer line does not cut the label off its answer.
    p = page(1, [(0.1, 0.352, "Suggestion:"), (0.252, 0.346, "Discontinue coal retention analyses on licensee"),
                 (0.249, 0.361, "product samples. (Note:"), (0.49, 0.360, "Coal Retention testing is not")],
             height=0.022)
    assert ("Suggestion:", "Discontinue coal retention analyses on licensee") in _pairs(p)


def test_a_distribution_list_of_long_names_is_one_answer_per_name():
    p = page(1, [(0.08, 0.780, "Distribution:"), (0.25, 0.781, "Mr. Lucien Lawrence Bassington, III"),
                 (0.25, 0.797, "Dr. L.H. O'Conner"), (0.25, 0.813, "Mr. L.W. Peterson")])
    assert _pairs(p) == [("Distribution:", "Mr. Lucien Lawrence Bassington, III"),
                         ("Distribution:", "Dr. L.H. O'Conner"), ("Distribution:", "Mr. L.W. Peterson")]


def test_labels_listed_with_dashes_or_stars_are_labels():
    p = page(1, [(0.13, 0.300, "- MEDIA TYPE"), (0.45, 0.300, "SALES FORCE APPLIED - IRC"),
                 (0.13, 0.330, "* Issue Frequency / Year"), (0.45, 0.330, "12 per year")])
    assert _pairs(p) == [("- MEDIA TYPE", "SALES FORCE APPLIED - IRC"), ("* Issue Frequency / Year", "12 per year")]
    # A dash or star run into a word is no bullet: "-TWTF--" is a broadcast schedule's days (not
    # Monday), "*Normal" a starred answer.
    p = page(1, [(0.10, 0.500, "-TWTF--"), (0.30, 0.500, "$110.00"),
                 (0.10, 0.540, "Order Type"), (0.30, 0.540, "*Normal")])
    assert _pairs(p) == [("Order Type", "*Normal")]


def test_a_column_heading_set_in_tight_overlapping_lines_is_one_heading():
    p = page(1, [(0.232, 0.609, "SP.EMPHASIS OUTLETS"), (0.245, 0.621, "WITH DISTRIBUTION"),
                 (0.462, 0.605, "NUMBER ONE CLUB OUTLETS"), (0.489, 0.617, "WITH DISTRIBUTION"),
                 (0.293, 0.637, "542"), (0.538, 0.633, "365"),
                 (0.293, 0.655, "479"), (0.538, 0.651, "371")], height=0.018)
    assert sorted(_pairs(p)) == [("NUMBER ONE CLUB OUTLETS WITH DISTRIBUTION", "365"),
                                 ("NUMBER ONE CLUB OUTLETS WITH DISTRIBUTION", "371"),
                                 ("SP.EMPHASIS OUTLETS WITH DISTRIBUTION", "479"),
                                 ("SP.EMPHASIS OUTLETS WITH DISTRIBUTION", "542")]


def test_a_bracketed_colon_phrase_right_after_a_label_finishes_it():
    p = page(1, [(0.197, 0.417, "NUMBER OF PAGES"), (0.33, 0.417, "(INCLUDING COVER SHEET):"), (0.56, 0.417, "8"),
                 (0.197, 0.467, "Price"), (0.30, 0.467, "(see terms):"), (0.45, 0.467, "$12.00")])
    # A wide gap: the bracketed label is a field of its own.
    assert _pairs(p) == [("NUMBER OF PAGES (INCLUDING COVER SHEET):", "8"), ("(see terms):", "$12.00")]


def test_a_question_followed_by_printed_options_is_answered_by_the_tick_not_by_an_option():
    p = page(1, [(0.40, 0.137, "Budgeted:"), (0.63, 0.137, "Yes"), (0.734, 0.137, "No"), (0.794, 0.137, "X")])
    assert ("Budgeted:", "Yes") not in _pairs(p)
    assert ("No", "X") in _pairs(p)
    # One option word alone is a typed answer.
    p = page(1, [(0.40, 0.137, "Budgeted:"), (0.63, 0.137, "Yes")])
    assert _pairs(p) == [("Budgeted:", "Yes")]


def test_a_blank_fields_label_is_not_the_answer_of_the_label_before_it():
    p = page(1, [(0.10, 0.80, "Approved By:"), (0.50, 0.80, "Date")])
    assert _pairs(p) == []
    p = page(1, [(0.10, 0.80, "Approved By:"), (0.30, 0.80, "Dana"), (0.50, 0.80, "Date"), (0.60, 0.80, "5/2/90")])
    assert _pairs(p) == [("Approved By:", "Dana"), ("Date", "5/2/90")]


def test_a_leader_of_dashes_closes_a_label_like_a_colon():
    p = page(1, [(0.56, 0.448, "Labels ---- OLD GOLD STRAIGHT"), (0.56, 0.484, "Tear Tape-- Gold"),
                 (0.10, 0.600, "Filter Length---"), (0.40, 0.600, "21 mm")])
    assert _pairs(p) == [("Labels", "OLD GOLD STRAIGHT"), ("Tear Tape", "Gold"), ("Filter Length", "21 mm")]
    # A single dash is a hyphen or a range, not a leader.
    p = page(1, [(0.10, 0.700, "Tobacco Blend - mild")])
    assert _pairs(p) == []
    # A broadcast schedule's days end in dashes ("MTWTF--": Monday to Friday): data, not a label.
    p = page(1, [(0.10, 0.800, "MTWTF--"), (0.30, 0.800, "6:00a-9:00a"), (0.10, 0.820, "MTuWThF----"),
                 (0.30, 0.820, "$450.00"), (0.10, 0.840, "Sales increased... while costs fell")])
    cells = [c.text for c in page_cells(document(p))]
    assert "MTWTF--" in cells and "MTuWThF----" in cells and "Sales increased... while costs fell" in cells


def test_a_date_label_and_its_date_printed_as_one_box_are_split():
    p = page(1, [(0.10, 0.10, "Date March 18, 1968"), (0.10, 0.20, "Final Report Due 11/16/87"),
                 (0.10, 0.30, "Lee memo of September 11, 1989")])  # running text: no label
    assert _pairs(p) == [("Date", "March 18, 1968"), ("Final Report Due", "11/16/87")]


def test_running_text_right_of_a_label_goes_on_over_its_lines():
    p = page(1, [(0.10, 0.40, "PROJECT OBJECTIVE"), (0.30, 0.40, "A pipe tobacco containing activated charcoal - must show vapor"),
                 (0.30, 0.416, "phase reduction.")])
    assert _pairs(p) == [("PROJECT OBJECTIVE",
                          "A pipe tobacco containing activated charcoal - must show vapor phase reduction.")]
    # A table's next row under a wide cell is no continuation.
    p = page(1, [(0.10, 0.40, "WSYR"), (0.30, 0.40, "Sa 7a-8a NC9 Weekend News Saturday edition"),
                 (0.30, 0.416, "Su 7a-8a NC9 Weekend News Sunday edition"), (0.75, 0.416, "$150.00")])
    assert ("WSYR", "Sa 7a-8a NC9 Weekend News Saturday edition") in _pairs(p)


def test_a_column_headings_second_line_cut_into_figure_and_word_is_still_the_headings():
    p = page(1, [
        (0.3, 0.100, "Present Sample"), (0.5, 0.100, "Mean of Last"),
        (0.51, 0.116, "12"), (0.535, 0.116, "Samples"),
        (0.1, 0.140, "Weight"), (0.32, 0.140, "1.089"), (0.50, 0.140, "1.106"),
        (0.1, 0.160, "Draw"), (0.32, 0.160, "0.34"), (0.50, 0.160, "0.37"),
    ])
    pairs = _pairs(p)
    assert ("Mean of Last 12 Samples", "1.106") in pairs and ("Mean of Last 12 Samples", "0.37") in pairs
    assert not any(v in ("12", "Samples", "12 Samples") for _, v in pairs)


def test_a_lone_currency_sign_and_a_bracketed_remark_belong_to_the_answer():
    p = page(1, [(0.10, 0.30, "Adjusted Total Cost:"), (0.40, 0.30, "$"), (0.47, 0.30, "-0-")])
    assert _pairs(p) == [("Adjusted Total Cost:", "$ -0-")]
    p = page(1, [(0.10, 0.40, "AUTHORIZED COST:"), (0.35, 0.40, "12,500"), (0.42, 0.40, "(10-15-87)"),
                 (0.10, 0.50, "BRAND NAME:"), (0.35, 0.50, "Cardinal Filter"), (0.49, 0.50, "(11 packings)")])
    assert sorted(_pairs(p)) == [("AUTHORIZED COST:", "12,500 (10-15-87)"), ("BRAND NAME:", "Cardinal Filter (11 packings)")]
    # Bracketed figures side by side are a grid's columns, each its own answer.
    p = page(1, [(0.10, 0.60, "BASE"), (0.35, 0.60, "(224)"), (0.45, 0.60, "(222)")])
    assert ("BASE", "(224) (222)") not in _pairs(p)


def test_a_label_and_its_answer_in_the_other_case_printed_as_one_box_are_split():
    p = page(1, [(0.10, 0.20, "Account Name PRODUCT TESTING"), (0.10, 0.30, "NAME Jimmy Bell")])
    assert sorted(_pairs(p)) == [("Account Name", "PRODUCT TESTING"), ("NAME", "Jimmy Bell")]
    # One case throughout is one label; one word in the other case may be the label's own; a
    # joining word continues the label.
    for text in ("Purchase Order Form", "Canal Partners Media LLC", "INVOICE Property", "No. OF CARTONS"):
        cells = page_cells(document(page(1, [(0.10, 0.20, text)])))
        assert [c.text for c in cells] == [text]


def test_a_boxs_remembered_right_neighbour_is_the_one_found_afresh():
    from docproc.readers.rules import forms

    p = page(1, [(0.1, 0.10, "Brand:"), (0.3, 0.10, "BELAIR"), (0.5, 0.10, "Date:"), (0.6, 0.10, "6/21/90"),
                 (0.1, 0.13, "Suggested Solution(s):"), (0.45, 0.125, "Drop the spec"), (0.45, 0.137, "altogether"),
                 (0.1, 0.20, "Remarks")])
    cells = forms.cells_by_page(document(p))[0]
    fresh = [forms._find_right_neighbour(cells, c) for c in cells]
    assert [forms._right_neighbour(cells, c) for c in cells] == fresh  # first asked: found and kept
    assert [forms._right_neighbour(cells, c) for c in cells] == fresh  # asked again: the kept answer
    assert fresh[0] is not None and fresh[0].text == "BELAIR" and fresh[-1] is None
    # A box that is not one of the page's (a label joined from two lines) is looked up afresh.
    joined = forms.Cell(1, "Brand: BELAIR", (0.1, 0.1, 0.4, 0.115), 1.0)
    assert not cells.is_member(joined) and forms._right_neighbour(cells, joined).text == "Date:"


def _with_confidence(p, text: str, confidence: float) -> None:
    """Give the words of one placed line an OCR confidence (handwriting reads low)."""
    line = next(li for li in p.lines if li.text == text)
    for i in line.words:
        p.words[i].confidence = confidence
    line.confidence = confidence


def test_a_signature_read_as_handwriting_is_an_answer_without_text():
    p = page(1, [(0.1, 0.10, "Approved By:"), (0.3, 0.10, "A chll hp"),
                 (0.1, 0.20, "Submitted By:"), (0.3, 0.20, "J. S. Wigand"),
                 (0.1, 0.30, "Name:"), (0.3, 0.30, "Jultu G- Nord")])
    _with_confidence(p, "A chll hp", 0.62)
    _with_confidence(p, "Jultu G- Nord", 0.62)
    _with_confidence(p, "J. S. Wigand", 0.99)
    # Low confidence after a sign-off label: signed, no text. A typed name stays; so does a
    # low-confidence answer of any other label.
    assert _pairs(p) == [("Approved By:", ""), ("Submitted By:", "J. S. Wigand"), ("Name:", "Jultu G- Nord")]
    kv = read_form_pairs(document(p), links=False)[0]
    assert kv.value_bbox is not None and kv.value_bbox[0] >= 0.3  # where the signature is


def test_a_signature_line_without_an_answer_is_a_field_with_an_empty_answer():
    p = page(1, [(0.1, 0.10, "Date:"), (0.3, 0.10, "3/20/78"), (0.1, 0.40, "Signature of Initiator")])
    assert _pairs(p) == [("Date:", "3/20/78"), ("Signature of Initiator", "")]
    # Other sign-off labels left alone are not fields of their own here.
    p = page(1, [(0.1, 0.10, "Date:"), (0.3, 0.10, "3/20/78"), (0.1, 0.40, "Approved by")])
    assert _pairs(p) == [("Date:", "3/20/78")]
