"""Scripts PP-OCR cannot read: find them, and read those lines with Tesseract.

PP-OCR's bundled multilingual recognizer has no Cyrillic: on a Russian line it returns
blanks (or a few digits and stray Greek letters). rapid.py keeps such text boxes as
`suspects`; here all suspects of a page are stacked into ONE image and read by ONE
Tesseract call (process start and language loading dominate Tesseract's cost on small
inputs), then each line's words are mapped back to page coordinates. Latin pages
usually have no suspects, so they pay nothing.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import numpy as np
from PIL import Image

from docproc.document import Word
from docproc.errors import DocprocError
from docproc.ocr.base import relative_bbox

TARGET_HEIGHT = 40  # px of a line in the stacked image; Tesseract reads 20-40 px glyphs best
GAP = 24  # px of white between stacked lines
MIN_MEAN_CONF = 60.0  # mean Tesseract confidence (0-100) a line needs to be kept (real Russian: ~90)


def letter_script(ch: str) -> str | None:
    """'latin', 'cyrillic', 'greek', 'other' for a letter; None for anything else."""
    if not ch.isalpha():
        return None
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "other"
    for script in ("LATIN", "CYRILLIC", "GREEK"):
        if name.startswith(script):
            return script.lower()
    return "other"


def script_counts(texts) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        for ch in text:
            s = letter_script(ch)
            if s:
                counts[s] += 1
    return counts


def dominant_script(words: list[Word]) -> str:
    counts = script_counts(w.text for w in words)
    return counts.most_common(1)[0][0] if counts else "latin"


def fallback_languages(languages: str) -> str:
    """Cyrillic first: Tesseract treats the first language as the primary one."""
    langs = [lang for lang in languages.split("+") if lang]
    if "rus" in langs:
        langs.remove("rus")
    return "+".join(["rus", *langs])


def _stack(gray: np.ndarray, quads: list[np.ndarray]):
    """Crop each quad's box, scale it to TARGET_HEIGHT, stack the crops vertically."""
    h_img, w_img = gray.shape
    placed = []  # (x0, y0 of crop on the page, scale, y offset in the stack, height in stack)
    tiles = []
    y = GAP
    for quad in quads:
        x0, y0 = quad[:, 0].min(), quad[:, 1].min()
        x1, y1 = quad[:, 0].max(), quad[:, 1].max()
        pad = 0.15 * (y1 - y0)
        x0, y0 = int(max(0, x0 - pad)), int(max(0, y0 - pad))
        x1, y1 = int(min(w_img, x1 + pad)), int(min(h_img, y1 + pad))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        crop = Image.fromarray(gray[y0:y1, x0:x1])
        scale = min(3.0, max(0.5, TARGET_HEIGHT / crop.height))
        crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))))
        tiles.append((crop, y))
        placed.append((x0, y0, scale, y, crop.height))
        y += crop.height + GAP
    if not tiles:
        return None, []
    width = max(t.width for t, _ in tiles) + 2 * GAP
    canvas = Image.new("L", (width, y), 255)
    for tile, ty in tiles:
        canvas.paste(tile, (GAP, ty))
    return canvas, placed


def read_suspects(
    image: Image.Image, quads: list[np.ndarray], languages: str, timeout_s: float, first_segment: int
) -> list[Word]:
    """Read the suspect text boxes with Tesseract; keep Cyrillic lines and confident others."""
    from docproc.ocr.tesseract import image_to_data

    gray = np.asarray(image.convert("L"))
    canvas, placed = _stack(gray, quads)
    if canvas is None:
        return []
    try:
        data = image_to_data(canvas, fallback_languages(languages), "--psm 6", max(1.0, timeout_s))
    except RuntimeError as exc:  # pytesseract raises RuntimeError on its timeout
        raise DocprocError("ocr", "ocr_timeout", f"tesseract fallback over {timeout_s:.0f}s") from exc
    per_tile: dict[int, list[tuple[str, float, list]]] = {}
    starts = [p[3] for p in placed]
    for text, conf, left, top, w, h in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"]
    ):
        text = (text or "").strip()
        if not text or float(conf) < 0:
            continue
        cy = top + h / 2
        k = int(np.searchsorted(starts, cy, side="right")) - 1
        if k < 0:
            continue
        x0, y0, scale, ty, _ = placed[k]
        px0 = x0 + (left - GAP) / scale
        py0 = y0 + (top - ty) / scale
        quad = [[px0, py0], [px0 + w / scale, py0 + h / scale]]
        per_tile.setdefault(k, []).append((text, float(conf), quad))

    words: list[Word] = []
    for k in sorted(per_tile):
        tile_words = per_tile[k]
        counts = script_counts(t for t, _, _ in tile_words)
        mean_conf = sum(c for _, c, _ in tile_words) / len(tile_words)
        if mean_conf < MIN_MEAN_CONF or counts["other"] + counts["greek"] > counts["cyrillic"] + counts["latin"]:
            continue  # noise, stamps, or a script neither engine knows
        for text, conf, quad in tile_words:
            words.append(Word(
                text=text,
                bbox=relative_bbox(quad, image.width, image.height),
                confidence=round(conf / 100.0, 4),
                segment=first_segment + k,
                source="tesseract",
            ))
    return words
