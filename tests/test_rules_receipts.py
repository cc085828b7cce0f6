"""Rules reader on hand-built receipts: the total is what was paid (tendered − change, rounded
to 5 cents where the receipt rounds), not the cash handed over."""

from docproc.readers.rules import RulesReader
from docproc.schemas import load_schema
from tests.rules_helpers import document, page


def _read(placed):
    return RulesReader().read(document(page(1, placed)), load_schema("receipt")).fields


def test_rounded_total_and_cash_are_not_the_total():
    f = _read([
        (0.20, 0.05, "MR D.I.Y. (M) SDN BHD"),
        (0.05, 0.70, "Total"), (0.76, 0.70, "RM 30.91"),
        (0.05, 0.72, "ROUNDING ADJUSTMENT"), (0.76, 0.72, "-RM 0.01"),
        (0.05, 0.74, "TOTAL ROUNDED"), (0.77, 0.74, "RM 30.90"),
        (0.05, 0.76, "CASH"), (0.77, 0.76, "RM 51.00"),
        (0.05, 0.78, "CHANGE"), (0.76, 0.78, "RM 20.10"),
    ])
    assert f["total"].normalized == "30.90"


def test_unlabelled_total_found_by_tendered_minus_change():
    f = _read([
        (0.20, 0.05, "POPULAR BOOK CO SDN BHD"),
        (0.05, 0.40, "2 ITEMS"), (0.75, 0.40, "37.10"),
        (0.48, 0.42, "CASH"), (0.75, 0.42, "RM 50.00"),
        (0.48, 0.44, "CHANGE"), (0.75, 0.44, "RM 12.90"),
    ])
    assert f["total"].normalized == "37.10"


def test_name_over_two_lines_and_address_block_skips_registration_and_stops_at_phone():
    f = _read([
        (0.14, 0.080, "PASARAYA BORONG PINTAR"),
        (0.38, 0.096, "SDN BHD"),
        (0.34, 0.112, "(CO.REG : 124525-H)"),
        (0.13, 0.128, "NO 19-G JALAN TASIK UTAMA 4,"),
        (0.28, 0.144, "57000 KUALA LUMPUR"),
        (0.30, 0.160, "07-355 2616"),
        (0.05, 0.70, "TOTAL"), (0.75, 0.70, "12.50"),
    ])
    assert f["vendor_name"].normalized == "PASARAYA BORONG PINTAR SDN BHD"
    assert f["vendor_address"].normalized == "NO 19-G JALAN TASIK UTAMA 4, 57000 KUALA LUMPUR"


def test_name_ending_in_ampersand_continues_on_the_next_line():
    f = _read([
        (0.10, 0.080, "HOME MASTER HARDWARE &"),
        (0.30, 0.096, "ELECTRICAL"),
        (0.10, 0.112, "NO.113G JALAN SETIA U13/BG,"),
        (0.10, 0.128, "40170 SHAH ALAM"),
        (0.10, 0.150, "TEL: 03-3359 6488"),
    ])
    assert f["vendor_name"].normalized == "HOME MASTER HARDWARE & ELECTRICAL"
    assert f["vendor_address"].normalized == "NO.113G JALAN SETIA U13/BG, 40170 SHAH ALAM"


def test_name_lines_whose_ocr_boxes_overlap_and_a_bracket_left_open():
    f = _read([  # lines 0.013 apart, 0.015 high: their boxes overlap as tightly set OCR lines do
        (0.10, 0.080, "AIK HUAT HARDWARE"),
        (0.10, 0.093, "ENTERPRISE (SETIA"),
        (0.10, 0.106, "ALAM) SDN BHD"),
        (0.10, 0.125, "NO. 17-G, JALAN SETIA INDAH"),
        (0.10, 0.141, "40170 SHAH ALAM"),
        (0.10, 0.157, "Company Reg No. : 822737-X"),
    ])
    assert f["vendor_name"].normalized == "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD"
    assert f["vendor_address"].normalized == "NO. 17-G, JALAN SETIA INDAH 40170 SHAH ALAM"


