"""Developer tool: degraded copies of a dataset's scanned pages, with the same ground truth, to
see how the readers hold up on scans worse than the dev set's (the documents a user sends that
nobody has scored). Copies go to OUT (never into the repository: the dataset's files are third
parties'); then extract and score them as any dataset:

    .venv/bin/python scripts/degrade.py ../shared/eval/cms1500_claims /tmp/cms_degraded
    .venv/bin/docproc extract /tmp/cms_degraded/docs --schema cms1500 -o /tmp/cms_degraded_out
    .venv/bin/docproc eval /tmp/cms_degraded /tmp/cms_degraded_out

Each page image gets every variant (skew both ways, blur, lower resolution, noise, JPEG
artefacts, faint print, blur at lower resolution). PDFs are skipped: their text layer does not
degrade.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def _scaled(img: Image.Image, factor: float) -> Image.Image:
    return img.resize((round(img.width * factor), round(img.height * factor)), Image.BILINEAR)


VARIANTS = {
    "rot+1.5": lambda img: img.rotate(1.5, resample=Image.BICUBIC, fillcolor=255),
    "rot-2.5": lambda img: img.rotate(-2.5, resample=Image.BICUBIC, fillcolor=255),
    "rot+0.8": lambda img: img.rotate(0.8, resample=Image.BICUBIC, fillcolor=255),
    "rot-1.2": lambda img: img.rotate(-1.2, resample=Image.BICUBIC, fillcolor=255),
    "blur": lambda img: img.filter(ImageFilter.GaussianBlur(1.2)),
    "lowres": lambda img: _scaled(img, 2 / 3),
    "noise": lambda img: Image.fromarray(np.clip(
        np.asarray(img).astype(np.int16) + np.random.default_rng(1).normal(0, 25, (img.height, img.width)),
        0, 255).astype(np.uint8)),
    "jpeg20": lambda img: _jpeg(img, 20),
    "faint": lambda img: ImageEnhance.Contrast(img).enhance(0.45),
    "blurlow": lambda img: _scaled(img.filter(ImageFilter.GaussianBlur(0.8)), 3 / 4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    args = parser.parse_args()
    chosen = [v for v in args.variants.split(",") if v]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    (args.out / "docs").mkdir(parents=True, exist_ok=True)
    manifest = []
    for line in (args.dataset / "manifest.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        path = args.dataset / entry["file"]
        if path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".tif", ".tiff"}:
            continue
        with Image.open(path) as src:
            img = src.convert("L")
        for name in chosen:
            stem = f"{entry['id']}_{name}"
            VARIANTS[name](img).save(args.out / "docs" / f"{stem}.png")
            manifest.append({**entry, "id": stem, "file": f"docs/{stem}.png"})
    (args.out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    print(f"{len(manifest)} degraded pages in {args.out}")


if __name__ == "__main__":
    main()
