"""Reading order by recursive XY-cut over boxes (column-aware).

Rows are cut first (top to bottom), then columns (left to right) where no row cut exists:
forms and receipts read row by row, two-column text column by column (line baselines of
neighbouring columns overlap, so no clean row cut runs across both columns).
"""

from __future__ import annotations

from docproc.document import BBox


def _cut(boxes: list[BBox], idx: list[int], axis: int, min_gap: float) -> list[list[int]]:
    """Split `idx` into groups separated by empty gaps along `axis` (0 = x, 1 = y)."""
    lo, hi = axis, axis + 2
    idx = sorted(idx, key=lambda i: boxes[i][lo])
    groups: list[list[int]] = [[idx[0]]]
    reach = boxes[idx[0]][hi]
    for i in idx[1:]:
        if boxes[i][lo] - reach > min_gap:
            groups.append([i])
        else:
            groups[-1].append(i)
        reach = max(reach, boxes[i][hi])
    return groups


def xy_cut_order(boxes: list[BBox], min_gap: float = 0.0) -> list[int]:
    """Indexes of `boxes` in reading order."""
    out: list[int] = []
    stack: list[list[int]] = [list(range(len(boxes)))] if boxes else []
    while stack:
        idx = stack.pop()
        if len(idx) == 1:
            out.append(idx[0])
            continue
        groups = _cut(boxes, idx, 1, min_gap)
        if len(groups) == 1:
            groups = _cut(boxes, idx, 0, min_gap)
        if len(groups) == 1:  # overlapping boxes: top-left first
            out.extend(sorted(idx, key=lambda i: (boxes[i][1], boxes[i][0])))
            continue
        stack.extend(reversed(groups))
    return out
