"""Seconds per page for OCR (det / cls / rec / script fallback) and layout, against bare Tesseract.

    .venv/bin/python bench/bench_ocr.py [--pages 20] [--no-tesseract]
    .venv/bin/python bench/bench_ocr.py --pages 20 --variants \
        '{"old": {"det": 736, "batch": 16, "min_width": 320}, "new": {}}'

Runs over the first N pages of ../shared/eval/sroie_receipts and funsd_forms. `--variants`
compares PP-OCR settings back to back on each page (so machine load hits all alike): wall
and CPU seconds per page, det/rec time, and the share of ground-truth tokens the words hold
(vendor/address/total for receipts, keys and values for forms) as an accuracy guard.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from docproc.document import Page
from docproc.layout import analyze_page
from docproc.ocr import get_engine, ocr_page, rapid
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


def _gt_tokens(dataset: str, expected: dict) -> list[str]:
    if dataset == "sroie_receipts":
        values = [str(expected.get(k) or "") for k in ("vendor_name", "vendor_address", "total")]
    else:
        values = [v for p in expected.get("pairs", []) for v in (p["key"], p["value"])]
    return [t for v in values for t in re.split(r"[\s,;:]+", v.upper()) if len(t) > 1]


def _token_hits(words, tokens: list[str]) -> int:
    have = Counter(t for w in words for t in re.split(r"[\s,;:]+", w.text.upper()))
    hits = 0
    for t in tokens:
        if have[t] > 0:
            have[t] -= 1
            hits += 1
    return hits


def bench_variants(dataset: str, n: int, variants: dict[str, dict]) -> None:
    engines = {}
    for name, v in variants.items():
        params = rapid.build_params(v.get("threads", 0))
        params["Det.limit_side_len"] = v.get("det", rapid.DET_LIMIT_SIDE_LEN)
        params["Rec.rec_batch_num"] = v.get("batch", rapid.REC_BATCH)
        params["Rec.rec_img_shape"] = [3, 48, v.get("min_width", rapid.REC_MIN_WIDTH)]
        engines[name] = rapid.RapidOcrEngine(params=params)
    rows = [json.loads(x) for x in (SHARED / dataset / "manifest.jsonl").read_text().splitlines() if x.strip()][:n]
    stats = {k: Counter() for k in engines}
    for row in rows:
        img = Image.open(SHARED / dataset / row["file"]).convert("RGB")
        tokens = _gt_tokens(dataset, row.get("expected", {}))
        for name, engine in engines.items():
            c0, t0 = time.process_time(), time.perf_counter()
            read = engine.read(img)
            st = stats[name]
            st["wall"] += time.perf_counter() - t0
            st["cpu"] += time.process_time() - c0
            st["det"] += read.timings["det"]
            st["rec"] += read.timings["rec"]
            st["hits"] += _token_hits(read.words, tokens)
            st["tokens"] += len(tokens)
    for name, st in stats.items():
        print(f"{dataset} {name:12} wall {st['wall'] / n:.3f} cpu {st['cpu'] / n:.3f} det {st['det'] / n:.3f} "
              f"rec {st['rec'] / n:.3f} s/page  token recall {st['hits'] / max(1, st['tokens']):.4f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--no-tesseract", action="store_true")
    ap.add_argument("--show", type=int, default=0, help="print the text of the first N pages")
    ap.add_argument("--variants", help="JSON {name: {det, batch, min_width, threads}} to compare back to back")
    args = ap.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"no eval data at {SHARED}")
    if args.variants:
        for dataset in ("sroie_receipts", "funsd_forms"):
            bench_variants(dataset, args.pages, json.loads(args.variants))
        return
    get_engine(OcrOptions())  # model loading is not per page
    warm = Image.new("RGB", (400, 300), "white")
    analyze_page(Page(number=1, width=400, height=300, text_source="ocr"), warm, LayoutOptions())
    ocr_page(warm, OcrOptions(), Limits())
    for dataset in ("sroie_receipts", "funsd_forms"):
        print(dataset, "seconds/page:", bench(dataset, args.pages, not args.no_tesseract, args.show), flush=True)


if __name__ == "__main__":
    main()
