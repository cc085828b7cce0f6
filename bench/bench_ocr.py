"""Seconds per page for OCR (det / cls / rec / script fallback) and layout, against bare Tesseract.

    .venv/bin/python bench/bench_ocr.py [--pages 20] [--no-tesseract]

Runs over the first N pages of ../shared/eval/sroie_receipts and funsd_forms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from PIL import Image

from docproc.document import Page
from docproc.layout import analyze_page
from docproc.ocr import get_engine, ocr_page
from docproc.ocr.tesseract import TesseractEngine
from docproc.options import LayoutOptions, Limits, OcrOptions

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "eval"


def bench(dataset: str, n: int, tesseract: bool, show: int) -> dict:
    rows = [json.loads(x) for x in (SHARED / dataset / "manifest.jsonl").read_text().splitlines() if x.strip()][:n]
    ocr_opts, limits, lay = OcrOptions(), Limits(), LayoutOptions()
    stages: dict[str, list[float]] = {}
    tess = TesseractEngine("eng")
    for k, row in enumerate(rows):
        img = Image.open(SHARED / dataset / row["file"]).convert("RGB")
        t0 = time.perf_counter()
        res = ocr_page(img, ocr_opts, limits)
        t1 = time.perf_counter()
        page = Page(number=1, width=img.width, height=img.height, text_source="ocr", words=res.words)
        page = analyze_page(page, img, lay)
        t2 = time.perf_counter()
        for key, v in res.timings.items():
            stages.setdefault(key, []).append(v)
        stages.setdefault("ocr_total", []).append(t1 - t0)
        stages.setdefault("layout", []).append(t2 - t1)
        stages.setdefault("end_to_end", []).append(t2 - t0)
        if tesseract:
            t3 = time.perf_counter()
            tess.detect(img)
            stages.setdefault("bare_tesseract", []).append(time.perf_counter() - t3)
        if k < show:
            print(f"--- {row['id']} expected {row.get('expected', {}).get('date')} "
                  f"{row.get('expected', {}).get('total')}\n{page.text[:600]}")
    return {key: round(statistics.mean(v), 3) for key, v in stages.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--no-tesseract", action="store_true")
    ap.add_argument("--show", type=int, default=0, help="print the text of the first N pages")
    args = ap.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"no eval data at {SHARED}")
    get_engine(OcrOptions())  # model loading is not per page
    warm = Image.new("RGB", (400, 300), "white")
    analyze_page(Page(number=1, width=400, height=300, text_source="ocr"), warm, LayoutOptions())
    ocr_page(warm, OcrOptions(), Limits())
    for dataset in ("sroie_receipts", "funsd_forms"):
        print(dataset, "seconds/page:", bench(dataset, args.pages, not args.no_tesseract, args.show), flush=True)


if __name__ == "__main__":
    main()
