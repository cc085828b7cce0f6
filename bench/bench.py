"""End-to-end benchmark: time per stage, pages/s, memory, and bare Tesseract for comparison.

    .venv/bin/python bench/bench.py [--sets sroie_receipts,kleister_nda] [--docs 20] [--leak 0]

Per document set (from ../shared/eval, or samples/ when that is absent) it runs the real
pipeline in this process (so per-stage times are not blurred by process start-up), prints the
mean time per page of each stage (sniff, text layer, render, OCR, layout, reader, write), the
median seconds per page and pages/s end to end, peak RSS, and for scanned sets the time of bare
Tesseract OCR (`pytesseract.image_to_string`) on the same pages, as a ratio. CPU seconds (user+sys
of this process and of its children) are printed beside wall time: load from other work on the
machine disturbs them less.
`--leak N` processes N documents in one process, all of the first set's files in turn (its
digital files for deepform_adbuy), and prints RSS after 1, 100, every 250 and N documents.
`--batch-workers N` (default 2) also runs the set the way `docproc extract` runs a folder: N
worker processes, one ONNX Runtime thread each (parallel across documents instead of inside one
model call), against N bare Tesseract processes limited to one thread each.
Not a test: it asserts nothing and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docproc import pipeline  # noqa: E402
from docproc.batch import write_result  # noqa: E402
from docproc.ocr.rapid import resolve_runtime  # noqa: E402
from docproc.options import LayoutOptions, OcrOptions, PipelineOptions  # noqa: E402

SHARED_EVAL = REPO.parent / "shared" / "eval"
STAGES = ["sniff", "text_layer", "render", "ocr", "ocr_det", "ocr_cls", "ocr_rec", "ocr_word_boxes", "ocr_script",
          "ocr_marks", "ocr_rulings", "layout", "reader", "write"]
SCANNED = {"sroie_receipts", "funsd_forms", "cms1500_claims"}
SCHEMAS = {"sroie_receipts": "receipt", "funsd_forms": "key_values", "kleister_nda": "nda", "cms1500_claims": "cms1500",
           "parsee_invoices": "invoice", "deepform_adbuy": str(REPO / "examples" / "schemas" / "adbuy.yaml"),
           "samples": "invoice"}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> tuple[float, float]:
    """(user+sys of this process, user+sys of its waited-for children: sandboxes, tesseract,
    poppler). CPU time is disturbed less than wall-clock time by other load on the machine."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime + _fork_server_cpu_s()


def _fork_server_cpu_s() -> float:
    """CPU of the sandbox's fork server and of the children it reaped (they are not ours)."""
    try:
        from docproc import forkserver
    except ImportError:  # a tree from before the fork server (before/after comparisons)
        return 0.0
    server = forkserver.current()
    if server is None:
        return 0.0
    try:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def dataset_files(name: str, limit: int, digital_only: bool = False) -> list[Path]:
    folder = REPO / "samples" if name == "samples" else SHARED_EVAL / name
    lines = [json.loads(l) for l in (folder / "manifest.jsonl").read_text().splitlines() if l.strip()]
    files = [folder / l["file"] for l in lines]
    if digital_only:
        files = [f for f in files if _has_text_layer(f)]
    return files[:limit]


def _has_text_layer(path: Path) -> bool:
    if path.suffix.lower() != ".pdf":
        return False
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
        text = pdf[0].get_textpage().get_text_range()
        return len(text.strip()) > 50
    except Exception:  # noqa: BLE001
        return False


