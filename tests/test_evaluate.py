import json
from pathlib import Path

import pytest

from docproc.evaluate import evaluate, format_report, values_match


def _write(dataset: Path, out: Path, lines: list[dict], results: dict[str, dict]) -> None:
    dataset.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    (dataset / "manifest.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    for stem, result in results.items():
        (out / f"{stem}.json").write_text(json.dumps(result))


def _field(normalized, value=None, confidence=0.95):
    return {"value": value or str(normalized), "normalized": normalized, "confidence": confidence}


@pytest.mark.parametrize("expected,predicted,ftype,soft,ok", [
    ("9.00", "9", "money", False, True),
    ("1928.06", "1928.60", "money", True, False),
    ("2024-03-12", "2024-03-12", "date", False, True),
    ("7 years", "P7Y", "duration", False, True),
    ("2 years", "P24M", "duration", False, True),
    ("P1Y", "P6M", "duration", True, False),
    ("BOOK TA .K (TAMAN DAYA) SDN BHD", "book ta .k  (taman daya) sdn bhd", "string", False, True),
    ("BOOK TA .K (TAMAN DAYA) SDN BHD", "BOOK TA _K (TAMAN DAYA) SDN BHD", "string", False, False),
    ("BOOK TA .K (TAMAN DAYA) SDN BHD", "BOOK TA _K (TAMAN DAYA) SDN BHD", "string", True, True),
    ("Oregon", None, "string", True, False),
    ("DATE :", "date:", "string", False, True),  # space-insensitive (DESIGN §6)
    ("TEL 03-1234", "TEL03-1235", "string", False, False),
])
def test_values_match(expected, predicted, ftype, soft, ok):
    assert values_match(expected, predicted, ftype, soft) is ok


def test_scores_fields_lists_and_absent_keys(tmp_path):
    lines = [
        {"id": "a", "file": "docs/a.pdf", "schema": "nda",
         "expected": {"parties": ["Acme Inc.", "Bob Smith"], "effective_date": "2020-01-02"}},
        {"id": "b", "file": "docs/b.pdf", "schema": "nda",
         "expected": {"parties": ["X Corp"], "jurisdiction": "Delaware", "term": "2 years"}},
    ]
    results = {
        "a": {"status": "ok", "fields": {
            "parties": [_field("Acme Inc."), _field("Robert Smith", confidence=0.5)],
            "effective_date": _field("2020-01-02"),
            "jurisdiction": _field("Texas", confidence=0.4),  # absent from the manifest: a false positive
        }},
        # b has no result file: everything expected is a false negative
    }
    _write(tmp_path / "ds", tmp_path / "out", lines, results)
    report = evaluate(tmp_path / "ds", tmp_path / "out")
    assert report.documents == 2 and report.missing_results == 1
    parties = report.fields["parties"].exact
    assert (parties.tp, parties.fp, parties.fn) == (1, 1, 2)
    jur = report.fields["jurisdiction"].exact
    assert (jur.tp, jur.fp, jur.fn) == (0, 1, 1)
    assert report.fields["term"].exact.fn == 1
    micro = report.micro("exact")
    assert (micro.tp, micro.fp, micro.fn) == (2, 2, 4)
    cal = report.calibration.to_dict()
    assert cal["high_confidence_precision"] == 1.0 and cal["low_confidence_precision"] == 0.0
    text = format_report(report)
    assert "micro" in text and "parties" in text


def test_key_value_pairs_matched_one_to_one(tmp_path):
    lines = [{"id": "f", "file": "docs/f.png", "schema": "key_values",
              "expected": {"pairs": [{"key": "Date:", "value": "9/3/92"}, {"key": "Brand:", "value": "PHOENIX"}]}}]
    results = {"f": {"status": "ok", "fields": {}, "key_values": [
        {"key": "Date:", "value": "9/3/92"}, {"key": "Date:", "value": "9/3/92"}, {"key": "Brand", "value": "PHOENlX"}]}}
    _write(tmp_path / "ds", tmp_path / "out", lines, results)
    report = evaluate(tmp_path / "ds", tmp_path / "out")
    exact, soft = report.fields["pairs"].exact, report.fields["pairs"].soft
    assert (exact.tp, exact.fp, exact.fn) == (1, 2, 1)
    assert (soft.tp, soft.fp, soft.fn) == (2, 1, 0)


def test_key_value_pairs_counted_in_the_confidence_split(tmp_path):
    lines = [{"id": "f", "file": "docs/f.png", "schema": "key_values",
              "expected": {"pairs": [{"key": "Date:", "value": "9/3/92"}, {"key": "Brand:", "value": "PHOENIX"}]}}]
    results = {"f": {"status": "ok", "fields": {}, "key_values": [
        {"key": "Date:", "value": "9/3/92", "confidence": 0.95},
        {"key": "Brand:", "value": "PHOENlX", "confidence": 0.95},  # exact-wrong at high confidence
        {"key": "Brand:", "value": "PHOENIX", "confidence": 0.4},
        {"key": "Style:", "value": "HLB-KS", "confidence": 0.3}]}}
    _write(tmp_path / "ds", tmp_path / "out", lines, results)
    cal = evaluate(tmp_path / "ds", tmp_path / "out").calibration.to_dict()
    assert (cal["high_confidence_count"], cal["high_confidence_precision"]) == (2, 0.5)
    assert (cal["low_confidence_count"], cal["low_confidence_precision"]) == (2, 0.5)


def test_same_numbers_twice(tmp_path):
    lines = [{"id": "r", "file": "docs/r.jpg", "schema": "receipt", "expected": {"total": "9.00", "date": "2018-12-25"}}]
    _write(tmp_path / "ds", tmp_path / "out", lines, {"r": {"status": "ok", "fields": {"total": _field("9.00")}}})
    assert evaluate(tmp_path / "ds", tmp_path / "out").to_dict() == evaluate(tmp_path / "ds", tmp_path / "out").to_dict()
