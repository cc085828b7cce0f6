"""Developer tool for tuning readers: run the page stages (render, text layer, OCR, layout) once
per dataset and keep each Document as JSON, then re-run only the reader over the cache.

    .venv/bin/python scripts/doccache.py build ../shared/eval/sroie_receipts /tmp/doccache/sroie
    .venv/bin/python scripts/doccache.py read  ../shared/eval/sroie_receipts /tmp/doccache/sroie OUT --schema receipt
    .venv/bin/docproc eval ../shared/eval/sroie_receipts OUT

`read` writes the same result files `docproc extract` would, so `docproc eval` scores them.
Final numbers must still come from `docproc extract` (the cache goes stale when OCR changes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pebble import ProcessPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docproc import pipeline, readers  # noqa: E402
from docproc.batch import write_result  # noqa: E402
from docproc.document import Document, ErrorRecord  # noqa: E402
from docproc.errors import DocprocError  # noqa: E402
from docproc.options import OcrOptions, PipelineOptions  # noqa: E402


def _manifest(dataset: Path) -> list[dict]:
    return [json.loads(l) for l in (dataset / "manifest.jsonl").read_text().splitlines() if l.strip()]


def _build_one(path: str, out: str, runtime: str) -> str:
    options = PipelineOptions(ocr=OcrOptions(runtime=runtime))
    try:
        source = pipeline.open_source(path, options)
        doc = Document(source=source, pages=pipeline.process_pages(source, options))
        Path(out).write_text(doc.model_dump_json())
        return "ok"
    except DocprocError as exc:
        Path(out).write_text(json.dumps({"error": exc.to_dict()}))
        return exc.code


def build(dataset: Path, cache: Path, workers: int, runtime: str) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    todo = [(str(dataset / l["file"]), str(cache / f"{Path(l['file']).stem}.json")) for l in _manifest(dataset)]
    todo = [t for t in todo if not Path(t[1]).exists()]
    with ProcessPool(max_workers=workers) as pool:
        futures = [pool.schedule(_build_one, args=(*t, runtime), timeout=600) for t in todo]
        for (path, _), fut in zip(todo, futures):
            try:
                status = fut.result()
            except Exception as exc:  # noqa: BLE001
                status = type(exc).__name__
            print(f"{Path(path).name}: {status}", flush=True)


def read(dataset: Path, cache: Path, out: Path, schema: str | None, reader: str, semantic_labels: bool) -> None:
    import time

    from docproc.options import ReaderOptions

    options = PipelineOptions(schema=schema, reader=ReaderOptions(kind=reader, semantic_labels=semantic_labels))
    readers.get_reader(options.reader)  # models load before the clock starts
    spent, pages = 0.0, 0
    for line in _manifest(dataset):
        stem = Path(line["file"]).stem
        data = json.loads((cache / f"{stem}.json").read_text())
        path = str(dataset / line["file"])
        if "error" in data:
            result = pipeline.build_result(path, None, None, options, errors=[ErrorRecord(**data["error"])])
        else:
            doc = Document.model_validate(data)
            start = time.perf_counter()
            extraction = pipeline.read_document(doc, options)
            spent, pages = spent + time.perf_counter() - start, pages + len(doc.pages)
            result = pipeline.build_result(path, doc, extraction, options)
        write_result(result, out / f"{stem}.json")
    print(f"reader: {spent:.2f} s over {pages} pages ({spent / max(pages, 1):.4f} s/page)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("dataset", type=Path)
    b.add_argument("cache", type=Path)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--ocr-runtime", default="auto", choices=["auto", "onnxruntime", "openvino-det", "openvino"])
    r = sub.add_parser("read")
    r.add_argument("dataset", type=Path)
    r.add_argument("cache", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--schema")
    r.add_argument("--reader", default="rules")
    r.add_argument("--semantic-labels", action="store_true")
    args = parser.parse_args()
    if args.cmd == "build":
        build(args.dataset, args.cache, args.workers, args.ocr_runtime)
    else:
        read(args.dataset, args.cache, args.out, args.schema, args.reader, args.semantic_labels)


if __name__ == "__main__":
    main()
