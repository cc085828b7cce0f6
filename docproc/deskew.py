"""Skewed scans: straighten the words' geometry for reading, map result boxes back.

A page scanned a degree or two askew puts one printed row's words at different heights
(1 degree is 17 px over 1,000 px, more than a line of small print), so the layout's lines and
the rules' "same row" / "below" tests mix rows. OCR measures the skew (PP-OCR's text boxes
are rotated rectangles, `boxes_skew`; other engines' lines of axis-aligned word boxes,
`words_skew`); every word box then moves up or down
by the line's drift at its centre, a shear that for a few degrees is the rotation's vertical
part and keeps the boxes' sizes. The page keeps the angle (`Page.skew`), so the boxes in the
result are mapped back to the image the user has.
"""

from __future__ import annotations

import math
import statistics
from typing import Iterable

from pydantic import BaseModel

from docproc.document import BBox, Word

# Below this many degrees the page is read as it is (rows drift less than a pixel per 100 px).
MIN_SKEW = 0.3
# Beyond this the page is turned, not skewed: no straightening (the shear would distort it).
MAX_SKEW = 15.0


# Enough long lines on a page to tell its skew.
MIN_LINES = 5
# A rotated text box counts when it is a long line (its angle is then measured well).
BOX_MIN_ASPECT = 4.0
# A line of axis-aligned words counts when several words span a long stretch of the row.
LINE_MIN_WORDS = 3
LINE_MIN_ASPECT = 6.0


def boxes_skew(quads) -> float | None:
    """Degrees the rows lean (+: falling to the right), from rotated text boxes (PP-OCR's
    detector): the median angle of the long boxes' top edges. None: too few long lines."""
    angles = []
    for q in quads:
        dx, dy = float(q[1][0] - q[0][0]), float(q[1][1] - q[0][1])
        width = math.hypot(dx, dy)
        height = math.hypot(float(q[2][0] - q[1][0]), float(q[2][1] - q[1][1]))
        if height > 0 and width >= BOX_MIN_ASPECT * height and dx > 0:
            angles.append(math.degrees(math.atan2(dy, dx)))
    return _median(angles)


def words_skew(words: Iterable[Word], width: float, height: float) -> float | None:
    """Degrees the rows lean (+: falling to the right), from engines that give axis-aligned
    word boxes grouped into lines (`Word.segment`, as Tesseract's): the median over long lines
    of the least-squares slope of their words' centres. None: too few long lines to tell."""
    lines: dict[int, list[tuple[float, float, float]]] = {}
    for w in words:
        if w.segment is not None:
            x0, y0, x1, y1 = w.bbox
            lines.setdefault(w.segment, []).append(((x0 + x1) / 2 * width, (y0 + y1) / 2 * height,
                                                    (y1 - y0) * height))
    angles = []
    for pts in lines.values():
        if len(pts) < LINE_MIN_WORDS:
            continue
        xs = [p[0] for p in pts]
        span, tall = max(xs) - min(xs), sorted(p[2] for p in pts)[len(pts) // 2]
        if tall <= 0 or span < LINE_MIN_ASPECT * tall:
            continue
        mx, my = sum(xs) / len(xs), sum(p[1] for p in pts) / len(pts)
        slope = sum((x - mx) * (p[1] - my) for x, p in zip(xs, pts)) / sum((x - mx) ** 2 for x in xs)
        angles.append(math.degrees(math.atan(slope)))
    return _median(angles)


def _median(angles: list[float]) -> float | None:
    if len(angles) < MIN_LINES:
        return None
    return float(statistics.median(angles))


def worth_straightening(skew: float | None) -> bool:
    return skew is not None and MIN_SKEW <= abs(skew) <= MAX_SKEW


def _slope(skew: float, aspect: float) -> float:
    """Relative y drift per relative x; `aspect` is the page's width / height."""
    return math.tan(math.radians(skew)) * aspect


def straighten_bbox(bbox: BBox, skew: float, aspect: float) -> BBox:
    """A box of the image moved up or down by the drift of a row skewed by `skew` degrees at
    the box's centre (its place on a straight page)."""
    x0, y0, x1, y1 = bbox
    dy = _slope(skew, aspect) * ((x0 + x1) / 2 - 0.5)
    return (x0, _clamp(y0 - dy), x1, _clamp(y1 - dy))


def straighten_words(words: Iterable[Word], skew: float, aspect: float) -> list[Word]:
    """The words with their boxes shifted so that rows skewed by `skew` degrees come out level."""
    return [w.model_copy(update={"bbox": straighten_bbox(w.bbox, skew, aspect)}) for w in words]


def restore_bbox(bbox: BBox, skew: float, aspect: float) -> BBox:
    """The box in the image's frame that holds everything `bbox` (straightened frame) holds.

    Each word in it was straightened by the drift at its own centre, somewhere between the
    drifts at the box's two edges; the box grows by both, so it holds every one of them (a
    single word's box grows by half the drift across its width, up and down)."""
    x0, y0, x1, y1 = bbox
    slope = _slope(skew, aspect)
    left, right = slope * (x0 - 0.5), slope * (x1 - 0.5)
    return (x0, _clamp(y0 + min(left, right)), x1, _clamp(y1 + max(left, right)))


def restore_point(x: float, y: float, skew: float, aspect: float) -> float:
    """Where a point of the straightened frame at (x, y) lies on the image: its y there."""
    return _clamp(y + _slope(skew, aspect) * (x - 0.5))


def restore_boxes(model: BaseModel, pages: dict[int, tuple[float, float]]) -> None:
    """Map, in place, every box of a result object (fields, key-value pairs, line items, at
    any depth) back to its page image; `pages` gives each skewed page's (skew, aspect)."""
    if not pages:
        return
    for item in _models(model):
        page = getattr(item, "page", None)
        if page not in pages:
            continue
        skew, aspect = pages[page]
        for name in ("bbox", "key_bbox", "value_bbox"):
            box = getattr(item, name, None)
            if box is not None:
                setattr(item, name, restore_bbox(box, skew, aspect))


def _models(obj) -> Iterable[BaseModel]:
    if isinstance(obj, BaseModel):
        yield obj
        for name in type(obj).model_fields:
            yield from _models(getattr(obj, name))
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _models(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _models(x)


def _clamp(v: float) -> float:
    return min(max(v, 0.0), 1.0)