def test_company_line_with_its_registration_number_is_the_name_and_titles_end_the_address():
    f = _read([
        (0.30, 0.060, "A03066"),
        (0.30, 0.080, "AEON CO. (M) BHD (126926-H)"),
        (0.30, 0.096, "3RD FLR, AEON TAMAN MALURI SC"),
        (0.30, 0.112, "CHERAS, 55100 KUALA LUMPUR"),
        (0.30, 0.128, "TAXINVOICE"),
    ])
    assert f["vendor_name"].normalized == "AEON CO. (M) BHD"
    assert f["vendor_address"].normalized == "3RD FLR, AEON TAMAN MALURI SC CHERAS, 55100 KUALA LUMPUR"


def test_branch_line_and_registration_before_the_address_are_skipped():
    f = _read([
        (0.30, 0.060, "MYDIN MART SDN BHD"),
        (0.30, 0.080, "CO-REG:860671-D"),
        (0.30, 0.100, "MYDIN MART SRI MUDA"),
        (0.30, 0.120, "4-20, JALAN RIA 25/62"),
        (0.30, 0.140, "40400 SHAH ALAM"),
        (0.30, 0.160, "T e l ： 0 3 - 4 1 4 2 4 5"),
    ])
    assert f["vendor_address"].normalized == "4-20, JALAN RIA 25/62 40400 SHAH ALAM"


def test_a_street_line_over_the_postcode_is_no_branch_line():
    f = _read([
        (0.30, 0.060, "99 SPEED MART S/B"),
        (0.30, 0.080, "TAMAN BERKELEY"),
        (0.30, 0.100, "41150 KLANG, SELANGOR"),
        (0.30, 0.120, "GST ID NO: 000181747712"),
    ])
    assert f["vendor_address"].normalized == "TAMAN BERKELEY 41150 KLANG, SELANGOR"


def test_issuer_name_without_label_and_code_keeps_abbreviation_stop():
    f = _read([(0.20, 0.060, "Dimiliki: banh mi cafe sdn bhd 1110644-W")])
    assert f["vendor_name"].normalized == "banh mi cafe sdn bhd"
    f = _read([(0.20, 0.060, "SYL ROASTED DELIGHTS SDN. BHD.")])
    assert f["vendor_name"].normalized == "SYL ROASTED DELIGHTS SDN. BHD."


def test_name_cut_in_two_on_one_row_is_joined():
    f = _read([(0.10, 0.060, "F Y EAGLE"), (0.19, 0.060, "ENTERPRISE"), (0.30, 0.080, "NO. 42, JALAN PBS 14/11")])
    assert f["vendor_name"].normalized == "F Y EAGLE ENTERPRISE"


def test_customer_address_label_next_to_no_address_gives_way_to_the_issuer_block():
    f = _read([
        (0.20, 0.040, "LIGHTROOM GALLERY SDN BHD"),
        (0.20, 0.060, "No: 28, JALAN ASTANA 1C,"),
        (0.20, 0.080, "41050 KLANG SELANGOR"),
        (0.20, 0.100, "GST No.: 000584089600"),
        (0.05, 0.300, "Name"), (0.30, 0.300, "CASH"),
        (0.05, 0.320, "Address"), (0.30, 0.320, "CASH"),
    ])
    assert f["vendor_address"].normalized == "No: 28, JALAN ASTANA 1C, 41050 KLANG SELANGOR"


def test_full_stops_between_address_parts_are_read_as_commas_but_abbreviations_keep_theirs():
    f = _read([
        (0.20, 0.080, "KEDAI RUNCIT MAJU"),
        (0.13, 0.100, "NO.32 & 33. JALAN SR 1/9. SEKSYEN 9."),
        (0.13, 0.116, "LOT P.T. 2811 TMN. SERDANG RAYA. 43300 KEMBANGAN."),
        (0.30, 0.132, "TEL: 03-8945 1234"),
        (0.05, 0.70, "TOTAL"), (0.75, 0.70, "12.50"),
    ])
    assert f["vendor_address"].normalized == (
        "NO.32 & 33, JALAN SR 1/9, SEKSYEN 9, LOT P.T. 2811 TMN. SERDANG RAYA, 43300 KEMBANGAN.")
    assert f["vendor_address"].value.startswith("NO.32 & 33. JALAN")  # the raw value is what was read


