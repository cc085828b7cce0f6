"""What a form's ruled lines say about a (label box, answer box) candidate of the link model.

An answer is typed on a line drawn for it; a label and its answer share a box; a rule between
a heading and a cell, or a border between a label and the next box on its row, parts them.
The rules come from the page image (docproc.ocr.rulings); a page without any (a text-layer
PDF, an unruled form) gets zeros, which the model learns from a copy of every training page
without its rules (scripts/train_form_links.py).
FUNSD cross-validated soft F1 0.535-0.538 -> 0.541-0.545 over three fold seeds, with this
session's other changes (README, twentieth session).
"""

from __future__ import annotations

import numpy as np

FEATURES = (
    "rule_across_row",  # vertical rules between the key and the answer
    "rule_across_column",  # horizontal rules between a key and the answer under it
    "k_underlined", "v_underlined",  # a rule under the box (an answer line, an underlined label)
    "v_overlined",  # a rule just over the answer (a box's top border, a signature line's label)
    "k_walled", "v_walled",  # vertical rules close on its left and right (0-2): a table cell
    "row_line_shared",  # one rule under both key and answer of a row: the answer line runs on from the label
    "page_rulings",  # how many the page has (log): none where none were looked for (a text layer)
)
UNDER = (-0.5, 0.6)  # line heights from a box's bottom edge within which a rule is under it
OVER = (-0.8, 0.3)  # ... from its top edge, over it
WALL = 1.5  # line heights beside a box within which a vertical rule walls it in
COVER = 0.5  # share of a box's width a rule under or over it spans


def features(cells: list, key: np.ndarray, value: np.ndarray, column: np.ndarray, rulings) -> np.ndarray:
    """One row per candidate (key[i], value[i], column[i]: the key stands above), in FEATURES order."""
    m = len(key)
    out = np.zeros((m, len(FEATURES)), dtype=np.float32)
    if not m or not rulings:
        return out
    b = np.array([c.bbox for c in cells], dtype=np.float64)
    x0, y0, x1, y1 = b.T
    h = np.maximum(y1 - y0, 1e-4)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hr = np.array([r.bbox for r in rulings if r.orientation == "horizontal"], dtype=np.float64).reshape(-1, 4)
    vr = np.array([r.bbox for r in rulings if r.orientation == "vertical"], dtype=np.float64).reshape(-1, 4)
    hy = (hr[:, 1] + hr[:, 3]) / 2
    vx = (vr[:, 0] + vr[:, 2]) / 2
    k, v, col = key, value, column.astype(bool)

    # Vertical rules across the way from key to answer: on a row, the gap between them; from a
    # heading down, between their centres, over the height they span.
    lo_x = np.where(col, np.minimum(cx[k], cx[v]), x1[k] - 0.2 * h[k])
    hi_x = np.where(col, np.maximum(cx[k], cx[v]), x0[v] + 0.2 * h[v])
    lo_y = np.where(col, y0[k], np.minimum(cy[k], cy[v]))
    hi_y = np.where(col, y1[v], np.maximum(cy[k], cy[v]))
    out[:, 0] = ((vx > lo_x[:, None]) & (vx < hi_x[:, None])
                 & (vr[:, 1] <= hi_y[:, None]) & (vr[:, 3] >= lo_y[:, None])).sum(1)
    # Horizontal rules between a key and the answer under it, where both stand (their shared
    # width's middle, else the answer's).
    left, right = np.maximum(x0[k], x0[v]), np.minimum(x1[k], x1[v])
    mid = np.where(right > left, (left + right) / 2, cx[v])
    across = ((hy > (y1[k] - 0.1 * h[k])[:, None]) & (hy < (y0[v] + 0.1 * h[v])[:, None])
              & (hr[:, 0] <= mid[:, None]) & (hr[:, 2] >= mid[:, None])).sum(1)
    out[:, 1] = np.where(col, across, 0)
    under = _edge_rule(hr, hy, x0, x1, y1, h, UNDER)
    out[:, 2], out[:, 3] = under[k], under[v]
    out[:, 4] = _edge_rule(hr, hy, x0, x1, y0, h, OVER)[v]
    walled = _walls(vr, vx, x0, x1, cy, h)
    out[:, 5], out[:, 6] = walled[k], walled[v]
    bottom = np.maximum(y1[k], y1[v])
    shared = ((hr[:, 0] <= x1[k][:, None]) & (hr[:, 2] >= x0[v][:, None])
              & (hy > (bottom + UNDER[0] * h[v])[:, None]) & (hy < (bottom + UNDER[1] * h[v])[:, None])).any(1)
    out[:, 7] = shared & ~col
    out[:, 8] = np.log1p(len(rulings))
    return out


def _edge_rule(hr, hy, x0, x1, edge, h, span) -> np.ndarray:
    """Per box, a horizontal rule along the given edge spanning at least COVER of its width."""
    if not len(hr):
        return np.zeros(len(x0))
    cover = np.minimum(hr[:, 2], x1[:, None]) - np.maximum(hr[:, 0], x0[:, None])
    near = (hy > (edge + span[0] * h)[:, None]) & (hy < (edge + span[1] * h)[:, None])
    return ((cover >= COVER * (x1 - x0)[:, None]) & near).any(1).astype(np.float64)


def _walls(vr, vx, x0, x1, cy, h) -> np.ndarray:
    """Per box, how many of its sides (0-2) have a vertical rule close by at its height."""
    if not len(vr):
        return np.zeros(len(x0))
    level = (vr[:, 1] <= cy[:, None]) & (vr[:, 3] >= cy[:, None])
    left = (level & (vx < (x0 + 0.2 * h)[:, None]) & (vx > (x0 - WALL * h)[:, None])).any(1)
    right = (level & (vx > (x1 - 0.2 * h)[:, None]) & (vx < (x1 + WALL * h)[:, None])).any(1)
    return left.astype(np.float64) + right
