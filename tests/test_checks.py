from docproc.checks import (
    apply_checks,
    eu_vat_shape,
    iban_valid,
    icd10_shape,
    npi_valid,
    run_checks,
)
from docproc.document import Extraction, FieldValue, LineItem
from docproc.schemas import load_schema


def fv(normalized, value=None, confidence=0.9):
    return FieldValue(value=value or str(normalized), normalized=normalized, confidence=confidence)


def test_checksums_and_shapes():
    assert npi_valid("1234567893") and not npi_valid("1234567890") and not npi_valid("12345")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert icd10_shape("T88.7XXA") and icd10_shape("R21") and icd10_shape("E11.9")
    assert not icd10_shape("U12") and not icd10_shape("12.3")
    assert eu_vat_shape("DE123456789") is True
    assert eu_vat_shape("DE12345") is False
    assert eu_vat_shape("12-3456789") is None


def test_invoice_arithmetic_pass():
    schema = load_schema("invoice")
    fields = {"subtotal": fv("100.00"), "tax": fv("19.00"), "total": fv("119.00"),
              "invoice_date": fv("2024-01-01"), "due_date": fv("2024-01-31")}
    items = [LineItem(amount="60,00"), LineItem(amount="40,00")]
    outcomes = {c.name: c.outcome for c in run_checks(fields, items, schema)}
    assert outcomes == {"totals_add_up": "pass", "due_after_issue": "pass", "line_items_sum": "pass"}


def test_failed_check_lowers_confidence_and_warns_without_values():
    schema = load_schema("invoice")
    ext = Extraction(fields={"subtotal": fv("100.00"), "tax": fv("19.00"), "total": fv("129.00"),
                             "invoice_date": fv("2024-02-01"), "due_date": fv("2024-01-01"),
                             "currency": None})
    apply_checks(ext, schema)
    failed = {c.name for c in ext.checks if c.outcome == "fail"}
    assert failed == {"totals_add_up", "due_after_issue"}
    assert ext.fields["total"].confidence == 0.45
    assert ext.fields["due_date"].confidence == 0.45
    assert len(ext.warnings) == 2 and all("129" not in w and "2024" not in w for w in ext.warnings)


def test_missing_values_skip():
    schema = load_schema("invoice")
    checks = run_checks({"subtotal": None, "total": fv("10.00"), "due_date": None, "invoice_date": None}, [], schema)
    assert {c.outcome for c in checks} == {"skipped"}


def test_cms1500_codes():
    schema = load_schema("cms1500")
    ext = Extraction(fields={
        "billing_provider_npi": fv("1234567890"),
        "diagnosis_codes": [fv("M54.50"), fv("K59.00")],
        "total_charge": fv("100.00"), "amount_paid": fv("20.00"),
    })
    apply_checks(ext, schema)
    outcomes = {c.name: c.outcome for c in ext.checks}
    assert outcomes["npi_luhn"] == "fail"
    assert outcomes["icd10_shape"] == "pass"
    assert outcomes["paid_not_above_charge"] == "pass"
    assert ext.fields["billing_provider_npi"].confidence < 0.9
    assert any("npi_luhn" in w for w in ext.warnings)