def test_a_date_whose_separators_ocr_lost_is_the_last_resort():
    lines = [(0.20, 0.080, "KEDAI RUNCIT MAJU"), (0.30, 0.20, "Tax Invoice"), (0.30, 0.22, "2703/2018"),
             (0.05, 0.70, "TOTAL"), (0.75, 0.70, "12.50")]
    f = _read(lines)
    assert f["date"].normalized == "2018-03-27" and f["date"].confidence < 0.35
    # A real date anywhere wins; a token that is no day-first date is none.
    f = _read(lines[:2] + [(0.30, 0.22, "27032018"), (0.30, 0.30, "Date: 28/03/2018")] + lines[3:])
    assert f["date"].normalized == "2018-03-28"
    f = _read(lines[:2] + [(0.30, 0.22, "45132018")] + lines[3:])
    assert f["date"] is None


def test_an_unlabelled_date_is_trusted_when_it_is_the_only_day_the_receipt_prints():
    head = [(0.20, 0.080, "KEDAI RUNCIT MAJU"), (0.30, 0.20, "Tax Invoice"), (0.30, 0.22, "27/03/2018 14:02")]
    tail = [(0.05, 0.70, "TOTAL"), (0.75, 0.70, "12.50")]
    f = _read(head + tail)
    assert f["date"].normalized == "2018-03-27"
    assert f["date"].evidence == "only date" and f["date"].confidence >= 0.9
    # Printed twice, it is still the only day.
    f = _read(head + tail + [(0.30, 0.90, "Printed 27-03-2018")])
    assert f["date"].evidence == "only date" and f["date"].confidence >= 0.9
    # Another day further down (a warranty's end): the first date is a guess.
    f = _read(head + tail + [(0.30, 0.90, "Exchange before 10/04/2018")])
    assert f["date"].normalized == "2018-03-27"
    assert f["date"].evidence == "first date" and f["date"].confidence < 0.5


def test_a_tax_word_in_the_totals_label_does_not_make_the_total_a_tax():
    """"Total Sales (Inclusive GST)" holds the tax label "GST"; its amount is the total. A tax
    is a part of the total, at most half of it, so the tax is read from its own row."""
    f = _read([
        (0.20, 0.05, "KEDAI RUNCIT MAJU"),
        (0.05, 0.60, "Total Sales (Inclusive GST)"), (0.76, 0.60, "RM 11.40"),
        (0.05, 0.62, "CASH"), (0.76, 0.62, "RM 20.00"),
        (0.05, 0.64, "CHANGE"), (0.76, 0.64, "RM 8.60"),
        (0.05, 0.70, "GST Summary"), (0.45, 0.70, "Amount (RM)"), (0.70, 0.70, "Tax (RM)"),
        (0.05, 0.72, "SR @ 6%"), (0.45, 0.72, "10.75"), (0.72, 0.72, "0.65"),
    ])
    assert f["total"].normalized == "11.40"
    assert f["tax"] is not None and f["tax"].normalized == "0.65"


def test_no_tax_rather_than_the_total_or_the_amount_before_tax():
    f = _read([
        (0.20, 0.05, "KEDAI RUNCIT MAJU"),
        (0.05, 0.60, "Total Sales (Inclusive GST)"), (0.76, 0.60, "RM 2.50"),
        (0.05, 0.62, "Total Sales (Excluding GST)"), (0.76, 0.62, "RM 2.36"),
    ])
    assert f["total"].normalized == "2.50"
    assert f["tax"] is None


