"""Selection marks: ticked check boxes on a scanned page, found in the page image.

OCR reads the words beside a check box but not the box: a small printed square is no glyph
to PP-OCR's detector. Forms answer "ORIGINAL / CORRECTED" or "Yes / No" with a tick in such a
box, so without the box the answer is lost. Textract and Azure Document Intelligence report
these as selection marks; here a ticked box becomes a word "☑" (U+2611) at the box, which the
form rules pair with the option printed beside it like a typed "X".

A check box is a closed square about as tall as a line of text, drawn with a thin border, that
no OCR word covers. It is ticked when its inside holds ink (an X, a check mark, a blot) and
empty otherwise; only ticked boxes become words (an empty box answers nothing).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from docproc.document import Word

SELECTED = "\u2611"
SOURCE = "marks"
# A box's side against the page's median word height (OCR word boxes include some padding).
MIN_SIDE, MAX_SIDE = 0.35, 1.1
MAX_ASPECT = 1.35  # width/height (and height/width): a square, not a bar or a letter
BORDER_INK = 0.85  # share of each side's border pixels that are ink
INSIDE_TICKED = 0.18  # share of the inner pixels that are ink in a ticked box
INSIDE_SOLID = 0.9  # a solid square is a bullet or a punch mark, not a ticked box
AROUND_INK = 0.35  # most of a box's surroundings are paper (not a hole in a dark or halftone area)
MAX_MARKS = 200  # a page with more "boxes" is a grid or halftone, not a form's check boxes


def find_selection_marks(image: Image.Image, words: list[Word], first_segment: int) -> list[Word]:
    """Words "☑" for the ticked check boxes of a page, each its own segment from `first_segment`."""
    import cv2

    heights = [w.bbox[3] - w.bbox[1] for w in words if w.source != SOURCE]
    if not heights:
        return []
    gray = np.asarray(image.convert("L"))
    page_h, page_w = gray.shape
    line_px = float(np.median(heights)) * page_h
    lo, hi = MIN_SIDE * line_px, MAX_SIDE * line_px
    if lo < 5:  # boxes under 5 px cannot be told from letters
        lo = 5
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (lo <= w <= hi and lo <= h <= hi) or max(w / h, h / w) > MAX_ASPECT:
            continue
        if _ticked_box(ink[y:y + h, x:x + w]) and _stands_alone(ink, x, y, w, h):
            boxes.append((x, y, x + w, y + h))
    boxes = _outermost(boxes)
    if len(boxes) > MAX_MARKS:
        return []
    covered = [w.bbox for w in words]
    out = []
    for x0, y0, x1, y1 in boxes:
        bbox = (x0 / page_w, y0 / page_h, x1 / page_w, y1 / page_h)
        if any(_inside_share(bbox, other) > 0.5 for other in covered):
            continue  # part of a word OCR read ("O", "D", a boxed letter)
        out.append(Word(text=SELECTED, bbox=bbox, confidence=0.9,
                        segment=first_segment + len(out), source=SOURCE))
    return out


def _ticked_box(patch: np.ndarray) -> bool:
    """A square border on all four sides, and ink inside it."""
    h, w = patch.shape
    t = max(1, round(min(h, w) * 0.15))  # border band: a stroke of 1-2 px at 100 dpi
    # Per side, the share of its length with ink somewhere across the band.
    across = (patch[:t].max(axis=0), patch[-t:].max(axis=0), patch[:, :t].max(axis=1), patch[:, -t:].max(axis=1))
    if min(float(side.mean()) for side in across) < BORDER_INK:
        return False
    inner = patch[t + 1:h - t - 1, t + 1:w - t - 1]
    return inner.size > 0 and INSIDE_TICKED <= float(inner.mean()) < INSIDE_SOLID


def _stands_alone(ink: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """The ring of pixels around the box is mostly paper."""
    m = max(2, round(0.3 * min(w, h)))
    y0, y1 = max(0, y - m), min(ink.shape[0], y + h + m)
    x0, x1 = max(0, x - m), min(ink.shape[1], x + w + m)
    outer = ink[y0:y1, x0:x1]
    ring = float(outer.sum()) - float(ink[y:y + h, x:x + w].sum())
    area = outer.size - w * h
    return area > 0 and ring / area <= AROUND_INK


def _outermost(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Drop boxes inside another (a tick's own closed loops within its box)."""
    unique = sorted(set(boxes))  # a ring's outer and inner outline may give the same rectangle
    return [b for b in unique
            if not any(o != b and o[0] <= b[0] and o[1] <= b[1] and o[2] >= b[2] and o[3] >= b[3] for o in unique)]


def _inside_share(a, b) -> float:
    """Share of box a's area that lies inside box b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return w * h / area if w > 0 and h > 0 and area > 0 else 0.0
