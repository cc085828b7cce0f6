"""Rules reader on hand-built forms and totals blocks: box-aware reading, label cells that are
not values, grid rows, and amounts chosen together (subtotal + tax = total)."""

from docproc.readers.rules import RulesReader
from docproc.schemas import load_schema
from tests.rules_helpers import document, page


def _claim_page(box_33a: str = "a. 2881346532 b."):
    return page(1, [
        (0.60, 0.120, "1a. INSURED'S I.D. NUMBER"),
        (0.57, 0.135, "(ID#)"), (0.63, 0.135, "XQ123456789"),
        (0.03, 0.150, "2. PATIENT'S NAME (Last Name, First Name)"),
        (0.37, 0.150, "3. PATIENT'S BIRTH DATE"),
        (0.39, 0.160, "MM DD YY"),
        (0.04, 0.165, "DOE, JANE A"), (0.39, 0.172, "04 13 65"),
        (0.03, 0.575, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY"),
        (0.04, 0.590, "A. 169.351"), (0.20, 0.590, "B. E87.1"),
        (0.03, 0.636, "24. A. DATE(S) OF SERVICE"),
        (0.04, 0.680, "03 18 26 03 18 26 11"), (0.34, 0.680, "J0780"), (0.65, 0.680, "428.83 1"),
        (0.79, 0.680, "NPI 1234567893"),
        (0.04, 0.712, "03 16 26 03 16 26 11"), (0.34, 0.712, "A6197"), (0.65, 0.712, "90.88 2"),
        (0.79, 0.712, "NPI 1234567893"),
        (0.03, 0.850, "25. FEDERAL TAX I.D. NUMBER"), (0.29, 0.850, "26. PATIENT'S ACCOUNT NO."),
        (0.60, 0.850, "28. TOTAL CHARGE"), (0.74, 0.850, "29. AMOUNT PAID"), (0.86, 0.850, "30. Rsvd for NUCC Use"),
        (0.03, 0.865, "10-3778018"), (0.29, 0.865, "ACC-747167"), (0.65, 0.865, "519.71"), (0.78, 0.865, "100.00"),
        (0.60, 0.880, "33. BILLING PROVIDER INFO & PH # (405)305-6629"),
        (0.60, 0.895, "JERRY JONES MD"), (0.60, 0.910, "0892 TODD RIDGES"),
        (0.60, 0.925, "WEST TOWN, AZ 26936"), (0.60, 0.940, box_33a),
    ])


def test_claim_form_boxes():
    f = RulesReader().read(document(_claim_page()), load_schema("cms1500")).fields
    assert f["insured_id"].normalized == "XQ123456789"  # the "(ID#)" qualifier is not the value
    assert f["patient_name"].value == "DOE, JANE A"  # not the next label to the right
    assert f["patient_birth_date"].normalized == "1965-04-13"  # spaced MM DD YY under its label
    assert [v.normalized for v in f["diagnosis_codes"]] == ["I69.351", "E87.1"]
    assert f["federal_tax_id"].normalized == "10-3778018"  # not "26" of the next box's label
    assert f["patient_account_number"].normalized == "ACC-747167"
    assert f["total_charge"].normalized == "519.71"
    assert f["amount_paid"].normalized == "100.00"  # not "30." of the next box's label
    assert f["billing_provider_npi"].normalized == "2881346532"  # box 33a, not a service line's NPI
    assert f["service_line_count"].normalized == 2


def test_date_format_hints_read_as_separate_boxes_are_not_lines_under_the_label():
    # OCR reads a date box's "MM DD YY" hint as three boxes; the date is still the line below them.
    p = page(1, [
        (0.37, 0.150, "3. PATIENT'S BIRTH DATE"),
        (0.39, 0.160, "MM"), (0.45, 0.161, "DD"), (0.51, 0.162, "YY"),  # a column apart each
        (0.39, 0.174, "04 13 65"),
    ])
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_birth_date"].normalized == "1965-04-13"


def test_box_letter_read_into_the_npi_is_not_part_of_it():
    # OCR without the gap after box 33a's letter; the NPI pattern takes ten digits.
    f = RulesReader().read(document(_claim_page("a2881346532 b.")), load_schema("cms1500")).fields
    assert f["billing_provider_npi"].normalized == "2881346532"


def test_totals_block_right_cells_and_arithmetic():
    p = page(1, [
        (0.08, 0.05, "Gould-Foster"),
        (0.08, 0.33, "Description"), (0.55, 0.33, "Qty"), (0.66, 0.33, "Unit Price"), (0.84, 0.33, "Amount"),
        (0.08, 0.36, "API usage block"), (0.57, 0.36, "2"), (0.68, 0.36, "$973.63"), (0.83, 0.36, "$1,947.26"),
        (0.08, 0.39, "Security audit"), (0.57, 0.39, "1"), (0.66, 0.39, "$2,852.89"), (0.83, 0.39, "$2,852.89"),
        (0.59, 0.45, "Subtotal:"), (0.83, 0.45, "$4,800.15"),
        (0.59, 0.47, "Tax (5%):"), (0.84, 0.47, "$240.01"),
        (0.59, 0.49, "Total:"), (0.82, 0.49, "$5,040.16"),
    ])
    ext = RulesReader().read(document(p), load_schema("invoice"))
    f = ext.fields
    assert (f["subtotal"].normalized, f["tax"].normalized, f["total"].normalized) == ("4800.15", "240.01", "5040.16")
    assert {c.name: c.outcome for c in ext.checks}["totals_add_up"] == "pass"
    assert f["total"].confidence >= 0.9  # a consistent set of amounts is trusted


def test_arithmetic_picks_among_candidates():
    # Two "total" rows: the first is before a discount; only 90 + 9 = 99 adds up.
    p = page(1, [
        (0.6, 0.60, "Subtotal"), (0.8, 0.60, "90.00"),
        (0.6, 0.62, "Tax"), (0.8, 0.62, "9.00"),
        (0.6, 0.64, "Total before discount"), (0.8, 0.64, "120.00"),
        (0.6, 0.66, "Total"), (0.8, 0.66, "99.00"),
    ])
    f = RulesReader().read(document(p), load_schema("invoice")).fields
    assert f["total"].normalized == "99.00"


def test_ad_order_prose_labels_and_truncated_ids():
    adbuy = load_schema("examples/schemas/adbuy.yaml")
    pages = [page(n, [
        (0.2, 0.02, "WAPT Order # 1982847 Page 1"),
        (0.5, 0.07, "Estimate #"), (0.62, 0.07, "0124"),
        (0.5, 0.09, "Invoice #"), (0.62, 0.09, "1982847-1"),
        (0.5, 0.12, "Advertiser"),
        (0.5, 0.14, "Josh Stein for Attorney General"),
        (0.05, 0.93, "Payment by advertiser , agency and service, jointly and severally, shall remain obligated"),
    ]) for n in (1, 2)]
    f = RulesReader().read(document(*pages), adbuy).fields
    assert f["contract_number"].normalized == "1982847-1"  # the cut reading "1982847" supports it
    assert f["advertiser"].normalized == "Josh Stein for Attorney General"  # not the sentence


def test_merged_label_row_value_is_not_the_next_box_number():
    p = page(1, [
        (0.29, 0.85, "26. PATIENT'S ACCOUNT NO. 27.ACCEPT ASSIGNMENT?"),
        (0.29, 0.865, "ACC-200290"),
    ])
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_account_number"].normalized == "ACC-200290"


def _with_tall_box(p, x: float, y0: float, y1: float, text: str):
    """A box OCR read over two printed lines ("FECA BLACK LUNG"): one word, twice a line tall."""
    from docproc.document import Line, Word

    box = (x, y0, x + 0.008 * len(text), y1)
    p.words.append(Word(text=text, bbox=box, source="rapidocr"))
    p.lines.append(Line(text=text, bbox=box, words=[len(p.words) - 1]))
    p.regions[0].lines.append(len(p.lines) - 1)
    return p


def test_a_box_over_two_rows_does_not_carry_the_row_under_it_into_the_label_row():
    """CMS-1500's top row: a check-box option printed over two lines, read as one tall box, sits
    left of box 1a's label and of the ID under it. The ID stays on its own row, under its label;
    likewise the totals row under "27. ACCEPT ASSIGNMENT?" read as one tall box, where the paid
    amount is also crossed by the dollars|cents rule ("501|.26")."""
    p = page(1, [
        (0.59, 0.143, "OTHER"), (0.626, 0.143, "1a. INSURED'S I.D. NUMBER"),
        (0.583, 0.156, "(ID#)"), (0.635, 0.156, "OU867761858"),
        (0.25, 0.856, "26. PATIENT'S ACCOUNT NO."), (0.60, 0.853, "28. TOTAL CHARGE"),
        (0.76, 0.852, "29. AMOUNT PAID"),
        (0.64, 0.867, "1002.52"), (0.76, 0.867, "501|.26"), (0.25, 0.872, "ACC-495027"),
    ])
    _with_tall_box(p, 0.513, 0.141, 0.164, "BLACKLUNG")
    # Box 27's label, read into box 26's label line, reaches past where box 28's label starts.
    _with_tall_box(p, 0.455, 0.851, 0.876, "27.ACCEPT")
    _with_tall_box(p, 0.54, 0.851, 0.875, "ASSIGNMENT?")
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["insured_id"].normalized == "OU867761858"
    assert f["patient_account_number"].normalized == "ACC-495027"  # not the total charge beside it
    assert f["total_charge"].normalized == "1002.52"
    assert f["amount_paid"].normalized == "501.26"


def test_a_value_under_its_label_counts_from_the_label_words_not_the_taller_line():
    """A label merged with a taller box on its row makes the line taller than the label: the ID
    under the label starts above the line's middle but below the label's, and is still below it."""
    p = page(1, [(0.57, 0.117, "1a. INSURED'S I.D. NUMBER"), (0.54, 0.133, "(ID#)"), (0.59, 0.128, "OP292063323")],
             height=0.018)
    _with_tall_box(p, 0.47, 0.116, 0.142, "BLACKLUNG")  # level with the label: joins its line
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["insured_id"].normalized == "OP292063323"


def test_a_stamp_over_several_rows_is_no_cell_of_a_row():
    """A receipt's stamp spans the totals rows: "TOTAL"'s amount is still the cell right of it."""
    p = page(1, [(0.28, 0.486, "TOTAL TAX"), (0.57, 0.484, "1.02"), (0.28, 0.502, "ROUNDING"),
                 (0.57, 0.501, "0.00"), (0.28, 0.519, "TOTAL"), (0.55, 0.519, "18.00")], height=0.016)
    _with_tall_box(p, 0.373, 0.42, 0.534, "PAID")
    f = RulesReader().read(document(p), load_schema("receipt")).fields
    assert (f["total"].normalized, f["total"].evidence) == ("18.00", "right cell")


def test_a_sideways_margin_title_joins_no_row():
    """A form's margin title printed down the page reads as a "line" of words stacked one under
    another; a row's values beside it are not merged into it."""
    from docproc.document import Line, Word
    from docproc.readers.rules.view import DocView

    rows = [(0.05, 0.10 + 0.02 * k, f"Label {k}") for k in range(40)] + [(0.66, 0.30, "61.59 1")]
    p = page(1, rows)
    words = []
    for k, w in enumerate(["PHYSICIAN", "OR", "SUPPLIER", "INFORMATION"]):
        p.words.append(Word(text=w, bbox=(0.98, 0.20 + 0.05 * k, 0.99, 0.215 + 0.05 * k), source="rapidocr"))
        words.append(len(p.words) - 1)
    p.lines.append(Line(text="PHYSICIAN OR SUPPLIER INFORMATION", bbox=(0.98, 0.20, 0.99, 0.365), words=words))
    p.regions[0].lines.append(len(p.lines) - 1)
    texts = [ln.text for ln in DocView.of(document(p)).lines]
    assert "61.59 1" in texts and "PHYSICIAN OR SUPPLIER INFORMATION" in texts, texts


def test_amount_crossed_by_a_cents_rule():
    from docproc.normalize import find_amounts, normalize_money

    assert normalize_money("501|.26") == ("501.26", None)
    assert normalize_money("$ 1,234 | .50") == ("1234.50", "USD")
    assert [s.normalized for s in find_amounts("12|34")] == ["12.00", "34.00"]  # two cells, no cents


def test_box_labels_cut_by_ocr_on_a_poor_scan_are_not_values():
    """On a blurred or low-resolution claim the next box's label comes through cut ("27 ACE",
    a bare "27." as its own cell), a label ends mid-word ("INFC& PH" for "INFO & PH #"), the
    form's rules cross a name ("JORDAN|GONZALEZ") and a date box's "MM" hint stands right of
    the name's label. The values are the ones under the labels."""
    p = page(1, [
        (0.03, 0.150, "2. PATIENT'S NAME (Last Name, First Name)"), (0.40, 0.152, "MM"),
        (0.04, 0.165, "MEDINA, KAREN M"),
        (0.29, 0.850, "26. PATIENT'S ACCOUNT NO 27 ACE AS"),
        (0.30, 0.865, "ACC-200290"),
        (0.62, 0.880, "33. BILLING PROVIDER INFC& PH (605 ) 820-3087"),
        (0.63, 0.895, "JORDAN|GONZALEZ MD"),
    ])
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_name"].normalized == "MEDINA, KAREN M"
    assert f["patient_account_number"].normalized == "ACC-200290"
    assert f["billing_provider_name"].normalized == "JORDAN GONZALEZ MD"
    p = page(1, [(0.25, 0.850, "26. PATIENT'S ACCOUNT NO."), (0.49, 0.850, "27."), (0.26, 0.865, "ACC-200290")])
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_account_number"].normalized == "ACC-200290"  # not box 27's number
    for label in ("26. PATIENT'S ACCOUNT NO 27. (For govt claims, see back)", "26. PATIENT'S ACCOUNT NO. 27 .ACCET"):
        p = page(1, [(0.25, 0.850, label), (0.26, 0.865, "ACC-200290")])
        f = RulesReader().read(document(p), load_schema("cms1500")).fields
        assert f["patient_account_number"].normalized == "ACC-200290", label
    # The period of "2." lost: box 3's label right of box 2's is still the next box's.
    p = page(1, [(0.03, 0.150, "2 PATIENT'S NAME (Last Name, First Name, Middle Initial)"), (0.50, 0.152, "3 PATIENTS BIRTH"),
                 (0.04, 0.165, "AUSTIN, JENNIFER X")])
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_name"].normalized == "AUSTIN, JENNIFER X"


def test_a_count_and_its_unit_after_an_unnumbered_label_do_not_end_its_row():
    """Only after a numbered box's label is "12 FER..." read as the next box's label cut short."""
    p = page(1, [(0.28, 0.50, "TOTAL 12 PCS"), (0.55, 0.50, "18.00")])
    f = RulesReader().read(document(p), load_schema("receipt")).fields
    assert (f["total"].normalized, f["total"].evidence) == ("18.00", "right cell")


def test_label_words_misread_by_glyph_shape_still_match_but_other_words_do_not():
    """"24. A. DATE(S) CF SERVICE": OCR took the round O for a C. A short word that is another
    word ("INVOICE TO" for "invoice no") is still no match."""
    from docproc.readers.rules.labels import _fuzzy_match
    from docproc.readers.rules.view import DocView

    p = _claim_page()
    line = next(ln for ln in p.lines if ln.text.startswith("24."))
    line.text = "24 A DATE(S) CF SERVICE"
    p.words[line.words[0]].text, p.words[line.words[1]].text = "24", "A"
    p.words[line.words[3]].text = "CF"
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["service_line_count"].normalized == 2
    lines = DocView.of(document(page(1, [(0.1, 0.1, "INVOICE TO"), (0.1, 0.2, "INVOICE N0"),
                                         (0.1, 0.3, "29 AMC4NT PAID")]))).lines
    assert _fuzzy_match(lines[0], "invoice no") is None
    assert _fuzzy_match(lines[1], "invoice no") is not None
    hit = _fuzzy_match(lines[2], "amount paid")  # "OU" read as "C4": compared by shape, the label still reads
    assert hit is not None and lines[2].text[hit.start:hit.end].strip() == "AMC4NT PAID" and hit.label == "amount paid"
    lines = DocView.of(document(page(1, [(0.1, 0.1, "33. BILLING PRIOVIDER INF O & PH # (839)794-8106"),
                                         (0.1, 0.2, "1 a. INSURED'S I D. NUMBER")]))).lines
    assert _fuzzy_match(lines[0], "billing provider info & ph #") is not None  # a letter split off "INFO"
    assert _fuzzy_match(lines[1], "insured's i.d. number") is not None  # "I D." is not a letter split off


def test_a_value_line_raised_by_a_tall_box_is_still_under_its_label():
    """On a blurred claim a birth year ("2975", a box twice as tall as its row) is read into one
    line with the insured's name: the line's top is raised above half the label's height, but it
    is centred under the label's bottom, so the name is still the value below the label."""
    from docproc.document import Line, Word

    p = page(1, [(0.62, 0.152, "4. INSURED'S NAME (Last Name, First Name)"),
                 (0.62, 0.179, "INSUREDS ADDRESS (NO, Street)")], height=0.012)
    words = [("03", 0.39, 0.165, 0.181), ("2975", 0.45, 0.157, 0.184), ("WALKER,", 0.62, 0.163, 0.178),
             ("KATHLEEN", 0.68, 0.163, 0.178), ("L", 0.75, 0.163, 0.178)]
    for text, x, y0, y1 in words:
        p.words.append(Word(text=text, bbox=(x, y0, x + 0.008 * len(text), y1), source="rapidocr"))
    idx = list(range(len(p.words) - len(words), len(p.words)))
    p.lines.append(Line(text=" ".join(w[0] for w in words), bbox=(0.39, 0.157, 0.758, 0.184), words=idx))
    p.regions[0].lines.append(len(p.lines) - 1)
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["insured_name"].normalized == "WALKER, KATHLEEN L"


def test_an_amount_with_cents_beats_a_bare_figure_beside_it_in_a_cell():
    """A low-resolution claim reads box 29's "$" as "8" right of box 28's total: "765.62 8"."""
    from docproc.normalize import Context
    from docproc.readers.rules.values import extract

    spec = load_schema("cms1500").field("total_charge")
    assert extract(spec, "765.62 8", Context(), whole_line=True).normalized == "765.62"
    assert extract(spec, "12 765.62", Context(), whole_line=True).normalized == "765.62"
    assert extract(spec, "30", Context(), whole_line=True).normalized == "30.00"  # a whole cell: still an amount


def test_a_label_read_whole_by_a_longer_variant_spans_its_column():
    """"3 PATIENTS BIRTH DATE": "birth date" matches exactly, "patient's birth date" by OCR
    slip from further left; the column under the label is the whole label's, so the date
    under "PATIENTS" is read whole. A box number inside the longer match still numbers the box."""
    p = page(1, [(0.388, 0.172, "3 PATIENTS BIRTH DATE"), (0.405, 0.181, "MM"), (0.443, 0.181, "DD"), (0.48, 0.181, "YY"),
                 (0.406, 0.188, "11 01 15 M"), (0.60, 0.850, "28. TOTAL CHARGE"), (0.60, 0.865, "$ 519.71")],
             height=0.013)  # (a US form: month first)
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_birth_date"].normalized == "2015-11-01"
    p = page(1, [(0.03, 0.850, "25. FEDERAL TAX I.D. NUMBER SSN EIN 26. PATIENT'S ACCOUNT NO 27."),
                 (0.36, 0.865, "ACC-200290")])
    f = RulesReader().read(document(p), load_schema("cms1500")).fields
    assert f["patient_account_number"].normalized == "ACC-200290"
