"""End to end on a handful of real documents: `docproc extract` over the first four documents of
each dev set in ../shared/eval, scored by `docproc.evaluate` against their third-party ground
truth. The full sets run in `make eval`; this catches a pipeline that breaks on real files (every
document must give a result and no error record) or stops finding their fields. The floors are the
issue's soft targets less 0.1 (four documents hold 4-60 fields: one field moves a score by up to
0.25); FUNSD's forms are the link models' training forms, so its figure is in-sample."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from docproc.evaluate import evaluate
from tests.conftest import REPO, shared_dir

DOCS_PER_SET = 4
# dataset -> (schema given to `docproc extract`, soft micro-F1 floor)
SETS = {
    "sroie_receipts": ("receipt", 0.75),
    "deepform_adbuy": (str(REPO / "examples" / "schemas" / "adbuy.yaml"), 0.70),
    "parsee_invoices": ("invoice", 0.75),
    "kleister_nda": ("nda", 0.50),
    "funsd_forms": ("key_values", 0.45),
    "cms1500_claims": ("cms1500", 0.70),
}


@pytest.mark.parametrize("name", list(SETS))
def test_the_first_documents_of_each_dev_set_are_read_and_scored(name, tmp_path):
    dataset = shared_dir("eval", name)
    schema, floor = SETS[name]
    lines = [line for line in (dataset / "manifest.jsonl").read_text().splitlines() if line.strip()][:DOCS_PER_SET]
    files = [dataset / json.loads(line)["file"] for line in lines]
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "docproc"), "extract", *map(str, files), "--schema", schema,
         "-o", str(out), "-q"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Score only these documents: a manifest of their lines (evaluate reads results by file name).
    subset = tmp_path / "subset"
    subset.mkdir()
    (subset / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    report = evaluate(subset, out, None if name == "funsd_forms" else schema)
    assert report.documents == DOCS_PER_SET
    assert report.missing_results == 0 and report.error_results == 0
    soft = report.micro("soft")
    assert soft.tp > 0 and soft.f1 >= floor, (name, soft.f1)
    assert report.micro("exact").f1 <= soft.f1
