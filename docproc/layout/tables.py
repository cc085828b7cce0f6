"""Table grids rebuilt from line geometry, and tables found by column alignment.

A layout line is already a run of close words, so in a table it is one cell (or part of
one). Rows: lines banded by vertical overlap. Columns: the x-extents of cells in rows of
two or more cells, merged where they overlap; the gaps between merged extents are the
column boundaries. All steps are sorts and sweeps.
"""

from __future__ import annotations

import re

from docproc.document import Line, Table, TableCell, union_bbox

_NUMBER = re.compile(r"\d")


def table_rows(lines: list[Line], idx: list[int]) -> list[list[int]]:
    """Band lines into rows: a line joins the current row when it overlaps it vertically."""
    order = sorted(idx, key=lambda i: (lines[i].bbox[1] + lines[i].bbox[3]) / 2)
    rows: list[list[int]] = []
    top = bottom = 0.0
    for i in order:
        y0, y1 = lines[i].bbox[1], lines[i].bbox[3]
        c = (y0 + y1) / 2
        if rows and top <= c <= bottom:
            rows[-1].append(i)
        else:
            rows.append([i])
            top, bottom = y0, y1
    return [sorted(r, key=lambda i: lines[i].bbox[0]) for r in rows]


def column_spans(lines: list[Line], rows: list[list[int]]) -> list[tuple[float, float]]:
    """Column extents: x-intervals of cells in multi-cell rows, merged where they overlap."""
    spans = sorted((lines[i].bbox[0], lines[i].bbox[2]) for r in rows if len(r) > 1 for i in r)
    merged: list[list[float]] = []
    for x0, x1 in spans:
        if merged and x0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    return [(a, b) for a, b in merged]


def _column_of(span: tuple[float, float], cols: list[tuple[float, float]]) -> int:
    best, best_overlap = 0, float("-inf")
    for k, (a, b) in enumerate(cols):
        overlap = min(span[1], b) - max(span[0], a)
        if overlap > best_overlap:
            best, best_overlap = k, overlap
    return best


def build_table(lines: list[Line], idx: list[int]) -> Table | None:
    """The grid of the lines `idx`, or None when they do not form at least 2 x 2 cells."""
    rows = table_rows(lines, idx)
    cols = column_spans(lines, rows)
    if len(rows) < 2 or len(cols) < 2:
        return None
    cells: dict[tuple[int, int], list[int]] = {}
    for r, row in enumerate(rows):
        for i in row:
            c = _column_of((lines[i].bbox[0], lines[i].bbox[2]), cols)
            cells.setdefault((r, c), []).append(i)
    out = [
        TableCell(
            row=r, col=c,
            text=" ".join(lines[i].text for i in members),
            bbox=union_bbox([lines[i].bbox for i in members]),
            lines=members,
        )
        for (r, c), members in sorted(cells.items())
    ]
    edges = [cols[0][0]] + [(cols[k][1] + cols[k + 1][0]) / 2 for k in range(len(cols) - 1)] + [cols[-1][1]]
    header = [c for c in out if c.row == 0]
    has_header = (
        len(header) >= 2
        and not any(_NUMBER.search(c.text) for c in header)
        and any(_NUMBER.search(c.text) for c in out if c.row > 0)
    )
    return Table(
        n_rows=len(rows), n_cols=len(cols), cells=out, has_header=has_header,
        col_edges=[round(e, 5) for e in edges],
    )


def _aligned(lines: list[Line], a: list[int], b: list[int]) -> int:
    """How many cells of row `b` share a column (x-overlap or right edge) with a cell of `a`."""
    hits = 0
    for j in b:
        bx0, bx1 = lines[j].bbox[0], lines[j].bbox[2]
        h = lines[j].bbox[3] - lines[j].bbox[1]
        for i in a:
            ax0, ax1 = lines[i].bbox[0], lines[i].bbox[2]
            if min(ax1, bx1) - max(ax0, bx0) > 0 or abs(ax1 - bx1) < h:
                hits += 1
                break
    return hits


def find_aligned_runs(lines: list[Line], idx: list[int], min_rows: int = 3, min_cols: int = 3) -> list[list[int]]:
    """Runs of consecutive rows whose cells line up in columns (tables without a ruling).

    A run needs `min_rows` rows of two or more cells, at least one of them with `min_cols`
    cells, and a numeral in most rows (line items carry quantities and amounts)."""
    rows = table_rows(lines, idx)
    runs: list[list[list[int]]] = []
    current: list[list[int]] = []
    for row in rows:
        multi = len(row) >= 2
        if multi and current and _aligned(lines, current[-1], row) >= 2:
            current.append(row)
            continue
        if len(current) >= min_rows:
            runs.append(current)
        current = [row] if multi else []
    if len(current) >= min_rows:
        runs.append(current)
    out = []
    for run in runs:
        numeric = sum(1 for row in run if any(_NUMBER.search(lines[i].text) for i in row))
        if max(len(r) for r in run) >= min_cols and numeric * 2 >= len(run):
            out.append([i for row in run for i in row])
    return out
