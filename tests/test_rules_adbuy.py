"""Rules reader on hand-built ad-buy orders (examples/schemas/adbuy.yaml): grid headings,
account codes after names, gross versus net totals."""

from pathlib import Path

from docproc.readers.rules import RulesReader
from docproc.readers.rules.values import clean_name
from docproc.schemas import load_schema
from tests.rules_helpers import document, page

ADBUY = str(Path(__file__).resolve().parents[1] / "examples" / "schemas" / "adbuy.yaml")


def _read(placed):
    return RulesReader().read(document(page(1, placed)), load_schema(ADBUY)).fields


def test_heading_row_value_is_below_not_the_next_heading():
    f = _read([
        (0.50, 0.100, "Advertiser"), (0.79, 0.100, "Original Date / Revision"),
        (0.50, 0.115, "Priorities USA Action"), (0.80, 0.115, "05/01/20 / 05/01/20"),
    ])
    assert f["advertiser"].normalized == "Priorities USA Action"


def test_key_value_row_keeps_the_right_cell():
    f = _read([
        (0.39, 0.030, "Advertiser"), (0.51, 0.030, "Pete Buttigieg for President-D (132717)"),
        (0.39, 0.045, "Agency"), (0.51, 0.045, "Media Buyers Inc"),
    ])
    # The account code in brackets is not part of the name.
    assert f["advertiser"].normalized == "Pete Buttigieg for President-D"


def test_clean_name_drops_trailing_codes_only():
    assert clean_name("TRI SHAAS SDN BHD (728515-M)") == "TRI SHAAS SDN BHD"
    assert clean_name("MR D.I.Y. (M) SDN BHD") == "MR D.I.Y. (M) SDN BHD"
    assert clean_name("SELANGOR (MR DIY TESCO TERBAU)") == "SELANGOR (MR DIY TESCO TERBAU)"


def test_gross_total_beats_net_total_and_skips_spot_counts():
    f = _read([
        (0.60, 0.080, "Grand Total:"), (0.80, 0.082, "30"), (0.88, 0.082, "$12,350.00"),
        (0.55, 0.210, "Net Total"), (0.68, 0.211, "$10,497.50"),
    ])
    assert f["gross_amount"].normalized == "12350.00"


def test_amount_with_the_next_cells_label_glued_on():
    f = _read([
        (0.64, 0.859, "Gross Total"), (0.83, 0.859, "$1,640.00 Total Spots"),
        (0.64, 0.894, "NET TOTAL"), (0.83, 0.894, "$1,394.00"),
    ])
    assert f["gross_amount"].normalized == "1640.00"


def test_flight_range_next_to_a_label_gives_both_ends():
    f = _read([
        (0.10, 0.100, "Flight:"), (0.20, 0.100, "12/30/19 - 3/29/20"),
        (0.10, 0.130, "Print Date 02/11/20"),
    ])
    assert f["flight_start"].normalized == "2019-12-30"
    assert f["flight_end"].normalized == "2020-03-29"


def test_flight_range_below_a_heading_and_compact_month_dates():
    f = _read([
        (0.50, 0.100, "Contract Dates"),
        (0.50, 0.115, "Apr16/20 - Apr22/20"),
    ])
    assert f["flight_start"].normalized == "2020-04-16"
    assert f["flight_end"].normalized == "2020-04-22"


def test_order_flight_beats_invoice_period_and_grid_week_headings():
    f = _read([
        (0.70, 0.100, "Invoice Period 01/13/20 - 01/19/20"),
        (0.70, 0.200, "Order Flight"), (0.80, 0.200, "01/18/20 - 01/24/20"),
        (0.05, 0.400, "Start Date End Date"), (0.05, 0.415, "01/13/20 01/19/20"),
        (0.05, 0.450, "Start Date End Date"), (0.05, 0.465, "01/13/20 01/19/20"),
        (0.05, 0.500, "Start Date End Date"), (0.05, 0.515, "01/20/20 01/26/20"),
    ])
    assert f["flight_start"].normalized == "2020-01-18"
    assert f["flight_end"].normalized == "2020-01-24"


def test_date_ranges_reader():
    from docproc.normalize import Context
    from docproc.readers.rules.values import find_date_ranges

    ctx = Context(date_order="MDY")
    got = find_date_ranges("Dates: Apr16/20 - Apr22/20", ctx)
    assert [(a.normalized, b.normalized) for a, b in got] == [("2020-04-16", "2020-04-22")]
    got = find_date_ranges("3/9/2020 thru 3/15/2020", ctx)
    assert [(a.normalized, b.normalized) for a, b in got] == [("2020-03-09", "2020-03-15")]
    assert find_date_ranges("Week: 09/21/20 09/27/20", ctx) == []  # no joiner: two dates, no period
    assert find_date_ranges("03/15/20 - 03/09/20", ctx) == []  # backwards: not a period


