"""A flat, reader-friendly view of a Document: every line of every page with its words'
character offsets (so a value found in the text gets the bbox of exactly its words), its
region kind and its geometric neighbours."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from docproc.document import BBox, Document, Page, Word, union_bbox
from docproc.normalize import Context, detect_currency, infer_date_order


@dataclass
class TextLine:
    page: int  # 1-based
    index: int  # position in DocView.lines
    text: str
    bbox: BBox
    words: list[tuple[int, int, BBox]]  # (start, end, bbox) of each word in `text`
    region: str = "text"
    confidence: float = 1.0

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2

    def span_bbox(self, start: int, end: int) -> BBox:
        """Union of the boxes of the words overlapping text[start:end]."""
        boxes = [b for s, e, b in self.words if s < end and start < e]
        return union_bbox(boxes) if boxes else self.bbox


def _words_to_line(words: list[Word]) -> tuple[str, list[tuple[int, int, BBox]]]:
    parts, offsets, pos = [], [], 0
    for w in words:
        t = w.text.strip()
        if not t:
            continue
        if parts:
            pos += 1
        offsets.append((pos, pos + len(t), w.bbox))
        parts.append(t)
        pos += len(t)
    return " ".join(parts), offsets


def _group_words(page: Page) -> list[list[int]]:
    """Lines from word geometry alone, for pages that reached the reader without lines."""
    order = sorted(range(len(page.words)), key=lambda i: (page.words[i].bbox[1], page.words[i].bbox[0]))
    rows: list[list[int]] = []
    for i in order:
        b = page.words[i].bbox
        cy, h = (b[1] + b[3]) / 2, b[3] - b[1]
        for row in rows:
            rb = page.words[row[-1]].bbox
            if abs((rb[1] + rb[3]) / 2 - cy) < 0.5 * max(h, rb[3] - rb[1]):
                row.append(i)
                break
        else:
            rows.append([i])
    return [sorted(r, key=lambda i: page.words[i].bbox[0]) for r in rows]


def _same_row(a: TextLine, b: TextLine) -> bool:
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return a.page == b.page and overlap >= 0.5 * min(a.height, b.height)


def _level(a: TextLine, b: TextLine) -> bool:
    """Two pieces of one printed line sit at one level. A box OCR read over two printed lines
    ("27. ACCEPT" over "ASSIGNMENT?" as one box, a fifth again as tall or more), or a big stamp, overlaps
    both rows beside it: joined to the row under it, it would carry that row's values up into
    the label row. (A piece that holds words of two rows, each as tall as the other piece's, is
    left to the row test, as before.)"""
    low, high = sorted((_word_height(a), _word_height(b)))
    return high < TALLER * low or abs(a.cy - b.cy) <= LEVEL_SLACK * min(a.height, b.height)


def _word_height(line: TextLine) -> float:
    return max((b[3] - b[1] for _, _, b in line.words), default=line.height)


TALLER = 1.2  # a piece this many times as tall as the other may span two rows
LEVEL_SLACK = 0.4  # then the two centres differ by at most this many of the shorter piece's heights
STACKED = 3.0  # times its tallest word's height: a "line" this tall holds words stacked down the page
SIDEWAYS_SHARE = 0.03  # of a page's lines: more such lines, and the page itself was read sideways
TALL = 2.5  # times a line's height: a box this tall beside it spans several rows
ROW_BAND = 0.01  # page heights per band of the merge's row index (boxes are 0..1 of the page)


def _sideways_titles(lines: list[TextLine]) -> set[int]:
    """ids of the lines whose words are stacked down the page, on pages where such lines are
    few (under 1 % of a claim form's lines; on the ad-buy dev set's pages read sideways 5-14 %,
    whose lines are merged as before)."""
    by_page: dict[int, tuple[list[int], int]] = {}
    for ln in lines:
        ids, n = by_page.get(ln.page, ([], 0))
        if ln.height > STACKED * _word_height(ln):
            ids.append(id(ln))
        by_page[ln.page] = (ids, n + 1)
    return {i for ids, n in by_page.values() if len(ids) < SIDEWAYS_SHARE * n for i in ids}


def _merge_fragments(lines: list[TextLine]) -> list[TextLine]:
    """OCR and layout may cut one printed line into pieces ("SAM", "SAM", "TRADING", "CO");
    pieces on one row separated by less than about a character height are one line again.
    Wider gaps stay: they separate a label from a value in another column."""
    lines = sorted(lines, key=lambda ln: (ln.page, ln.bbox[0]))
    out: list[TextLine] = []
    # This page's kept lines by the horizontal bands they cover: a piece is compared only with
    # lines it may overlap vertically, in the order they were kept (a dense page has hundreds).
    bands: dict[int, list[int]] = {}
    # Each kept line's last piece: the next piece must share its row, not merely the union's, or
    # a merged line grows down a staircase of pieces into the row under it (a form's labels over
    # their "(ID#)" hints).
    last: list[TextLine] = []
    page = None
    # (Coordinates outside 0..1, from a hand-built document, widen the bands.)
    band = max([ROW_BAND] + [(ln.bbox[3] - ln.bbox[1]) / 4 for ln in lines])

    def _bands(top: float, bottom: float) -> range:
        """The row index's bands that [top, bottom] touches (the edges included). A box with a
        non-finite edge overlaps nothing (as in the comparisons below), so it is in no band."""
        if not (math.isfinite(top) and math.isfinite(bottom)):
            return range(0)
        return range(math.floor(top / band), math.floor(bottom / band) + 1)

    sideways = _sideways_titles(lines)
    for ln in lines:
        if ln.page != page:
            page, bands = ln.page, {}
        top, bottom = ln.bbox[1], ln.bbox[3]
        if id(ln) in sideways:
            # Words stacked down an upright page (a margin's sideways title): no piece of any
            # row, and kept out of the index, so no row joins it.
            out.append(ln)
            last.append(ln)
            continue
        near = sorted({i for b in _bands(top, bottom) for i in bands.get(b, ())})
        for i in near:
            o = out[i]
            if o.bbox[3] < top or o.bbox[1] > bottom:
                continue  # no vertical overlap: not its row
            gap = ln.bbox[0] - o.bbox[2]
            if (_same_row(o, ln) and _same_row(last[i], ln) and _level(last[i], ln)
                    and -0.01 <= gap <= 2.0 * max(o.height, ln.height)):
                shift = len(o.text) + 1
                o.words = o.words + [(s + shift, e + shift, b) for s, e, b in ln.words]
                o.text = f"{o.text} {ln.text}"
                old = _bands(o.bbox[1], o.bbox[3])
                o.bbox = union_bbox([o.bbox, ln.bbox])
                o.confidence = min(o.confidence, ln.confidence)
                for b in _bands(o.bbox[1], o.bbox[3]):
                    if b not in old:
                        bands.setdefault(b, []).append(i)
                last[i] = ln
                break
        else:
            for b in _bands(top, bottom):
                bands.setdefault(b, []).append(len(out))
            out.append(ln)
            last.append(ln)
    return out


@dataclass
class DocView:
    lines: list[TextLine] = field(default_factory=list)
    ctx: Context = field(default_factory=Context)
    # Where schema labels were found: line index -> (start, end) spans; set by the reader.
    label_spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    _index: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, doc: Document) -> "DocView":
        view = cls()
        for page in doc.pages:
            region_of: dict[int, str] = {}
            for region in page.regions:
                for li in region.lines:
                    region_of.setdefault(li, region.kind)
            groups = [line.words for line in page.lines] if page.lines else _group_words(page)
            for li, idxs in enumerate(groups):
                words = [page.words[i] for i in idxs if 0 <= i < len(page.words)]
                if words:
                    text, offsets = _words_to_line(words)
                    bbox = union_bbox([w.bbox for w in words])
                    conf = min(w.confidence for w in words)
                elif page.lines and page.lines[li].text.strip():
                    line = page.lines[li]
                    text, bbox, conf = line.text.strip(), line.bbox, line.confidence
                    offsets = [(0, len(text), bbox)]
                else:
                    continue
                if not text:
                    continue
                view.lines.append(
                    TextLine(page.number, len(view.lines), text, bbox, offsets, region_of.get(li, "text"), conf)
                )
        view.lines = _merge_fragments(view.lines)
        # Reading order within a page: top to bottom, then left to right (ties by row).
        view.lines.sort(key=lambda ln: (ln.page, round(ln.cy, 3), ln.bbox[0]))
        for i, ln in enumerate(view.lines):
            ln.index = i
        texts = [ln.text for ln in view.lines]
        currency = detect_currency("\n".join(texts))
        # Without any evidence, day-first: most of the world writes dates that way.
        view.ctx = Context(date_order=infer_date_order(texts, currency) or "DMY", currency=currency)
        return view

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)

    def _page_index(self) -> dict[int, tuple[list[TextLine], list[float], float]]:
        """Per page: its lines in reading order, their rounded centres (sorted, as `of` orders
        them) and the tallest line's height, so row and column lookups bisect one page's
        lines instead of scanning the document (readers ask thousands of times per document)."""
        key = (id(self.lines), len(self.lines))
        if self._index is None or self._index["key"] != key:
            pages: dict[int, list[TextLine]] = {}
            for ln in self.lines:
                pages.setdefault(ln.page, []).append(ln)
            index: dict = {"key": key}
            for page, lines in pages.items():
                centres = [round(ln.cy, 3) for ln in lines]
                if any(a > b for a, b in zip(centres, centres[1:])):
                    centres = []  # not in reading order (built by hand): scan the page
                index[page] = (lines, centres, max(ln.height for ln in lines))
            self._index = index
        return self._index

    def _near_rows(self, line: TextLine, lo: float, hi: float) -> list[TextLine]:
        """This page's lines whose centre may lie within [lo, hi], in reading order."""
        entry = self._page_index().get(line.page)
        if entry is None:
            return []
        lines, centres, _ = entry
        if not centres:
            return lines
        return lines[bisect_left(centres, lo - 0.001):bisect_right(centres, hi + 0.001)]

    def page_lines(self, page: int) -> list[TextLine]:
        entry = self._page_index().get(page)
        return list(entry[0]) if entry else []

    def right_of(self, line: TextLine, max_gap: float = 0.5) -> list[TextLine]:
        """Lines on the same row to the right of `line`, nearest first."""
        entry = self._page_index().get(line.page)
        reach = 0.6 * max(line.height, entry[2] if entry else 0.0)
        out = [
            o for o in self._near_rows(line, line.cy - reach, line.cy + reach)
            if o.page == line.page and o is not line and o.bbox[0] >= line.bbox[2] - 0.005
            and o.bbox[0] - line.bbox[2] <= max_gap
            and abs(o.cy - line.cy) < 0.6 * max(line.height, o.height)
            and o.height <= TALL * line.height  # a stamp over several rows is no cell of this one
        ]
        # Nearest first; of two cells that start about as far right (a column's cells on two
        # tight rows both in reach), the one level with the line.
        return sorted(out, key=lambda o: o.bbox[0] + 2.0 * abs(o.cy - line.cy))

    def below(self, line: TextLine, span: BBox | None = None, max_lines: float = 3.0,
              level: BBox | None = None) -> list[TextLine]:
        """Lines below `line` that overlap the column of `span` (default: the line), nearest first.
        They start half a line under the top of `level` (default: the line): a label's own words,
        where the line also holds a taller box (one OCR read over two printed lines)."""
        x0, x1 = (span or line.bbox)[0], max((span or line.bbox)[2], (span or line.bbox)[0] + 0.05)
        h = max(line.height, 0.005)
        start = (level[1] + 0.5 * max(level[3] - level[1], 0.005)) if level else line.bbox[1] + 0.5 * h
        entry = self._page_index().get(line.page)
        tallest = entry[2] if entry else 0.0
        # A line's centre lies at most half the tallest line's height below its top.
        near = self._near_rows(line, start, line.bbox[3] + max_lines * h + 0.5 * tallest)
        out = [
            o for o in near
            # (or centred under its bottom: a taller box in that line raises its top)
            if o.page == line.page and o is not line and (o.bbox[1] >= start or o.cy >= (level or line.bbox)[3])
            and o.bbox[1] - line.bbox[3] <= max_lines * h
            and min(o.bbox[2], x1) - max(o.bbox[0], x0) > 0
        ]
        return sorted(out, key=lambda o: (o.bbox[1], o.bbox[0]))
