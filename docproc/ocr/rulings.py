"""Ruled lines of a scanned page, found in the page image: answer lines, box borders, underlines.

A form draws what OCR does not read: the line an answer is typed on, the border of the box a
label and its answer share, the rule between a table's headings and its rows. The form-link
model (docproc.readers.rules.form_links) weighs them beside the text boxes: an answer on a
line of its own, a heading and a cell with a rule between them.

A rule is a run of ink at least three text lines long (horizontal) or one and a half
(vertical: a table row's border), thinner than half a text line (thicker is a solid block).
Pieces of one rule that the scan broke are joined. Rules are found on the page sheared the way
its words were straightened (docproc.deskew), so they share the words' frame.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from docproc.document import Ruling, Word
from docproc.ocr.marks import SOURCE as MARKS_SOURCE

MIN_HORIZONTAL = 3.0  # text line heights
MIN_VERTICAL = 1.5
MAX_THICKNESS = 0.5  # text line heights
JOIN_GAP = 2.0  # text line heights between two pieces of one rule
JOIN_OFFSET = 0.4  # text line heights two pieces of one rule may stand apart across it
MAX_PIECES = 500  # per orientation, longest first (joining them is quadratic; a FUNSD form has under 80)
MAX_RULINGS = 400  # per page


def find_rulings(image: Image.Image, words: list[Word], skew: float = 0.0) -> list[Ruling]:
    """The page's horizontal and vertical rules, page-relative, in the frame of its `words`
    (already straightened by `skew` degrees); none on a page without words (nothing to relate
    them to, and no text line height to measure them by)."""
    import cv2

    heights = [w.bbox[3] - w.bbox[1] for w in words if w.source != MARKS_SOURCE]
    if not heights:
        return []
    gray = np.asarray(image.convert("L"))
    page_h, page_w = gray.shape
    line_px = max(float(np.median(heights)) * page_h, 4.0)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if skew:
        # The words were moved up or down by the drift of a skewed row at their centre
        # (deskew.straighten_bbox): the same shear levels the rules. Sheared as ink, not gray:
        # interpolation would spread a thin rule over two pixel rows, too faint for either.
        t = math.tan(math.radians(skew))
        shear = np.float32([[1, 0, 0], [-t, 1, t * page_w / 2]])
        ink = cv2.warpAffine(ink, shear, (page_w, page_h), flags=cv2.INTER_NEAREST, borderValue=0)
    out: list[Ruling] = []
    for horizontal in (True, False):
        pieces = _pieces(ink, line_px, horizontal)
        for x0, y0, x1, y1 in _join(pieces, line_px, horizontal):
            out.append(Ruling(orientation="horizontal" if horizontal else "vertical",
                              bbox=(x0 / page_w, y0 / page_h, x1 / page_w, y1 / page_h)))
    if len(out) > MAX_RULINGS:
        out.sort(key=lambda r: -max(r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]))
        out = out[:MAX_RULINGS]
    return out


def _pieces(ink: np.ndarray, line_px: float, horizontal: bool) -> list[list[float]]:
    """Runs of ink along one direction, long and thin enough to be rules, as pixel boxes."""
    import cv2

    length = int(max((MIN_HORIZONTAL if horizontal else MIN_VERTICAL) * line_px, 12))
    bridge = int(max(line_px, 2))
    along = (length, 1) if horizontal else (1, length)
    across = (bridge, 1) if horizontal else (1, bridge)
    # A thin rule a little off level steps by a pixel now and then: thickened by a pixel each
    # side first, its steps stay one run.
    thick = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3) if horizontal else (3, 1)))
    runs = cv2.morphologyEx(thick, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, along))
    runs = cv2.morphologyEx(runs, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, across))
    n, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    out = []
    for x, y, w, h, _area in stats[1:n].tolist():
        if (h if horizontal else w) <= MAX_THICKNESS * line_px:
            out.append([float(x), float(y), float(x + w), float(y + h)])
    out.sort(key=lambda b: -(b[2] - b[0] if horizontal else b[3] - b[1]))
    return out[:MAX_PIECES]


def _join(pieces: list[list[float]], line_px: float, horizontal: bool) -> list[list[float]]:
    """Pieces of one rule joined: in line with each other and a short gap apart."""
    a, b = (0, 1) if horizontal else (1, 0)  # along, across (box coordinate offsets)
    pieces = sorted(pieces, key=lambda p: (p[a], p[b]))
    joined: list[list[float]] = []
    for p in pieces:
        for q in joined:
            offset = abs((q[b] + q[b + 2]) - (p[b] + p[b + 2])) / 2
            gap = max(p[a] - q[a + 2], q[a] - p[a + 2])
            if offset < JOIN_OFFSET * line_px and gap < JOIN_GAP * line_px:
                q[:] = [min(q[0], p[0]), min(q[1], p[1]), max(q[2], p[2]), max(q[3], p[3])]
                break
        else:
            joined.append(list(p))
    return joined