def bench_set(name: str, files: list[Path], options: PipelineOptions) -> dict:
    stage_totals = {s: 0.0 for s in STAGES}
    per_page: list[float] = []
    pages = 0
    errors = 0
    first_doc_s = 0.0
    out_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    cpu_start = cpu_s()
    wall_start = time.perf_counter()
    for f in files:
        t0 = time.perf_counter()
        result = pipeline.run(f, options)
        t1 = time.perf_counter()
        write_result(result, out_dir / f"{f.stem}.json")
        t_write = time.perf_counter() - t1
        n = max(1, result.document.pages)
        pages += result.document.pages
        errors += result.status == "error"
        for s in STAGES:
            stage_totals[s] += result.timings.get(s, 0.0)
        stage_totals["write"] += t_write
        per_page.append((time.perf_counter() - t0) / n)
        if len(per_page) == 1:  # a slow first document means warm_up missed something
            first_doc_s = time.perf_counter() - t0
    wall = time.perf_counter() - wall_start
    cpu_end = cpu_s()
    return {
        "set": name, "documents": len(files), "pages": pages, "errors": errors,
        "stage_s_per_page": {s: round(v / max(1, pages), 4) for s, v in stage_totals.items() if v},
        "first_doc_s": round(first_doc_s, 3),
        "median_s_per_page": round(statistics.median(per_page), 3) if per_page else None,
        "pages_per_s": round(pages / wall, 2) if wall else None,
        "cpu_s_per_page": round((cpu_end[0] - cpu_start[0]) / max(1, pages), 4),
        "child_cpu_s_per_page": round((cpu_end[1] - cpu_start[1]) / max(1, pages), 4),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def _images(files: list[Path]) -> list[Path]:
    return [f for f in files if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff")]


def _tesseract_page(path: Path) -> None:
    import pytesseract
    from PIL import Image

    with Image.open(path) as im:
        pytesseract.image_to_string(im, lang="eng")


def bench_tesseract(files: list[Path]) -> tuple[float, float] | None:
    """(wall, CPU) seconds per page of bare Tesseract (eng) on the same images."""
    images = _images(files)
    if not images:
        return None
    c0 = cpu_s()
    t0 = time.perf_counter()
    for f in images:
        _tesseract_page(f)
    wall = (time.perf_counter() - t0) / len(images)
    cpu = sum(cpu_s()) - sum(c0)
    return wall, cpu / len(images)


def bench_batch(files: list[Path], options: PipelineOptions, workers: int) -> dict:
    """Throughput of a folder run: `workers` processes over the documents (docproc.batch)."""
    from docproc.batch import run_batch

    out_dir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    t0 = time.perf_counter()
    summary = run_batch(files, out_dir, options, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    pages = sum(json.loads(p.read_text())["document"]["pages"] for p in summary.outputs)
    # Pool start-up (model loading in each worker) is included: it is what a folder run pays.
    return {"workers": workers, "pages": pages, "s_per_page": round(wall / max(1, pages), 3),
            "pages_per_s": round(pages / wall, 2)}


def bench_tesseract_parallel(files: list[Path], workers: int) -> float | None:
    """Wall seconds per page of `workers` bare Tesseract processes, one OpenMP thread each."""
    from concurrent.futures import ThreadPoolExecutor

    images = _images(files)
    if not images:
        return None
    old = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"  # the tesseract child inherits it
    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(_tesseract_page, images))
        return (time.perf_counter() - t0) / len(images)
    finally:
        if old is None:
            os.environ.pop("OMP_THREAD_LIMIT", None)
        else:
            os.environ["OMP_THREAD_LIMIT"] = old


def leak_check(files: list[Path], options: PipelineOptions, n: int) -> dict:
    marks = {}
    for i in range(n):
        pipeline.run(files[i % len(files)], options)
        if i + 1 in (1, 100, n) or (i + 1) % 250 == 0:
            marks[i + 1] = round(rss_mb())
    return {"documents": n, "rss_mb_after": marks, "peak_rss_mb": round(peak_rss_mb())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="sroie_receipts,funsd_forms,kleister_nda,deepform_adbuy")
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--leak", type=int, default=0, help="documents for the RSS-growth check (0: skip)")
    parser.add_argument("--batch-workers", type=int, default=2,
                        help="also time a folder run with this many worker processes (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--ocr-runtime", default="auto", choices=["auto", "onnxruntime", "openvino-det", "openvino"],
                        help="PP-OCR runtime (auto: openvino-det on CPUs with AVX-512, else onnxruntime)")
    parser.add_argument("--ocr-precision", default="auto", choices=["auto", "native", "f32"],
                        help="PP-OCR precision on OpenVINO (see docproc.ocr.rapid.NATIVE_PRECISION)")
    parser.add_argument("--layout", default="auto", choices=["auto", "picodet", "geometry", "none"],
                        help="layout of OCR'd pages (geometry: no layout model, as born-digital pages)")
    args = parser.parse_args()

    def options_for(name: str) -> PipelineOptions:
        return PipelineOptions(schema=SCHEMAS.get(name), ocr=OcrOptions(runtime=args.ocr_runtime, precision=args.ocr_precision),
                               layout=LayoutOptions(kind=args.layout))

    sets = [s for s in args.sets.split(",") if s]
    if not SHARED_EVAL.exists():
        print(f"{SHARED_EVAL} not found: benchmarking samples/ instead")
        sets = ["samples"]
    rows = []
    for name in sets:
        digital_only = name == "deepform_adbuy"
        files = dataset_files(name, args.docs, digital_only)
        options = options_for(name)
        pipeline.warm_up(options)
        row = bench_set(name + (" (digital)" if digital_only else ""), files, options)
        if name in SCANNED:  # what `auto` stood for on this CPU
            row["ocr_runtime"] = resolve_runtime(args.ocr_runtime)
        if name in SCANNED:
            tess = bench_tesseract(files)
            if tess:
                row["tesseract_s_per_page"] = round(tess[0], 3)
                row["tesseract_cpu_s_per_page"] = round(tess[1], 3)
                row["ratio_to_tesseract"] = round(row["median_s_per_page"] / tess[0], 2)
                cpu = row["cpu_s_per_page"] + row["child_cpu_s_per_page"]
                row["cpu_ratio_to_tesseract"] = round(cpu / tess[1], 2)
        if args.batch_workers:
            batch = bench_batch(files, options, args.batch_workers)
            if name in SCANNED:
                tess_par = bench_tesseract_parallel(files, args.batch_workers)
                if tess_par:
                    batch["tesseract_s_per_page"] = round(tess_par, 3)
                    batch["ratio_to_tesseract"] = round(batch["s_per_page"] / tess_par, 2)
            row["batch"] = batch
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.leak:  # every file of the set, not just --docs: caches and arenas see new inputs
        files = dataset_files(sets[0], 1_000_000, digital_only=sets[0] == "deepform_adbuy")
        options = options_for(sets[0])
        leak = leak_check(files, options, args.leak)
        rows.append({"leak": leak})
        print(json.dumps(leak))

    print()
    print(f"{'set':28} {'docs':>5} {'pages':>5} {'s/page(med)':>11} {'pages/s':>8} {'cpu s/p':>8} {'peak MB':>8}"
          "  stages (s/page)")
    for r in rows:
        if "set" not in r:
            continue
        stages = " ".join(f"{k}={v}" for k, v in r["stage_s_per_page"].items())
        extra = (f"  tesseract={r['tesseract_s_per_page']} ratio={r['ratio_to_tesseract']} "
                 f"cpu_ratio={r['cpu_ratio_to_tesseract']}" if "ratio_to_tesseract" in r else "")
        extra += f"  ocr_runtime={r['ocr_runtime']}" if "ocr_runtime" in r else ""
        print(f"{r['set']:28} {r['documents']:5d} {r['pages']:5d} {r['median_s_per_page']!s:>11} "
              f"{r['pages_per_s']!s:>8} {r['cpu_s_per_page'] + r['child_cpu_s_per_page']:8.3f} "
              f"{r['peak_rss_mb']:8d}  {stages}{extra}")
        if "batch" in r:
            b = r["batch"]
            tess = (f"  tesseract x{b['workers']}={b['tesseract_s_per_page']} ratio={b['ratio_to_tesseract']}"
                    if "ratio_to_tesseract" in b else "")
            print(f"{'  folder run, ' + str(b['workers']) + ' workers':28} {'':5} {b['pages']:5d} "
                  f"{b['s_per_page']!s:>11} {b['pages_per_s']!s:>8}{tess}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
