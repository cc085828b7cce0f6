"""End-of-batch report (pandas): one row per document as CSV and Parquet, per-field fill rates,
and the low-confidence fields a person should review.

    report.csv / report.parquet   document, status, schema, error code, then per field
                                  `<field>` (normalized value, lists joined by "; ") and
                                  `<field>.confidence`
    fill_rates.csv                schema, field, documents, filled, fill_rate
    review.csv                    document, schema, field, value, confidence (below the threshold)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

log = logging.getLogger(__name__)

REVIEW_BELOW = 0.6


@dataclass
class ReportFiles:
    csv: Path
    parquet: Path
    fill_rates: Path
    review: Path


def _shown(value: dict) -> str:
    shown = value.get("normalized")
    if shown in (None, "", []):
        shown = value.get("value")
    if isinstance(shown, list):
        return "; ".join(map(str, shown))
    return "" if shown is None else str(shown)


def _field_cells(value) -> tuple[str | None, float | None]:
    """(text, confidence) of one field; lists joined, their confidence the weakest item's."""
    if value is None or value == []:
        return None, None
    if isinstance(value, list):
        return "; ".join(_shown(v) for v in value), min(float(v.get("confidence", 0.0)) for v in value)
    return _shown(value), float(value.get("confidence", 0.0))


def document_row(result: dict, result_file: str = "") -> dict:
    doc = result.get("document", {})
    errors = result.get("errors") or []
    classification = doc.get("classification") or {}
    row = {
        "document": Path(doc.get("source", "")).name,
        "result_file": result_file,
        "status": result.get("status", "error"),
        "schema": doc.get("schema") or "",
        "classified_as": classification.get("label", ""),
        "classification_confidence": classification.get("confidence"),
        "pages": doc.get("pages", 0),
        "error_code": errors[0]["code"] if errors else "",
    }
    for name, value in (result.get("fields") or {}).items():
        row[name], row[f"{name}.confidence"] = _field_cells(value)
    return row


def load_results(result_files: Iterable[Path]) -> list[tuple[Path, dict]]:
    out = []
    for path in sorted(result_files):
        try:
            out.append((path, json.loads(Path(path).read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError):
            log.warning("report: unreadable result file %s", path)
    return out


def build_frame(results: list[tuple[Path, dict]]) -> pd.DataFrame:
    rows = [document_row(r, p.name) for p, r in results]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["document", "result_file", "status", "schema", "error_code"])
    value_cols = [c for c in frame.columns if c not in _FIXED and not c.endswith("confidence")]
    frame[value_cols] = frame[value_cols].astype("string")  # mixed types would break Parquet
    for col in frame.columns:
        if col.endswith("confidence"):
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
    return frame


_FIXED = {"document", "result_file", "status", "schema", "classified_as", "classification_confidence",
          "pages", "error_code"}


def fill_rates(results: list[tuple[Path, dict]]) -> pd.DataFrame:
    """Per schema and field: how many documents (not failed) have a value."""
    records = []
    for _, r in results:
        if r.get("status") == "error":
            continue
        schema = r.get("document", {}).get("schema") or ""
        for name, value in (r.get("fields") or {}).items():
            records.append({"schema": schema, "field": name, "filled": value not in (None, [])})
    if not records:
        return pd.DataFrame(columns=["schema", "field", "documents", "filled", "fill_rate"])
    frame = pd.DataFrame(records)
    rates = frame.groupby(["schema", "field"], sort=True)["filled"].agg(documents="count", filled="sum")
    rates["fill_rate"] = (rates["filled"] / rates["documents"]).round(4)
    return rates.reset_index()


def review_list(results: list[tuple[Path, dict]], below: float = REVIEW_BELOW) -> pd.DataFrame:
    records = []
    for _, r in results:
        doc = r.get("document", {})
        for name, value in (r.get("fields") or {}).items():
            text, conf = _field_cells(value)
            if conf is not None and conf < below:
                records.append({"document": Path(doc.get("source", "")).name, "schema": doc.get("schema") or "",
                                "field": name, "value": text, "confidence": round(conf, 4)})
    columns = ["document", "schema", "field", "value", "confidence"]
    return pd.DataFrame(records, columns=columns).sort_values(["confidence", "document"], kind="stable")


def write_report(result_files: Iterable[Path], out_dir: str | Path, below: float = REVIEW_BELOW,
                 stem: str = "report") -> ReportFiles:
    """Write the four report files into out_dir and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = load_results(result_files)
    files = ReportFiles(out_dir / f"{stem}.csv", out_dir / f"{stem}.parquet",
                        out_dir / "fill_rates.csv", out_dir / "review.csv")
    frame = build_frame(results)
    frame.to_csv(files.csv, index=False)
    frame.to_parquet(files.parquet, index=False)
    fill_rates(results).to_csv(files.fill_rates, index=False)
    review_list(results, below).to_csv(files.review, index=False)
    return files
