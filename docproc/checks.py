"""Validation checks over extracted values: arithmetic, date order, checksums and code shapes.

Each check names the fields it looked at and ends pass, fail or skipped (a value it needs is
missing). A failed check halves the confidence of its fields and adds a warning that names the
check and the fields only (never the values: they may be financial or medical).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Callable

from docproc.document import Check, Extraction, FieldValue, LineItem
from docproc.normalize import decimal_or_none, normalize_money
from docproc.schemas import Schema

FAIL_FACTOR = 0.5
_CENT = Decimal("0.01")

Fields = dict[str, FieldValue | list[FieldValue] | None]


def _money(fields: Fields, name: str) -> Decimal | None:
    fv = fields.get(name)
    if isinstance(fv, FieldValue):
        return decimal_or_none(fv.normalized)
    return None


def _text(fields: Fields, name: str) -> str | None:
    fv = fields.get(name)
    if isinstance(fv, FieldValue) and fv.normalized is not None:
        return str(fv.normalized)
    return None


def _close(a: Decimal, b: Decimal, n_terms: int = 2) -> bool:
    return abs(a - b) <= _CENT * max(1, n_terms)


# ---------------------------------------------------------------- arithmetic


def check_line_items_sum(fields: Fields, items: list[LineItem]) -> Check | None:
    """Line item amounts add up to the subtotal (or to the total when there is no subtotal)."""
    target_name = "subtotal" if _money(fields, "subtotal") is not None else "total"
    amounts = []
    for item in items:
        got = normalize_money(item.amount) if item.amount else None
        if got:
            amounts.append(Decimal(got[0]))
    target = _money(fields, target_name)
    if not items:
        return None
    if target is None or not amounts:
        return Check(name="line_items_sum", fields=[target_name], outcome="skipped", detail="missing values")
    total = sum(amounts, Decimal(0))
    ok = _close(total, target, len(amounts))
    return Check(
        name="line_items_sum", fields=[target_name], outcome="pass" if ok else "fail",
        detail=f"{len(amounts)} line amounts",
    )


def check_totals(fields: Fields) -> Check | None:
    """subtotal - discount + tax + shipping = total."""
    names = [n for n in ("subtotal", "discount", "tax", "shipping", "total") if n in fields]
    if "subtotal" not in fields or "total" not in fields:
        return None
    subtotal, total = _money(fields, "subtotal"), _money(fields, "total")
    if subtotal is None or total is None:
        return Check(name="totals_add_up", fields=names, outcome="skipped", detail="missing values")
    expected = subtotal - abs(_money(fields, "discount") or 0) + (_money(fields, "tax") or 0)
    expected += _money(fields, "shipping") or 0
    used = [n for n in names if _money(fields, n) is not None]
    ok = _close(expected, total, len(used))
    return Check(name="totals_add_up", fields=used, outcome="pass" if ok else "fail")


def check_tax_rate(fields: Fields) -> Check | None:
    """tax = rate x base, when the document states a rate (field tax_rate, in percent)."""
    if "tax_rate" not in fields or "tax" not in fields:
        return None
    rate, tax = _money(fields, "tax_rate"), _money(fields, "tax")
    base = _money(fields, "subtotal")
    if rate is None or tax is None or base is None:
        return Check(name="tax_rate", fields=["tax_rate", "tax", "subtotal"], outcome="skipped", detail="missing values")
    ok = _close(base * rate / 100, tax, 2)
    return Check(name="tax_rate", fields=["tax_rate", "tax", "subtotal"], outcome="pass" if ok else "fail")


def check_paid_not_above_charge(fields: Fields) -> Check | None:
    """A claim's amount paid does not exceed its total charge."""
    if "amount_paid" not in fields or "total_charge" not in fields:
        return None
    paid, charge = _money(fields, "amount_paid"), _money(fields, "total_charge")
    if paid is None or charge is None:
        return Check(name="paid_not_above_charge", fields=["amount_paid", "total_charge"], outcome="skipped")
    return Check(
        name="paid_not_above_charge", fields=["amount_paid", "total_charge"],
        outcome="pass" if paid <= charge + _CENT else "fail",
    )


# ---------------------------------------------------------------- dates


def check_due_after_issue(fields: Fields) -> Check | None:
    if "due_date" not in fields or "invoice_date" not in fields:
        return None
    due, issued = _text(fields, "due_date"), _text(fields, "invoice_date")
    if due is None or issued is None:
        return Check(name="due_after_issue", fields=["due_date", "invoice_date"], outcome="skipped")
    return Check(name="due_after_issue", fields=["due_date", "invoice_date"], outcome="pass" if due >= issued else "fail")


def check_flight_order(fields: Fields) -> Check | None:
    """A period's start is not after its end (flight_start/flight_end, start_date/end_date)."""
    for start, end in (("flight_start", "flight_end"), ("start_date", "end_date")):
        if start in fields and end in fields:
            a, b = _text(fields, start), _text(fields, end)
            if a is None or b is None:
                return Check(name="period_order", fields=[start, end], outcome="skipped")
            return Check(name="period_order", fields=[start, end], outcome="pass" if a <= b else "fail")
    return None