def test_a_bare_count_under_the_tax_heading_is_not_the_tax():
    """Where the total has cents, so has its tax: "2" under a GST heading is a count."""
    f = _read([
        (0.20, 0.05, "KEDAI RUNCIT MAJU"),
        (0.05, 0.60, "Total (Inclusive GST)"), (0.76, 0.60, "RM 9.90"),
        (0.05, 0.70, "Item Count"), (0.45, 0.70, "GST"),
        (0.05, 0.72, "SR"), (0.45, 0.72, "2"),
    ])
    assert f["total"].normalized == "9.90"
    assert f["tax"] is None


def test_a_count_after_a_total_label_is_no_amount():
    """"Total Items 1.00" counts items; the amount is on another total row (here with a
    misread "6%" under one, whose "68" would otherwise be the largest total candidate)."""
    f = _read([
        (0.20, 0.05, "KEDAI RUNCIT MAJU"),
        (0.05, 0.40, "Total Items 1.00"),
        (0.05, 0.42, "Total Qty = 1.00"),
        (0.30, 0.48, "Total Excl.6% GST RM"), (0.75, 0.48, "15.00"),
        (0.30, 0.50, "GST 68"), (0.75, 0.50, "0.00"),
        (0.30, 0.52, "Total Incl.6% GST RM"), (0.75, 0.52, "15.00"),
    ])
    assert f["total"].normalized == "15.00"


def test_a_currency_printed_apart_heads_its_amount_and_the_level_cell_wins_a_tie():
    """A skewed receipt straightened: "RM" stands apart from the amounts after it, and the
    row above's amount starts at the same column a fraction of a row higher."""
    p = page(1, [
        (0.20, 0.05, "RESTORAN WAN SHENG SDN BHD"),
        (0.06, 0.583, "Service Charge"), (0.66, 0.589, "RM"), (0.775, 0.589, "0.00"),
        (0.06, 0.599, "GST/TAX 6%"), (0.66, 0.602, "RM"), (0.776, 0.603, "2.25"),
        (0.06, 0.620, "TOTAL :"), (0.46, 0.623, "RM"), (0.583, 0.624, "39.80"),
        (0.05, 0.640, "CASH"), (0.46, 0.640, "RM"), (0.583, 0.640, "50.00"),
    ], height=0.020)
    f = RulesReader().read(document(p), load_schema("receipt")).fields
    assert (f["total"].normalized, f["total"].evidence) == ("39.80", "right cell")
    assert f["tax"].normalized == "2.25"


def test_a_total_whose_point_ocr_lost_is_not_the_largest_total():
    """"51.42" read as "5142" beside the next total row's "54.50": the figure without cents
    neither wins nor sets the largest of the totals."""
    f = _read([
        (0.20, 0.05, "TOKO KASUT SDN BHD"),
        (0.05, 0.82, "Total Sales (Excluding GST)"), (0.84, 0.82, "5142"),
        (0.05, 0.86, "Total GST"), (0.84, 0.86, "3.08"),
        (0.05, 0.94, "Total Sales (Inclusive of GST)"), (0.82, 0.94, "54.50"),
    ])
    assert f["total"].normalized == "54.50"


def test_a_registration_number_misread_after_the_shop_name_is_no_part_of_it():
    for printed in ("99 SPEED MART S/B (519537-X)", "99 SPEED MART S/B 519E37-X)"):
        f = _read([(0.20, 0.05, printed), (0.20, 0.08, "LOT P.T. 2811, JALAN ANGSA,"),
                   (0.05, 0.70, "Total Sales"), (0.76, 0.70, "20.50")])
        assert f["vendor_name"].normalized == "99 SPEED MART S/B", printed


def test_a_misread_company_number_line_is_skipped_before_the_address():
    for reg in ("Company No:002643278-A", "Conpany No:002643278-A"):
        f = _read([(0.10, 0.09, "ISNI PETRO TRADING"), (0.10, 0.12, reg),
                   (0.10, 0.145, "LOT 2685 JLN GENTING KLANG"), (0.10, 0.173, "53300 KL"),
                   (0.10, 0.20, "Telephone 03-40212008"),
                   (0.05, 0.70, "Total"), (0.76, 0.70, "86.00")])
        assert f["vendor_address"].normalized.startswith("LOT 2685 JLN GENTING KLANG"), reg