def test_gross_column_takes_its_totals_row_not_the_first_month():
    f = _read([
        (0.20, 0.500, "# of Spots"), (0.40, 0.500, "Gross Amount"), (0.55, 0.500, "Net Amount"),
        (0.05, 0.520, "Sep 2020"), (0.40, 0.520, "$24,150.00"), (0.55, 0.520, "$20,527.50"),
        (0.05, 0.540, "Oct 2020"), (0.40, 0.540, "$9,775.00"), (0.55, 0.540, "$8,308.75"),
        (0.05, 0.560, "Totals"), (0.40, 0.560, "$33,925.00"), (0.55, 0.560, "$28,836.25"),
    ])
    assert f["gross_amount"].normalized == "33925.00"


def test_alt_order_number_and_percent_shares_are_not_the_contract_number():
    f = _read([
        (0.14, 0.090, "Order / Rev:"), (0.28, 0.090, "2517963"),
        (0.14, 0.110, "Alt Order #:"), (0.28, 0.110, "WOC12388848"),
        (0.60, 0.300, "Order %"), (0.70, 0.300, "100%"),
    ])
    assert f["contract_number"].normalized == "2517963"


def test_label_word_ending_a_sentence_is_not_a_label():
    f = _read([
        (0.66, 0.067, "Contract / Revision"),
        (0.68, 0.082, "300643 /"),
        (0.05, 0.900, "broadcasts under this contract. 4. INABILITY OF BROADCAST"),
    ])
    assert f["contract_number"].normalized == "300643"


def test_advertiser_value_stops_at_the_next_label_on_its_line():
    f = _read([
        (0.15, 0.050, "P.O. Box 32172 DUPLICATE Advertiser Invoice # 140021891"),
        (0.15, 0.300, "Advertiser:"), (0.30, 0.300, "Nina For PA"),
    ])
    assert f["advertiser"].normalized == "Nina For PA"


def test_value_below_a_heading_skips_the_left_cells_words():
    f = _read([
        (0.505, 0.099, "Advertiser"), (0.79, 0.099, "Original Date / Revision"),
        (0.294, 0.114, "www.example.tv/advertising Team Hagerty"),
    ])
    assert f["advertiser"].normalized == "Team Hagerty"


def test_next_cell_ending_in_hash_is_a_heading_not_the_advertiser():
    f = _read([
        (0.50, 0.100, "Advertiser"), (0.66, 0.100, "Estimate #"),
        (0.50, 0.115, "Democratic Attorneys General Association"),
    ])
    assert f["advertiser"].normalized == "Democratic Attorneys General Association"


def test_name_wrapped_onto_a_second_line_is_joined():
    f = _read([
        (0.48, 0.085, "Advertiser: Mike Bloomberg 2020,"), (0.68, 0.085, "Market: Harrisburg"),
        (0.568, 0.098, "Inc"),
        (0.35, 0.140, "711 Third Avenue"),
    ])
    assert f["advertiser"].normalized == "Mike Bloomberg 2020, Inc"


def test_possessive_label_word_is_running_text():
    f = _read([
        (0.05, 0.300, "Station may use the Advertiser’s name and logo in its listings"),
        (0.50, 0.100, "Advertiser"), (0.50, 0.115, "Sarah Riggs Amico"),
    ])
    assert f["advertiser"].normalized == "Sarah Riggs Amico"


def test_right_cell_name_stops_where_a_column_of_labels_starts():
    # "Invoice Date" sits in the column of "Invoice #" and "Invoice Month": the next cell, not the name.
    f = _read([
        (0.716, 0.072, "Invoice #"), (0.83, 0.072, "26806850"),
        (0.40, 0.091, "Advertiser"), (0.54, 0.091, "POL/Alaska League PAC Invoice Date"),
        (0.716, 0.111, "Invoice Month"), (0.83, 0.111, "January 2020"),
    ])
    assert f["advertiser"].normalized == "POL/Alaska League PAC"


def test_a_label_variant_inside_another_is_one_printed_label():
    """"order" matches inside "Order #": one printed label, not two variants that confirm each
    other, so it does not outrank the more specific "Invoice #" on that account."""
    from docproc.readers.rules.labels import find_labels
    from docproc.readers.rules.view import DocView

    adbuy = load_schema("examples/schemas/adbuy.yaml")
    p = page(1, [(0.74, 0.07, "Invoice #"), (0.86, 0.07, "140021891"),
                 (0.74, 0.17, "Order #"), (0.86, 0.17, "301373")])
    hits = find_labels(DocView.of(document(p)).lines, adbuy.field("contract_number"))
    assert [h.line.text for h in hits] == ["Invoice #", "Order #"]
    assert RulesReader().read(document(p), adbuy).fields["contract_number"].normalized == "140021891"
