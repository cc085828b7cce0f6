"""Layout stage: lines from words, regions (PP-PicoDet or geometry), reading order, tables.

Regions are held as layoutparser `TextBlock`s (with page-relative rectangles) while they are
computed and converted to the pydantic `Region` at the end. Every line ends up in exactly
one region; `Region.order` is the XY-cut reading order.
"""

from __future__ import annotations

import layoutparser as lp
from PIL import Image

from docproc.deskew import straighten_bbox
from docproc.document import Page, Region
from docproc.layout.blocks import geometric_blocks
from docproc.layout.lines import group_lines
from docproc.layout.order import xy_cut_order
from docproc.layout.tables import build_table, find_aligned_runs, table_rows
from docproc.options import LayoutOptions

__all__ = ["analyze_page", "group_lines", "xy_cut_order", "build_table", "warm_up"]

# A line belongs to the detected region covering most of it, if that is at least this share.
MIN_COVER = 0.5


def warm_up(options: LayoutOptions) -> None:
    """Load the layout model and run it once (a worker's first page should not pay for it)."""
    if options.kind in ("geometry", "none"):
        return
    from docproc.layout.detector import detect_regions

    detect_regions(Image.new("RGB", (64, 64), "white"), options.min_score)


def _use_model(page: Page, image: Image.Image | None, options: LayoutOptions) -> bool:
    if image is None or options.kind in ("geometry", "none"):
        return False
    return options.kind == "picodet" or page.text_source == "ocr"


def _assign(page: Page, layout: lp.Layout) -> tuple[list[list[int]], list[int]]:
    """Line indexes per detected block, and the lines no block holds."""
    members: list[list[int]] = [[] for _ in layout]
    loose: list[int] = []
    for i, line in enumerate(page.lines):
        x0, y0, x1, y1 = line.bbox
        area = max((x1 - x0) * (y1 - y0), 1e-12)
        best, best_cover = -1, MIN_COVER
        for k, blk in enumerate(layout):
            bx0, by0, bx1, by1 = blk.coordinates
            inter = max(0.0, min(x1, bx1) - max(x0, bx0)) * max(0.0, min(y1, by1) - max(y0, by0))
            cover = inter / area
            # Ties go to the smaller block (a table inside a text block keeps its cells).
            if cover > best_cover or (best >= 0 and cover == best_cover and blk.area < layout[best].area):
                best, best_cover = k, cover
        (members[best] if best >= 0 else loose).append(i)
    return members, loose


def _line_box(page: Page, idx: list[int]) -> lp.Rectangle:
    boxes = [page.lines[i].bbox for i in idx]
    return lp.Rectangle(min(b[0] for b in boxes), min(b[1] for b in boxes),
                        max(b[2] for b in boxes), max(b[3] for b in boxes))


def analyze_page(page: Page, image: Image.Image | None, options: LayoutOptions) -> Page:
    """Fill `page.lines` and `page.regions` (kind, bbox, score, lines, order, table, source)."""
    page.lines = group_lines(page.words)
    page.regions = []
    if not page.lines:
        return page
    all_lines = list(range(len(page.lines)))
    if options.kind == "none":
        blocks = [(lp.TextBlock(_line_box(page, all_lines), type="text", score=1.0), all_lines, "geometry")]
    else:
        blocks = _regions(page, image, options)
    blocks = _add_aligned_tables(page, blocks)

    order = xy_cut_order([tuple(b.coordinates) for b, _, _ in blocks])
    rank = {k: r for r, k in enumerate(order)}
    regions = []
    for k, (blk, idx, source) in enumerate(blocks):
        idx = [i for row in table_rows(page.lines, idx) for i in row]  # rows, left to right
        table = build_table(page.lines, idx) if blk.type == "table" and idx else None
        regions.append(Region(
            kind=blk.type, bbox=tuple(round(float(v), 5) for v in blk.coordinates),
            score=round(float(blk.score or 1.0), 4), lines=idx, order=rank[k],
            table=table, source=source,
        ))
    page.regions = sorted(regions, key=lambda r: r.order)
    return page


def _straightened(block: lp.TextBlock, page: Page) -> lp.TextBlock:
    box = straighten_bbox(tuple(block.coordinates), page.skew, page.width / page.height)
    return lp.TextBlock(lp.Rectangle(*box), type=block.type, score=block.score)


def _regions(page: Page, image, options) -> list[tuple[lp.TextBlock, list[int], str]]:
    out: list[tuple[lp.TextBlock, list[int], str]] = []
    loose = list(range(len(page.lines)))
    if _use_model(page, image, options):
        from docproc.layout.detector import detect_regions

        layout = detect_regions(image, options.min_score)
        if page.skew:  # the model saw the skewed image; the words are straightened
            layout = [_straightened(blk, page) for blk in layout]
        members, loose = _assign(page, layout)
        out.extend((blk, idx, "picodet") for blk, idx in zip(layout, members))
    out.extend((blk, idx, "geometry") for blk, idx in geometric_blocks(page.lines, loose))
    return out


def _add_aligned_tables(page: Page, blocks):
    """On pages without a table region, lines aligned in columns become a geometric table."""
    if any(b.type == "table" for b, _, _ in blocks):
        return blocks
    # Receipts often come out of the model as one "figure": their items are still text.
    text_lines = [i for b, idx, _ in blocks if b.type in ("text", "reference", "figure") for i in idx]
    runs = find_aligned_runs(page.lines, text_lines)
    if not runs:
        return blocks
    taken = {i for run in runs for i in run}
    kept = []
    for blk, idx, source in blocks:
        rest = [i for i in idx if i not in taken]
        if rest or not idx:
            if len(rest) != len(idx):  # shrink a block that gave lines to a table
                blk = lp.TextBlock(_line_box(page, rest), type=blk.type, score=blk.score)
            kept.append((blk, rest, source))
    for run in runs:
        kept.append((lp.TextBlock(_line_box(page, run), type="table", score=1.0), run, "geometry"))
    return kept
