"""Scores result JSON files against a dataset manifest (DESIGN §6).

Per field: exact match after normalisation (dates, money, numbers and durations by value;
text case- and space-insensitive) and soft match (text similarity >= 0.85 for text fields;
typed values have no "almost right"). A predicted value where the manifest has none is a
false positive; a wrong value is both a false positive and a false negative. List fields
(parties, diagnosis codes) and key-value pairs are matched item by item, one to one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from docproc import schemas
from docproc.errors import DocprocError

SOFT_THRESHOLD = 85.0  # rapidfuzz ratio, 0..100
HIGH_CONFIDENCE = 0.9
KV_FIELD = "pairs"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class FieldScore:
    exact: Counts = field(default_factory=Counts)
    soft: Counts = field(default_factory=Counts)


@dataclass
class Calibration:
    """Exact-match precision of predicted values split by their confidence."""

    high_right: int = 0
    high_total: int = 0
    low_right: int = 0
    low_total: int = 0

    def add(self, confidence: float | None, right: bool) -> None:
        if confidence is not None and confidence >= HIGH_CONFIDENCE:
            self.high_total += 1
            self.high_right += right
        else:
            self.low_total += 1
            self.low_right += right

    @staticmethod
    def _ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    def to_dict(self) -> dict:
        return {
            "high_confidence_precision": self._ratio(self.high_right, self.high_total),
            "high_confidence_count": self.high_total,
            "low_confidence_precision": self._ratio(self.low_right, self.low_total),
            "low_confidence_count": self.low_total,
        }


@dataclass
class Report:
    dataset: str
    documents: int = 0
    missing_results: int = 0
    error_results: int = 0
    fields: dict[str, FieldScore] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)
    failures: list[dict] = field(default_factory=list)  # per-document misses, for error analysis

    def micro(self, kind: str) -> Counts:
        total = Counts()
        for score in self.fields.values():
            total.add(getattr(score, kind))
        return total

    def to_dict(self) -> dict:
        def counts(c: Counts) -> dict:
            return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4), "f1": round(c.f1, 4)}

        return {
            "dataset": self.dataset,
            "documents": self.documents,
            "missing_results": self.missing_results,
            "error_results": self.error_results,
            "micro": {"exact": counts(self.micro("exact")), "soft": counts(self.micro("soft"))},
            "fields": {name: {"exact": counts(s.exact), "soft": counts(s.soft)}
                       for name, s in sorted(self.fields.items())},
            "confidence": self.calibration.to_dict(),
        }


# --- value comparison -------------------------------------------------------------------

_DURATION_WORDS = {"day": "D", "week": "W", "month": "M", "year": "Y"}


def _text_key(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None


def _duration_months_days(value: Any) -> tuple[int, int] | None:
    """'P2Y' / '2 years' / 'P18M' -> (months, days) for comparison by value."""
    text = str(value).strip().upper()
    m = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?", text)
    if m and any(m.groups()):
        y, mo, w, d = (int(g) if g else 0 for g in m.groups())
        return y * 12 + mo, w * 7 + d
    m = re.fullmatch(r"(\d+)\s*(DAY|WEEK|MONTH|YEAR)S?", text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return {"YEAR": (n * 12, 0), "MONTH": (n, 0), "WEEK": (0, 7 * n), "DAY": (0, n)}[unit]
    return None


def values_match(expected: Any, predicted: Any, ftype: str, soft: bool) -> bool:
    if predicted is None:
        return False
    if ftype in ("money", "number"):
        a, b = _decimal(expected), _decimal(predicted)
        return a is not None and a == b
    if ftype == "duration":
        a, b = _duration_months_days(expected), _duration_months_days(predicted)
        return a is not None and a == b
    if ftype == "date":
        return str(expected).strip()[:10] == str(predicted).strip()[:10]
    a, b = _text_key(expected), _text_key(predicted)
    # DESIGN §6: text matches case- and space-insensitively ("DATE :" = "Date:", "TEL03-1234" =
    # "TEL 03-1234"): OCR and annotators disagree on spacing more than on content.
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    return soft and fuzz.ratio(a, b) >= SOFT_THRESHOLD


def _predicted_value(fv: Any) -> Any:
    """The comparable value of a result field: normalized when present, else the raw value."""
    if fv is None:
        return None
    norm = fv.get("normalized")
    return norm if norm not in (None, "") else fv.get("value")


def _infer_type(values: list[Any]) -> str:
    sample = [v for v in values if v not in (None, "")]
    if not sample:
        return "string"
    if all(isinstance(v, (int, float)) for v in sample):
        return "number"
    if all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(v)) for v in sample):
        return "date"
    return "string"


# --- matching -----------------------------------------------------------------------------

def _match_lists(expected: list, predicted: list, ftype: str, soft: bool) -> tuple[Counts, list[bool]]:
    """One-to-one greedy matching of list items; returns counts and per-predicted correctness."""
    used = [False] * len(predicted)
    counts = Counts()
    for exp in expected:
        for i, pred in enumerate(predicted):
            if not used[i] and values_match(exp, pred, ftype, soft):
                used[i] = True
                counts.tp += 1
                break
        else:
            counts.fn += 1
    counts.fp += used.count(False)
    return counts, used


def _score_pairs(expected: list[dict], predicted: list[dict], soft: bool) -> Counts:
    return _match_pairs(expected, predicted, soft)[0]


def _match_pairs(expected: list[dict], predicted: list[dict], soft: bool) -> tuple[Counts, list[bool]]:
    """One-to-one greedy matching of key-value pairs (key and value must both match); returns
    counts and per-predicted correctness."""
    used = [False] * len(predicted)
    counts = Counts()
    for exp in expected:
        for i, pred in enumerate(predicted):
            if used[i]:
                continue
            if values_match(exp["key"], pred.get("key"), "string", soft) and values_match(
                exp["value"], pred.get("value"), "string", soft
            ):
                used[i] = True
                counts.tp += 1
                break
        else:
            counts.fn += 1
    counts.fp += used.count(False)
    return counts, used


@dataclass
class _Manifest:
    lines: list[dict]
    schema: schemas.Schema | None


def _load_manifest(dataset_dir: Path, schema_ref: str | None) -> _Manifest:
    path = dataset_dir / "manifest.jsonl"
    if not path.is_file():
        raise DocprocError("eval", "no_manifest", f"{path} not found")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    name = schema_ref or next((l.get("schema") for l in lines if l.get("schema")), None)
    schema = None
    if name and name != "key_values":
        candidates = [name, str(Path(__file__).resolve().parents[1] / "examples" / "schemas" / f"{name}.yaml")]
        for ref in candidates:
            try:
                schema = schemas.load_schema(ref)
                break
            except DocprocError:
                continue
    return _Manifest(lines, schema)


def result_path(out_dir: Path, file_name: str) -> Path | None:
    """Where `docproc extract` put the result for an input file (stem, or full name on clashes)."""
    for candidate in (out_dir / f"{Path(file_name).stem}.json", out_dir / f"{Path(file_name).name}.json"):
        if candidate.is_file():
            return candidate
    return None


def evaluate(dataset_dir: str | Path, out_dir: str | Path, schema_ref: str | None = None) -> Report:
    dataset_dir, out_dir = Path(dataset_dir), Path(out_dir)
    manifest = _load_manifest(dataset_dir, schema_ref)
    report = Report(dataset=dataset_dir.name)
    field_names = sorted({k for line in manifest.lines for k in line.get("expected", {})})
    types: dict[str, tuple[str, bool]] = {}
    for name in field_names:
        spec = None
        if manifest.schema is not None:
            try:
                spec = manifest.schema.field(name)
            except KeyError:
                spec = None
        if spec is not None:
            is_list = spec.type == "list"
            types[name] = ((spec.items or "string") if is_list else spec.type, is_list)
        else:
            values = [line["expected"].get(name) for line in manifest.lines]
            is_list = any(isinstance(v, list) for v in values)
            flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
            types[name] = (_infer_type(flat), is_list)
        report.fields[name] = FieldScore()

    for line in manifest.lines:
        report.documents += 1
        rpath = result_path(out_dir, line["file"])
        result: dict = {}
        if rpath is None:
            report.missing_results += 1
        else:
            result = json.loads(rpath.read_text())
            if result.get("status") == "error":
                report.error_results += 1
        misses: dict[str, Any] = {}
        for name in field_names:
            ftype, is_list = types[name]
            expected = line.get("expected", {}).get(name)
            score = report.fields[name]
            if name == KV_FIELD:
                predicted_pairs = result.get("key_values", [])
                for kind in ("exact", "soft"):
                    counts, right = _match_pairs(expected or [], predicted_pairs, kind == "soft")
                    getattr(score, kind).add(counts)
                    if kind == "exact":  # pairs carry confidences too: the same split as fields
                        for pair, ok in zip(predicted_pairs, right):
                            report.calibration.add(pair.get("confidence"), ok)
                continue
            fv = result.get("fields", {}).get(name)
            if is_list:
                items = fv if isinstance(fv, list) else ([fv] if fv else [])
                pred_vals = [_predicted_value(x) for x in items]
                exp_vals = expected if isinstance(expected, list) else ([expected] if expected else [])
                for kind in ("exact", "soft"):
                    counts, right = _match_lists(exp_vals, pred_vals, ftype, kind == "soft")
                    getattr(score, kind).add(counts)
                    if kind == "exact":
                        for item, ok in zip(items, right):
                            report.calibration.add(item.get("confidence"), ok)
                        if counts.fp or counts.fn:
                            misses[name] = {"expected": exp_vals, "predicted": pred_vals}
                continue
            pred = _predicted_value(fv) if isinstance(fv, dict) else None
            for kind in ("exact", "soft"):
                counts = Counts()
                ok = expected is not None and values_match(expected, pred, ftype, kind == "soft")
                if ok:
                    counts.tp = 1
                else:
                    counts.fp = int(pred is not None)
                    counts.fn = int(expected is not None)
                getattr(score, kind).add(counts)
                if kind == "exact":
                    if pred is not None:
                        report.calibration.add(fv.get("confidence"), ok)
                    if not ok and (pred is not None or expected is not None):
                        misses[name] = {"expected": expected, "predicted": pred}
        if misses:
            report.failures.append({"id": line.get("id"), "file": line["file"], "misses": misses})
    return report


def format_report(report: Report) -> str:
    rows = [f"dataset {report.dataset}: {report.documents} documents, "
            f"{report.missing_results} without result, {report.error_results} error records",
            f"{'field':28} {'P':>6} {'R':>6} {'F1':>6} | {'softP':>6} {'softR':>6} {'softF1':>6} | {'n':>5}"]
    for name, s in sorted(report.fields.items()):
        e, so = s.exact, s.soft
        rows.append(f"{name:28} {e.precision:6.3f} {e.recall:6.3f} {e.f1:6.3f} | "
                    f"{so.precision:6.3f} {so.recall:6.3f} {so.f1:6.3f} | {e.tp + e.fn:5d}")
    e, so = report.micro("exact"), report.micro("soft")
    rows.append(f"{'micro':28} {e.precision:6.3f} {e.recall:6.3f} {e.f1:6.3f} | "
                f"{so.precision:6.3f} {so.recall:6.3f} {so.f1:6.3f} | {e.tp + e.fn:5d}")
    cal = report.calibration.to_dict()
    rows.append(
        "confidence: precision {hp} over {hn} fields with confidence >= 0.9, {lp} over {ln} below".format(
            hp=cal["high_confidence_precision"], hn=cal["high_confidence_count"],
            lp=cal["low_confidence_precision"], ln=cal["low_confidence_count"]))
    return "\n".join(rows)
