"""Upload-queue folder: files taken only once fully written; a watcher killed mid-run (SIGKILL)
and restarted leaves every file in done/ or failed/ exactly once, beside its result."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from docproc.options import PipelineOptions
from docproc.watch import STAGING, StabilityTracker, WatchConfig, Watcher

REPO = Path(__file__).resolve().parents[1]
DOCPROC = [sys.executable, "-c", "from docproc.cli import main; main()"]


def test_a_growing_file_is_not_taken_until_it_settles(tmp_path):
    tracker = StabilityTracker(settle_s=0.3)
    f = tmp_path / "a.pdf"
    f.write_bytes(b"%PDF-1.4 part one")
    assert tracker.stable(tmp_path) == []  # first sight
    time.sleep(0.4)
    with open(f, "ab") as fh:
        fh.write(b" part two")  # still being written
    assert tracker.stable(tmp_path) == []
    time.sleep(0.4)
    assert tracker.stable(tmp_path) == [f]  # unchanged for longer than settle_s
    (tmp_path / ".hidden.pdf").write_bytes(b"x")
    (tmp_path / "b.pdf.part").write_bytes(b"x")
    time.sleep(0.4)
    tracker.stable(tmp_path)
    assert tracker.stable(tmp_path) == [f]  # partial-download names and hidden files are left alone


def test_slowly_written_file_is_processed_whole(tmp_path, invoice_specs):
    from docproc.samples import render_invoice_pdf

    src = tmp_path / "src.pdf"
    render_invoice_pdf(invoice_specs[0], src)
    data = src.read_bytes()
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    watcher = Watcher(WatchConfig(inbox=inbox, out=out, options=PipelineOptions(schema="invoice"), settle_s=0.6,
                                  poll_s=0.1, workers=0))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    with open(inbox / "slow.pdf", "wb") as fh:  # four pieces, 0.3 s apart (less than settle_s)
        for i in range(4):
            fh.write(data[i * len(data) // 4:(i + 1) * len(data) // 4])
            fh.flush()
            time.sleep(0.3)
    deadline = time.monotonic() + 60
    while not (out / "done" / "slow.pdf").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    watcher.stop_event.set()
    thread.join(30)
    assert (out / "done" / "slow.pdf").read_bytes() == data
    result = json.loads((out / "done" / "slow.pdf.json").read_text())
    assert result["status"] == "ok"
    assert result["fields"]["invoice_number"]["normalized"] == invoice_specs[0].invoice_number
    assert not any((out / "failed").iterdir())


def test_recover_finishes_a_move_without_processing_again(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    watcher = Watcher(WatchConfig(inbox=inbox, out=out, options=PipelineOptions()))
    (inbox / STAGING / "a.pdf").write_bytes(b"a")  # result written, input not yet moved
    (out / "done" / "a.pdf.json").write_text("{}")
    (inbox / STAGING / "b.pdf").write_bytes(b"b")  # in flight: no result yet
    again = watcher.recover()
    assert [p.name for p in again] == ["b.pdf"]
    assert (out / "done" / "a.pdf").read_bytes() == b"a" and not (inbox / STAGING / "a.pdf").exists()


def _start(inbox: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*DOCPROC, "watch", str(inbox), "-o", str(out), "--schema", "invoice", "--settle",
                             "0.2", "--poll", "0.2", "--workers", "1", *extra], cwd=REPO, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_watcher_restarts_and_every_file_ends_once(tmp_path, invoice_specs):
    from docproc.samples import render_invoice_pdf

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    names = []
    for i, spec in enumerate(invoice_specs[:6]):
        render_invoice_pdf(spec, inbox / f"inv-{i}.pdf")
        names.append(f"inv-{i}.pdf")
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    names.append("broken.pdf")

    proc = _start(inbox, out)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list((out / "done").glob("*.json"))) < 1:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the watcher and its pool workers, mid-run
    proc.wait(10)
    finished_before = {p.name for p in (out / "done").glob("*.pdf")} | {p.name for p in (out / "failed").glob("*.pdf")}
    assert len(finished_before) < len(names), "the kill must land mid-run"
    assert any((inbox / STAGING).iterdir()), "files were in flight when the watcher died"

    proc = _start(inbox, out, "--once")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()[-2000:]

    done = sorted(p.name for p in (out / "done").glob("*.pdf"))
    failed = sorted(p.name for p in (out / "failed").glob("*.pdf"))
    assert sorted(done + failed) == sorted(names)  # each exactly once, nothing lost, nothing doubled
    assert failed == ["broken.pdf"]
    for folder, name in [(out / "done", n) for n in done] + [(out / "failed", n) for n in failed]:
        result = json.loads((folder / f"{name}.json").read_text())
        assert (result["status"] == "error") == (name == "broken.pdf")
    assert not list((inbox / STAGING).iterdir())
    assert [p.name for p in inbox.iterdir()] == [STAGING]
    assert b"recovered from an earlier run" in stdout
