"""Hostile and malformed input: every file of ../shared/robustness ends, within a wall-clock
bound and a memory bound, with its first page drawn or a coded DocprocError, and the sandbox
that makes this so holds against hangs, crashes and memory hogs."""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from collections import Counter

import pytest

from docproc import sandbox
from docproc.errors import DocprocError
from docproc.options import Limits, RenderOptions, TextLayerOptions
from docproc.render import render_pages
from docproc.sources import sniff
from docproc.textlayer import read_text_layer
from tests.conftest import shared_dir

# Short renderer deadlines keep a hang cheap; the per-file bound holds every stage's deadline.
LIMITS = Limits(render_timeout_s=10)
PER_FILE_S = 60.0
CODES = {
    "sources": {"not_found", "empty_file", "file_too_large", "unsupported_type", "corrupt_pdf",
                "encrypted_pdf", "too_many_pages", "corrupt_image", "page_too_large"},
    "render": {"render_timeout", "render_failed", "page_too_large"},
}


def _first_page(path: str) -> tuple:
    """What the pipeline does to a file up to its first page (runs in a sandbox child)."""
    try:
        source = sniff(path, LIMITS)
        [(number, image)] = render_pages(source, RenderOptions(), LIMITS, [1])
        text = "none"
        if source.kind == "pdf":
            try:
                text = read_text_layer(source, TextLayerOptions(), [1]).get(1) is not None
            except DocprocError as exc:  # not fatal: the pipeline OCRs the page instead
                text = exc.code
        outcome: tuple = ("ok", image.mode, image.size, text)
    except DocprocError as exc:
        outcome = ("error", exc.stage, exc.code)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return outcome, peak_mb


def test_every_robustness_file_ends_with_a_page_or_a_coded_error():
    folder = shared_dir("robustness")
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines() if line]
    assert len(manifest) >= 100
    counts: Counter = Counter()
    failures: list[str] = []
    slowest = (0.0, "")
    peak_mb = 0
    for entry in manifest:
        name, expect = entry["file"], entry["expect"]
        start = time.monotonic()
        try:
            outcome, peak = sandbox.call_in_child(
                _first_page, str(folder / name), timeout_s=PER_FILE_S, memory_mb=LIMITS.worker_memory_mb
            )
        except Exception as exc:  # a hang, a crash, or an uncoded exception: all failures
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        took = time.monotonic() - start
        slowest = max(slowest, (took, name))
        peak_mb = max(peak_mb, peak)
        if outcome[0] == "ok":
            counts["ok"] += 1
            if outcome[1] != "RGB" or min(outcome[2]) < 1:
                failures.append(f"{name}: bad image {outcome[1:]}")
        else:
            _, stage, code = outcome
            counts[f"{stage}/{code}"] += 1
            if code not in CODES.get(stage, ()):
                failures.append(f"{name}: unknown code {stage}/{code}")
            if expect == "ok":
                failures.append(f"{name}: expected a page, got {stage}/{code}")
    print(f"\nrobustness outcomes: {dict(sorted(counts.items()))}; slowest {slowest[0]:.1f} s ({slowest[1]}); "
          f"peak renderer RSS {peak_mb} MB", file=sys.stderr)
    assert not failures, "\n".join(failures)
    assert counts["ok"] >= sum(e["expect"] == "ok" for e in manifest)
    assert peak_mb < LIMITS.worker_memory_mb


# --- the sandbox itself ----------------------------------------------------------------------

def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _hog(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def _raise_coded() -> None:
    raise DocprocError("render", "render_failed", "page 3")


def test_sandbox_returns_values_and_coded_errors():
    assert sandbox.call_in_child(_sleep, 0, timeout_s=10, memory_mb=512) == "woke"
    with pytest.raises(DocprocError) as info:
        sandbox.call_in_child(_raise_coded, timeout_s=10, memory_mb=512)
    assert (info.value.stage, info.value.code, info.value.message) == ("render", "render_failed", "page 3")


def test_sandbox_kills_a_hang_on_time():
    start = time.monotonic()
    with pytest.raises(sandbox.SandboxTimeout):
        sandbox.call_in_child(_sleep, 30, timeout_s=0.5, memory_mb=512)
    assert time.monotonic() - start < 3


def test_sandbox_survives_a_crash_and_caps_memory():
    with pytest.raises(sandbox.SandboxCrash):
        sandbox.call_in_child(os.kill, 0, signal.SIGKILL, timeout_s=10, memory_mb=512)
    # 6 GB cannot fit under the cap (the parent's own mappings plus 256 MB at most over 1 GB)
    with pytest.raises(sandbox.SandboxCrash):
        sandbox.call_in_child(_hog, 6000, timeout_s=20, memory_mb=1024)


def test_run_command_caps_and_times_out():
    done = sandbox.run_command(["sh", "-c", "ulimit -v"], timeout_s=10, memory_mb=300)
    assert int(done.stdout) == 300 * 1024
    start = time.monotonic()
    with pytest.raises(sandbox.SandboxTimeout):
        sandbox.run_command(["sleep", "30"], timeout_s=0.5, memory_mb=300)
    assert time.monotonic() - start < 3
