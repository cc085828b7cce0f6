import pytest

from docproc.normalize import (
    Context,
    detect_currency,
    find_amounts,
    find_dates,
    infer_date_order,
    normalize,
    normalize_date,
    normalize_duration,
    normalize_enum,
    normalize_id,
    normalize_money,
    normalize_number,
)


def test_date_order_from_document_evidence():
    assert infer_date_order(["Date 25/12/2018", "due 03/04/2019"]) == "DMY"
    assert infer_date_order(["04/16/20 - 04/22/20"]) == "MDY"
    assert infer_date_order(["03/04/2019"]) is None
    assert infer_date_order(["03/04/2019"], currency="USD") == "MDY"
    assert infer_date_order(["03/04/2019"], currency="EUR") == "DMY"


@pytest.mark.parametrize("text,order,iso", [
    ("03/04/2019", "DMY", "2019-04-03"),
    ("03/04/2019", "MDY", "2019-03-04"),
    ("25.12.2018", None, "2018-12-25"),
    ("Invoice date: March 12, 2024", None, "2024-03-12"),
    ("4. Juli 2023", None, "2023-07-04"),
    ("12-Mar-24", None, "2024-03-12"),
    ("the 1st day of March, 2001", None, "2001-03-01"),
    ("2023-11-01", "MDY", "2023-11-01"),
    ("9/ 3/ 92", "MDY", "1992-09-03"),
])
def test_dates(text, order, iso):
    assert normalize_date(text, order) == iso


def test_no_date_and_impossible_date():
    assert normalize_date("Total 12.50") is None
    assert normalize_date("31/31/2020") is None
    assert [s.normalized for s in find_dates("from 04/16/20 to 04/22/20", "MDY")] == ["2020-04-16", "2020-04-22"]


@pytest.mark.parametrize("text,amount,currency", [
    ("EUR 1.234,56", "1234.56", "EUR"),
    ("$1,234.56", "1234.56", "USD"),
    ("1.234,56 €", "1234.56", "EUR"),
    ("RM 9.00", "9.00", "MYR"),
    ("Total: 1,928.06", "1928.06", None),
    ("450", "450.00", None),
    ("119,00 EUR", "119.00", "EUR"),
])
def test_money(text, amount, currency):
    assert normalize_money(text) == (amount, currency)


def test_amount_spans_skip_percentages_and_keep_sign():
    spans = find_amounts("VAT 19% EUR 19,00 (5.00)")
    assert [s.normalized for s in spans] == ["19.00", "-5.00"]
    assert spans[0].currency == "EUR"
    assert detect_currency("Total $48.00 paid USD") == "USD"


@pytest.mark.parametrize("text,iso", [
    ("for a period of two (2) years", "P2Y"),
    ("eighteen months", "P18M"),
    ("16 days", "P16D"),
    ("a one-year term", "P1Y"),
    ("twenty-four months", "P24M"),
    ("5 years", "P5Y"),
])
def test_durations(text, iso):
    assert normalize_duration(text) == iso


def test_numbers_ids_enums():
    assert normalize_number("1.234,5") == 1234.5
    assert normalize_number("4") == 4
    assert normalize_id(" INV 00 42. ") == "INV0042"
    assert normalize_enum("Female", ["M", "F"]) == "F"
    assert normalize_enum("x", ["M", "F"]) is None
    assert normalize_enum("usd", ["EUR", "USD"]) == "USD"
    assert normalize("date", "01/02/2020", Context(date_order="DMY")) == "2020-02-01"
    assert normalize("money", "no amount here") is None


def test_dates_with_a_time_glued_on():
    from docproc.normalize import find_dates as _fd
    assert [s.normalized for s in _fd("14/03/20185:57:07PM", "DMY")] == ["2018-03-14"]
    assert [s.normalized for s in _fd("26/02/1808:28 10886", "DMY")] == ["2018-02-26"]
    assert _fd("12/01/20191", "DMY") == []  # a longer number is no date
