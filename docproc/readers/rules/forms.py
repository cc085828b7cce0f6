"""Question -> answer pairs of a form, from the layout of its text boxes.

A form prints a label (the question) and leaves room for the answer to its right on the
same row or under it. The units here are the page's own lines (one OCR text box each, split
at big gaps), not the reader's merged lines: a label and its value are separate boxes even
when they sit close. A label is either closed by a colon ("Date:", "Name: J. Smith"), or a
short label-like phrase with a value box right of it on its row. Answers may run over several
lines below their first one (a comment box, an address)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from docproc.document import BBox, Document, KeyValue, union_bbox

MAX_KEY_WORDS = 7
MAX_RIGHT_GAP = 0.35  # page widths between a label and its value on one row
MAX_VALUE_LINES = 12


@dataclass
class Cell:
    page: int
    text: str
    bbox: BBox
    confidence: float
    words: list[tuple[str, BBox]] = field(default_factory=list)
    used: bool = False

    @property
    def height(self) -> float:
        return max(self.bbox[3] - self.bbox[1], 1e-4)

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2


def _cell(page: int, words: list[tuple[str, BBox]], confidence: float) -> Cell:
    return Cell(page, " ".join(w for w, _ in words), union_bbox([b for _, b in words]), confidence, words)


_TIME_OR_URL = re.compile(r"\d:\d|https?:|//")


def plausible_key(text: str) -> bool:
    """A key is a short phrase with letters; times ("10:30") and URLs are not keys."""
    words = text.rstrip(":").split()
    letters = sum(ch.isalpha() for ch in text)
    return 0 < len(words) <= MAX_KEY_WORDS and letters >= 2 and not _TIME_OR_URL.search(text)


def _split_at_colon(cell: Cell) -> list[Cell]:
    """"Name: J. Smith" printed as one box is a key box and a value box."""
    for k, (w, _) in enumerate(cell.words[:-1]):
        if w.endswith(":") and plausible_key(" ".join(x for x, _ in cell.words[: k + 1])):
            key = _cell(cell.page, cell.words[: k + 1], cell.confidence)
            return [key, _cell(cell.page, cell.words[k + 1:], cell.confidence)]
    return [cell]


def page_cells(doc: Document) -> list[Cell]:
    """Every text box of the document, reading order (page, row, left to right)."""
    cells: list[Cell] = []
    for page in doc.pages:
        for line in page.lines:
            words = [(page.words[i].text.strip(), page.words[i].bbox) for i in line.words
                     if 0 <= i < len(page.words) and page.words[i].text.strip()]
            if not words:
                continue
            words.sort(key=lambda wb: wb[1][0])
            cells.extend(_split_at_colon(_cell(page.number, words, line.confidence)))
    return _reading_order(cells)


def _reading_order(cells: list[Cell]) -> list[Cell]:
    """Rows of boxes that share a band (top to bottom), each row left to right: a row's first
    box is read before the value boxes to its right, even when it sits a little lower."""
    rows: list[list[Cell]] = []
    for c in sorted(cells, key=lambda c: (c.page, c.cy)):
        if rows and _same_row(rows[-1][0], c):
            rows[-1].append(c)
        else:
            rows.append([c])
    return [c for row in rows for c in sorted(row, key=lambda c: c.bbox[0])]


def closed_key(cell: Cell) -> bool:
    """"Date:" — a label closed by a colon."""
    return cell.text.endswith(":") and plausible_key(cell.text)


_LABEL_WORD = re.compile(r"^[A-Za-z(&#/][A-Za-z.()'&/#-]*$")


def label_like(cell: Cell) -> bool:
    """A short phrase of words (no digits, not a sentence) that reads as a printed label:
    "Supplier(s)", "Tobacco Rod Length", "DATE"."""
    words = cell.text.split()
    if not plausible_key(cell.text) or len(words) > 6 or cell.text.endswith((",", ";")):
        return False
    if not all(_LABEL_WORD.match(w) or w in {"of", "no.", "No.", "#"} for w in words):
        return False
    return cell.text[:1].isupper() or cell.text[:1] in "(#"


def _same_row(a: Cell, b: Cell) -> bool:
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return a.page == b.page and overlap >= 0.5 * min(a.height, b.height)


def _right_neighbour(cells: list[Cell], key: Cell) -> Cell | None:
    row = [c for c in cells if c is not key and _same_row(key, c) and c.bbox[0] >= key.bbox[2] - 0.005
           and c.bbox[0] - key.bbox[2] <= MAX_RIGHT_GAP]
    return min(row, key=lambda c: c.bbox[0]) if row else None


def _below(cells: list[Cell], top: Cell, x0: float, x1: float, max_gap: float) -> Cell | None:
    """The nearest box under `top` that overlaps the column [x0, x1], within max_gap line heights."""
    h = top.height
    out = [c for c in cells if c.page == top.page and c is not top and c.bbox[1] >= top.bbox[1] + 0.6 * h
           and c.bbox[1] - top.bbox[3] <= max_gap * h and min(c.bbox[2], x1) - max(c.bbox[0], x0) > 0]
    return min(out, key=lambda c: (c.bbox[1], c.bbox[0])) if out else None


def _continuation(cells: list[Cell], first: Cell) -> list[Cell]:
    """Lines of a multi-line answer: stacked under its first line, starting at about its left
    edge, with no wider gap than a line."""
    lines = [first]
    while len(lines) < MAX_VALUE_LINES:
        last = lines[-1]
        nxt = _below(cells, last, first.bbox[0], first.bbox[2], max_gap=0.8)
        if nxt is None or nxt.used or closed_key(nxt) or abs(nxt.bbox[0] - first.bbox[0]) > 0.03:
            break
        lines.append(nxt)
    return lines


def _is_value(cell: Cell) -> bool:
    return not cell.used and not closed_key(cell) and bool(cell.text.strip(" .:_-"))


def _pair(key: Cell, values: list[Cell], confidence: float) -> KeyValue:
    return KeyValue(
        key=key.text, value=" ".join(v.text for v in values), page=key.page, key_bbox=key.bbox,
        value_bbox=union_bbox([v.bbox for v in values]),
        confidence=round(confidence * min([key.confidence] + [v.confidence for v in values]), 4),
    )


def _wide(cell: Cell) -> bool:
    """A line long enough to be running text that wraps (a comment, a description)."""
    return cell.bbox[2] - cell.bbox[0] >= 0.25 and len(cell.text.split()) >= 4


def _take(key: Cell, values: list[Cell]) -> None:
    key.used = True
    for v in values:
        v.used = True


def read_form_pairs(doc: Document) -> list[KeyValue]:
    cells = page_cells(doc)
    out: list[KeyValue] = []
    for key in cells:
        if key.used:
            continue
        closed = closed_key(key)
        if not closed and not label_like(key):
            continue
        right = _right_neighbour(cells, key)
        if right is not None and _is_value(right) and (closed or not label_like(right)):
            values = _continuation(cells, right) if closed and _wide(right) else [right]
            _take(key, values)
            out.append(_pair(key, values, 0.8 if closed else 0.55))
            continue
        if not closed:
            continue
        # Nothing on its row: the answer is the box under the label, in its column (a wide
        # line is running text that may wrap onto more lines).
        below = _below(cells, key, key.bbox[0] - 0.01, key.bbox[2] + 0.1, max_gap=2.5)
        if right is None and below is not None and _is_value(below) and below.bbox[0] >= key.bbox[0] - 0.03:
            values = _continuation(cells, below) if _wide(below) else [below]
            _take(key, values)
            out.append(_pair(key, values, 0.6 if _wide(below) else 0.35))
    return out
