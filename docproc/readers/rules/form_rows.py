"""Rows of a form's grid under a heading label (CMS-1500 box 24: one service line per row).

A row is a band of lines that overlap vertically; it counts as an entry when it holds what
every entry of such a grid holds: a date and an amount with cents."""

from __future__ import annotations

import re

from docproc.readers.rules.labels import LabelHit
from docproc.readers.rules.view import DocView, TextLine

_AMOUNT = re.compile(r"(?<![\d.])\d{1,7}[.,]\d{2}(?!\d)")
_DATE = re.compile(r"(?<!\d)\d{2}[\s/.-]?\d{2}[\s/.-]?(?:\d{4}|\d{2})(?!\d)")
MAX_DEPTH = 0.35  # a grid ends within about a third of a page under its heading


def _bands(lines: list[TextLine]) -> list[list[TextLine]]:
    bands: list[list[TextLine]] = []
    for ln in sorted(lines, key=lambda ln: ln.bbox[1]):
        if bands:
            top = min(o.bbox[1] for o in bands[-1])
            bottom = max(o.bbox[3] for o in bands[-1])
            overlap = min(bottom, ln.bbox[3]) - max(top, ln.bbox[1])
            if overlap >= 0.3 * min(ln.height, bottom - top):
                bands[-1].append(ln)
                continue
        bands.append([ln])
    return bands


def grid_rows(view: DocView, hit: LabelHit, is_stop) -> list[list[TextLine]]:
    """The entry rows under `hit`'s heading, down to the next line `is_stop` accepts."""
    head = hit.line
    zone: list[TextLine] = []
    for ln in view.page_lines(head.page):
        if ln.bbox[1] <= head.bbox[3] - 0.3 * head.height or ln.bbox[1] > head.bbox[3] + MAX_DEPTH:
            continue
        zone.append(ln)
    zone.sort(key=lambda ln: ln.bbox[1])
    cut = next((k for k, ln in enumerate(zone) if is_stop(ln)), len(zone))
    rows = []
    for band in _bands(zone[:cut]):
        text = " ".join(ln.text for ln in sorted(band, key=lambda ln: ln.bbox[0]))
        if _AMOUNT.search(text) and _DATE.search(text):
            rows.append(band)
    return rows
