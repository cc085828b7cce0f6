"""Geometric blocks: lines grouped by small vertical gaps and shared horizontal extent.

Used for born-digital pages, pages without an image, and lines no detected region holds.
A sweep over lines sorted by top edge keeps only the blocks still within reach (about one
per column), so the cost is lines x columns, not lines squared.
"""

from __future__ import annotations

import layoutparser as lp

from docproc.document import Line

GAP_HEIGHTS = 0.9  # a vertical gap above this many line heights starts a new block


def _x_overlap(a, b) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def geometric_blocks(lines: list[Line], idx: list[int]) -> list[tuple[lp.TextBlock, list[int]]]:
    """Group the lines `idx` into text blocks; each block with the line indexes it holds."""
    order = sorted(idx, key=lambda i: (lines[i].bbox[1], lines[i].bbox[0]))
    open_blocks: list[list] = []  # [x0, y0, x1, y1, line height, line indexes]
    done: list[list] = []
    for i in order:
        x0, y0, x1, y1 = lines[i].bbox
        h = max(y1 - y0, 1e-6)
        still_open = []
        for blk in open_blocks:  # close blocks the sweep has left behind
            (still_open if y0 - blk[3] <= GAP_HEIGHTS * max(h, blk[4]) else done).append(blk)
        open_blocks = still_open
        home = None
        for blk in open_blocks:
            width = min(x1 - x0, blk[2] - blk[0])
            # Same column: overlapping extents or aligned left edges.
            if _x_overlap((x0, y0, x1, y1), blk) > 0.3 * width or abs(x0 - blk[0]) < h:
                home = blk
                break
        if home is None:
            open_blocks.append([x0, y0, x1, y1, h, [i]])
        else:
            home[0], home[1] = min(home[0], x0), min(home[1], y0)
            home[2], home[3] = max(home[2], x1), max(home[3], y1)
            home[4] = h
            home[5].append(i)
    done.extend(open_blocks)
    return [
        (lp.TextBlock(lp.Rectangle(b[0], b[1], b[2], b[3]), type="text", score=1.0), b[5])
        for b in done
    ]
