"""Text-layer speed: pypdfium2 vs pdfplumber, and what the process isolation costs.

    .venv/bin/python bench/bench_textlayer.py [--sets kleister_nda,deepform_adbuy] [--docs 40]

For each document set (../shared/eval/<set>/docs) and library it runs sniff + read_text_layer
over every page of the first N PDFs and prints pages/s, and how many pages were trusted. It
then times pypdfium2 extraction called in this process against the same call through the
sandboxed child, and prints the difference per document (the isolation overhead).
Not a test: it asserts nothing and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docproc import sandbox, textlayer  # noqa: E402
from docproc.errors import DocprocError  # noqa: E402
from docproc.options import Limits, TextLayerOptions  # noqa: E402
from docproc.sources import sniff  # noqa: E402

SHARED_EVAL = REPO.parent / "shared" / "eval"


def _docs(name: str, limit: int) -> list[Path]:
    return sorted((SHARED_EVAL / name / "docs").glob("*.pdf"))[:limit]


def bench_library(files: list[Path], library: str) -> tuple[float, int, int, float]:
    """(pages/s for sniff + text layer, pages, trusted pages, seconds)."""
    options, limits = TextLayerOptions(library=library), Limits()
    pages = trusted = 0
    start = time.perf_counter()
    for path in files:
        try:
            source = sniff(str(path), limits)
            read = textlayer.read_text_layer(source, options, list(range(1, source.page_count + 1)))
        except DocprocError as exc:
            print(f"  {path.name}: {exc.code}")
            continue
        pages += len(read)
        trusted += sum(p.trusted for p in read.values())
    took = time.perf_counter() - start
    return pages / took, pages, trusted, took


def isolation_overhead(files: list[Path]) -> tuple[float, float]:
    """Median seconds per document: pypdfium2 in this process vs in the sandbox child."""
    direct, isolated = [], []
    for path in files:
        source = sniff(str(path), Limits())
        pages = list(range(1, source.page_count + 1))
        t0 = time.perf_counter()
        textlayer._extract_pdfium(source.path, pages)
        t1 = time.perf_counter()
        sandbox.call_in_child(textlayer._extract_pdfium, source.path, pages,
                              timeout_s=60, memory_mb=textlayer.MEMORY_MB)
        t2 = time.perf_counter()
        direct.append(t1 - t0)
        isolated.append(t2 - t1)
    return statistics.median(direct), statistics.median(isolated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="kleister_nda,deepform_adbuy")
    parser.add_argument("--docs", type=int, default=40, help="PDFs per set")
    args = parser.parse_args()
    if not SHARED_EVAL.exists():
        sys.exit(f"no evaluation data at {SHARED_EVAL}")
    for name in args.sets.split(","):
        files = _docs(name, args.docs)
        print(f"{name}: {len(files)} PDFs")
        for library in ("pypdfium2", "pdfplumber"):
            rate, pages, trusted, took = bench_library(files, library)
            print(f"  {library:10s} {rate:7.1f} pages/s  ({pages} pages in {took:.1f} s, {trusted} trusted)")
        direct, isolated = isolation_overhead(files)
        print(f"  isolation: median {1000 * direct:.1f} ms/doc in process, {1000 * isolated:.1f} ms/doc "
              f"in child -> overhead {1000 * (isolated - direct):.1f} ms/doc")


if __name__ == "__main__":
    main()