# ---------------------------------------------------------------- checksums and code shapes


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def npi_valid(npi: str) -> bool:
    """A US National Provider Identifier: 10 digits, Luhn over the 80840 prefix + the digits."""
    npi = re.sub(r"\s", "", npi)
    return len(npi) == 10 and npi.isdigit() and luhn_valid("80840" + npi)


def iban_valid(iban: str) -> bool:
    """ISO 13616 IBAN: country, check digits, mod-97 of the rearranged number equals 1."""
    s = re.sub(r"[\s-]", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


def icd10_shape(code: str) -> bool:
    """ICD-10(-CM) code shape: letter, digit, alnum, optional dot and up to four more."""
    return bool(_ICD10.match(code.strip().upper()))


# EU VAT identification number shapes, by country prefix (EL is Greece).
_EU_VAT = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]", "CZ": r"\d{8,10}",
    "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}", "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}", "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}", "HR": r"\d{11}", "HU": r"\d{8}", "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]",
    "IT": r"\d{11}", "LT": r"\d{9}|\d{12}", "LU": r"\d{8}", "LV": r"\d{11}", "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}", "PL": r"\d{10}", "PT": r"\d{9}", "RO": r"\d{2,10}", "SE": r"\d{12}",
    "SI": r"\d{8}", "SK": r"\d{10}", "XI": r"\d{9}|\d{12}",
}


def eu_vat_shape(vat: str) -> bool | None:
    """True/False for an EU VAT id's shape; None when it carries no EU country prefix."""
    s = re.sub(r"[\s.-]", "", vat).upper()
    pattern = _EU_VAT.get(s[:2])
    if pattern is None:
        return None
    return bool(re.fullmatch(pattern, s[2:]))


def _values(fields: Fields, name: str) -> list[str]:
    fv = fields.get(name)
    items = fv if isinstance(fv, list) else [fv] if fv is not None else []
    return [str(v.normalized if v.normalized is not None else v.value) for v in items]


def check_codes(fields: Fields) -> list[Check]:
    out: list[Check] = []
    for name in fields:
        values = _values(fields, name)
        if name.endswith("npi"):
            outcome = "skipped" if not values else "pass" if all(npi_valid(v) for v in values) else "fail"
            out.append(Check(name="npi_luhn", fields=[name], outcome=outcome))
        elif "iban" in name:
            outcome = "skipped" if not values else "pass" if all(iban_valid(v) for v in values) else "fail"
            out.append(Check(name="iban_mod97", fields=[name], outcome=outcome))
        elif name.startswith("diagnosis"):
            outcome = "skipped" if not values else "pass" if all(icd10_shape(v) for v in values) else "fail"
            out.append(Check(name="icd10_shape", fields=[name], outcome=outcome))
        elif name.endswith("tax_id") and values:
            shapes = [eu_vat_shape(v) for v in values]
            if any(s is not None for s in shapes):
                ok = all(s is not False for s in shapes)
                out.append(Check(name="eu_vat_shape", fields=[name], outcome="pass" if ok else "fail"))
    return out


def check_patterns(fields: Fields, schema: Schema) -> list[Check]:
    """The schema's own `pattern` rules on normalized values."""
    out: list[Check] = []
    for spec in schema.fields:
        if not spec.pattern or spec.name not in fields:
            continue
        values = _values(fields, spec.name)
        if not values:
            continue
        ok = all(re.fullmatch(spec.pattern, v) for v in values)
        out.append(Check(name="pattern", fields=[spec.name], outcome="pass" if ok else "fail"))
    return out


_FIELD_CHECKS: list[Callable[[Fields], Check | None]] = [
    check_totals, check_tax_rate, check_paid_not_above_charge, check_due_after_issue, check_flight_order,
]


def run_checks(fields: Fields, line_items: list[LineItem], schema: Schema) -> list[Check]:
    """Every check that applies to these fields."""
    checks = [c for c in (f(fields) for f in _FIELD_CHECKS) if c is not None]
    if schema.line_items:
        c = check_line_items_sum(fields, line_items)
        if c is not None:
            checks.append(c)
    checks.extend(check_codes(fields))
    checks.extend(check_patterns(fields, schema))
    return checks


def apply_checks(extraction: Extraction, schema: Schema) -> Extraction:
    """Run the checks, lower the confidence of the fields of failed ones, add warnings."""
    checks = run_checks(extraction.fields, extraction.line_items, schema)
    for check in checks:
        if check.outcome != "fail":
            continue
        extraction.warnings.append(f"check failed: {check.name} ({', '.join(check.fields)})")
        for name in check.fields:
            fv = extraction.fields.get(name)
            for v in fv if isinstance(fv, list) else [fv] if fv is not None else []:
                v.confidence = round(v.confidence * FAIL_FACTOR, 4)
    extraction.checks.extend(checks)
    return extraction
