"""Nightly archive batch: a zip with `../` is refused; a killed run, rerun, processes only the
rest (per the ledger); the CSV + Parquet report; `--schema auto` records its decision."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from docproc.classify import classify_text
from docproc.nightly import LEDGER_FILE

REPO = Path(__file__).resolve().parents[1]
DOCPROC = [sys.executable, "-c", "from docproc.cli import main; main()"]


def _batch(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([*DOCPROC, "batch", *args, "-q"], cwd=REPO, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def invoice_zip(tmp_path_factory, invoice_specs):
    from docproc.samples import render_invoice_pdf

    folder = tmp_path_factory.mktemp("nightly")
    archive = folder / "night.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, spec in enumerate(invoice_specs[:8]):
            pdf = folder / f"inv-{i}.pdf"
            render_invoice_pdf(spec, pdf)
            zf.write(pdf, f"scans/inv-{i}.pdf")
    return archive


def test_zip_with_parent_entries_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.pdf", b"%PDF-1.4")
        zf.writestr("../../escaped.pdf", b"%PDF-1.4")
    proc = _batch(str(archive), "-o", str(tmp_path / "out"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"archive_path_traversal" in err
    assert not (tmp_path / "escaped.pdf").exists() and not (tmp_path.parent / "escaped.pdf").exists()
    assert not list((tmp_path / "out").glob("*.json"))


def _finished_in_ledger(out: Path) -> int:
    try:
        with sqlite3.connect(out / LEDGER_FILE) as db:
            return db.execute("select count(*) from jobs where status in ('succeeded','failed')").fetchone()[0]
    except sqlite3.OperationalError:  # the batch has not created its tables yet
        return 0


def test_killed_run_resumes_with_only_the_rest_and_writes_the_report(tmp_path, invoice_zip, invoice_specs):
    out = tmp_path / "out"
    proc = _batch(str(invoice_zip), "-o", str(out), "--schema", "invoice", "--workers", "1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not (out / LEDGER_FILE).exists() or _finished_in_ledger(out) < 2):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    done_before = _finished_in_ledger(out)
    assert 2 <= done_before < 8, "the kill must land mid-run"
    with sqlite3.connect(out / LEDGER_FILE) as db:
        finished = [Path(p).name for (p,) in db.execute("select result_path from jobs where status='succeeded'")]
    mtimes = {n: (out / n).stat().st_mtime_ns for n in finished}

    proc = _batch(str(invoice_zip), "-o", str(out), "--schema", "invoice", "--workers", "1")
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    line = stdout.decode()
    assert f"{8 - done_before} succeeded, 0 failed, {done_before} skipped" in line, line
    assert {n: (out / n).stat().st_mtime_ns for n in finished} == mtimes  # not processed again
    assert _finished_in_ledger(out) == 8

    report = pd.read_parquet(out / "report" / "report.parquet")
    assert len(report) == 8 and set(report["status"]) == {"ok"}
    by_doc = dict(zip(report["document"], report["invoice_number"]))
    assert by_doc == {f"inv-{i}.pdf": s.invoice_number for i, s in enumerate(invoice_specs[:8])}
    assert len(pd.read_csv(out / "report" / "report.csv")) == 8
    rates = pd.read_csv(out / "report" / "fill_rates.csv").set_index("field")
    assert rates.loc["invoice_number", "fill_rate"] == 1.0 and rates.loc["invoice_number", "documents"] == 8
    review = pd.read_csv(out / "report" / "review.csv")
    assert list(review.columns) == ["document", "schema", "field", "value", "confidence"]
    assert (review["confidence"] < 0.6).all()


def test_schema_auto_records_the_decision(tmp_path, invoice_specs):
    from docproc.samples import render_invoice_pdf

    src = tmp_path / "in"
    src.mkdir()
    render_invoice_pdf(invoice_specs[3], src / "a.pdf")
    out = tmp_path / "out"
    proc = _batch(str(src), "-o", str(out), "--schema", "auto", "--workers", "0")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    result = json.loads((out / "a.json").read_text())
    assert result["document"]["classification"]["label"] == "invoice"
    assert result["document"]["classification"]["confidence"] > 0.5
    assert result["document"]["schema"] == "invoice@1"
    assert result["fields"]["invoice_number"]["normalized"] == invoice_specs[3].invoice_number
    report = pd.read_csv(out / "report" / "report.csv")
    assert report.loc[0, "classified_as"] == "invoice"


@pytest.mark.parametrize("text, label", [
    ("RECEIPT  Cashier: 3  CASH 20.00  CHANGE 4.50  Thank you, come again", "receipt"),
    ("MUTUAL NON-DISCLOSURE AGREEMENT. The Receiving Party shall hold the Confidential Information", "nda"),
    ("HEALTH INSURANCE CLAIM FORM  APPROVED BY NUCC  1a. INSURED'S ID NUMBER  2. PATIENT'S NAME", "cms1500"),
    ("Minutes of the board meeting held on Tuesday; attendees and agenda follow.", "other"),
])
def test_classifier_labels(text, label):
    decision = classify_text(text)
    assert decision.label == label and 0.5 < decision.confidence <= 1
