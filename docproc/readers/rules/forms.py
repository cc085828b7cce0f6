"""Question -> answer pairs of a form, from the layout of its text boxes.

A form prints a label (the question) and leaves room for the answer to its right on the
same row or under it. The units here are the page's own lines (one OCR text box each, split
at big gaps), not the reader's merged lines: a label and its value are separate boxes even
when they sit close. A label is either closed by a colon ("Date:", "Name: J. Smith"), or a
short label-like phrase with a value box right of it on its row. Answers may run over several
lines below their first one (a comment box, an address)."""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

import numpy as np

from docproc.document import BBox, Document, KeyValue, Ruling, union_bbox
from docproc.normalize import find_dates

MAX_KEY_WORDS = 7
MAX_COLON_KEY_WORDS = 12  # a colon closes a label however long ("Please list the samples you need:")
MAX_RIGHT_GAP = 0.35  # page widths between a label and its value on one row
MAX_VALUE_LINES = 12
MAX_HEADING_WORDS = 4  # a column heading is short: "Weight", "HK Trial", "Date of Birth"
ROW_MATRIX_MAX = 2000  # boxes per page up to which all rows are found at once (an n x n matrix)
# A signature is handwriting that OCR reads as noise ("A chll hp", "4\u221a."): read below this
# confidence after a sign-off label, it is the answer without text (signed). Typed names after
# such labels read at 0.97 and above. FUNSD cross-validated soft F1 +0.004 (README).
SIGNATURE_TEXT_CONFIDENCE = 0.95
BLANK_SIGNATURE_CONFIDENCE = 0.3  # a signature line found by its label alone, as weak as the weakest rule


@dataclass
class Cell:
    page: int
    text: str
    bbox: BBox
    confidence: float
    words: list[tuple[str, BBox]] = field(default_factory=list)
    used: bool = False
    joined_label: bool = False  # a label printed over two lines, judged by its first line
    split_value: bool = False  # the rest of a box split after its label: an answer, never a label
    leader: bool = False  # a label closed by a leader ("Labels ----"), as by a colon
    is_key: bool = False  # a pair's key
    links: list["Cell"] = field(default_factory=list)  # the keys of the pairs this box answers

    @property
    def height(self) -> float:
        return max(self.bbox[3] - self.bbox[1], 1e-4)

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2


def _cell(page: int, words: list[tuple[str, BBox]], confidence: float) -> Cell:
    return Cell(page, " ".join(w for w, _ in words), union_bbox([b for _, b in words]), confidence, words)


_MARKS = {"x", "X", "\u2713", "\u2714", "\u2611", "\u221a"}  # a tick in a box: x, check marks
_TIME_OR_URL = re.compile(r"\d:\d|https?:|//")


def plausible_key(text: str, max_words: int = MAX_KEY_WORDS) -> bool:
    """A key is a short phrase with letters; times ("10:30") and URLs are not keys."""
    words = text.rstrip(":").split()
    letters = sum(ch.isalpha() for ch in text)
    return 0 < len(words) <= max_words and letters >= 2 and not _TIME_OR_URL.search(text)


def _is_mark_at(words: list[tuple[str, BBox]], k: int) -> bool:
    """words[k] is a tick ("x") beside an option's words, not a times sign ("19.750 X 11")."""
    if words[k][0] not in _MARKS or len(words) < 2:
        return False
    sides = [words[j][0] for j in (k - 1, k + 1) if 0 <= j < len(words)]
    return any(sum(ch.isalpha() for ch in w) >= 2 for w in sides)


def _split_at_marks(cell: Cell) -> list[Cell]:
    """"Yes x", "This Project is X Proposed": the tick is a box of its own."""
    if not any(w in _MARKS for w, _ in cell.words):
        return [cell]
    out: list[Cell] = []
    run: list[tuple[str, BBox]] = []
    for k, wb in enumerate(cell.words):
        if _is_mark_at(cell.words, k):
            if run:
                out.append(_cell(cell.page, run, cell.confidence))
            out.append(_cell(cell.page, [wb], cell.confidence))
            run = []
        else:
            run.append(wb)
    if run:
        out.append(_cell(cell.page, run, cell.confidence))
    return out if len(out) > 1 else [cell]


def _split_at_colon(cell: Cell) -> list[Cell]:
    """"Name: J. Smith" printed as one box is a key box and a value box."""
    for k, (w, _) in enumerate(cell.words[:-1]):
        if w.endswith(":") and plausible_key(" ".join(x for x, _ in cell.words[: k + 1])):
            key, value = _label_and_value(cell, cell.words[: k + 1], cell.words[k + 1:])
            return [key] + _split_next_label(value)
    return [cell]


# Dashes or dots that lead from a label to its answer. Four dots at least: "..." is an ellipsis.
_LEADER = re.compile(r"^(.*?)(?:-{2,}|\.{4,}|\u2014+)$")
_LEADER_ONLY = re.compile(r"^(?:-{2,}|\.{4,}|\u2014+)$")
_PLAIN_WORD = re.compile(r"^(?:[A-Z]?[a-z]+|[A-Z]+)$")  # "closures", "Tape", "LABELS"; not "MTuWThF"


def _split_at_leader(cell: Cell) -> list[Cell]:
    """"Labels ---- OLD GOLD STRAIGHT", "Filter Length---": a run of dashes or dots after a
    label leads to its answer as a colon would; the leader itself is neither key nor answer."""
    if cell.split_value or not ("--" in cell.text or "..." in cell.text or "\u2014" in cell.text):
        return [cell]
    for k, (w, b) in enumerate(cell.words):
        m = _LEADER.match(w)
        if not m:
            continue
        head = cell.words[:k] + ([(m.group(1), _split_word(w, b, len(m.group(1)))[0][1])] if m.group(1) else [])
        if not head or not _leader_label(" ".join(x for x, _ in head), attached=bool(m.group(1))):
            return [cell]
        key = _cell(cell.page, head, cell.confidence)
        key.leader = True
        rest = [wb for wb in cell.words[k + 1:] if not _LEADER_ONLY.match(wb[0])]  # a leader's second run
        if not rest:
            return [key]
        value = _cell(cell.page, rest, cell.confidence)
        value.split_value = True
        return [key, value]
    return [cell]


def _leader_label(text: str, attached: bool) -> bool:
    """What may stand before a leader: a label ("Tobacco Blend", "closures"), not data that
    ends in dashes: a broadcast schedule's days ("MTWTF--", "-TWTF--", "MTuWThF----")."""
    last = text.split()[-1]
    if not (_label_like_text(text) or (len(text.split()) == 1 and text.isalpha() and text.islower())):
        return False
    return _PLAIN_WORD.match(last) is not None and not (attached and last.isupper())


def _split_next_label(value: Cell) -> list[Cell]:
    """"9/3/92 TIME:", "(212) 627-4111 FAX: (212) 627-8602": an answer runs on into the next
    label, printed in capitals and closed by a colon, in the same box."""
    words = value.words
    for k in range(1, len(words)):
        w = words[k][0]
        if not (w.endswith(":") and _caps_word(w[:-1])):
            continue
        start = k
        while start > 0 and _caps_word(words[start - 1][0]) and not _starts_value(words[start - 1][0]):
            start -= 1
        if start == 0:
            return [value]  # the whole run is capitals: no answer before a label
        head = _cell(value.page, words[:start], value.confidence)
        head.split_value = True
        label = _cell(value.page, words[start:k + 1], value.confidence)
        rest: list[Cell] = []
        if k + 1 < len(words):
            tail = _cell(value.page, words[k + 1:], value.confidence)
            tail.split_value = True
            rest = _split_next_label(tail)
        return [head, label] + rest
    return [value]


def _caps_word(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


# "1993DEPARTMENT:": OCR glued an answer's last figure to the next label.
_GLUED_LABEL = re.compile(r"^(.*[\d)])([A-Z][A-Z&/.'-]{2,}:)$")
# "DATE:8/13/93", "Telephone:(202)": a label glued to the figure after its colon.
_GLUED_VALUE = re.compile(r"^([A-Z][A-Za-z]{2,}:)(\(?\d.*)$")


def _unglue(words: list[tuple[str, BBox]]) -> list[tuple[str, BBox]]:
    out: list[tuple[str, BBox]] = []
    for w, b in words:
        m = _GLUED_LABEL.match(w) or _GLUED_VALUE.match(w)
        out.extend(_split_word(w, b, m.start(2)) if m else [(w, b)])
    return out


def _split_word(word: str, box: BBox, at: int) -> list[tuple[str, BBox]]:
    """Cut one word in two at character `at`, sharing its box out by characters."""
    x = box[0] + (box[2] - box[0]) * at / len(word)
    return [(word[:at], (box[0], box[1], x, box[3])), (word[at:], (x, box[1], box[2], box[3]))]


_NUMBER_START = re.compile(r"^[$#]?\(?\d")


def _label_and_value(cell: Cell, head: list, rest: list) -> list[Cell]:
    """One box cut into its label's words and its answer's (an answer, never a label)."""
    value = _cell(cell.page, rest, cell.confidence)
    value.split_value = True
    return [_cell(cell.page, head, cell.confidence), value]


def _starts_value(word: str) -> bool:
    """A word that opens an answer rather than continuing a label: a number, an amount, a date."""
    return bool(_NUMBER_START.match(word))


def _split_before_number(cell: Cell) -> list[Cell]:
    """"Date 5-13-81", "Project No. 1989-29" printed as one box: a label phrase that ends in a
    field word, then the number that answers it. Not a date ("May 27, 1982"), an address
    ("Suite 800") nor a product ("KENT III 100"): their words name no field."""
    words = cell.words
    for k in range(1, len(words)):
        if not _starts_value(words[k][0]):
            continue
        label = " ".join(w for w, _ in words[:k])
        if (_label_like_text(label) and _field_words(words[k - 1][0])
                and len(label.split()) <= MAX_HEADING_WORDS + 1):
            head, rest = list(words[:k]), list(words[k:])
            if rest[0][0].startswith("#"):  # "Code #741": the number sign is the label's
                sign, figure = _split_word(rest[0][0], rest[0][1], 1)
                head.append(sign)
                rest[0] = figure
            return _label_and_value(cell, head, rest)
        break
    return _split_before_date(cell)


_DATE_LABEL_END = re.compile(r"(ed|'d|due|ending|made)$", re.IGNORECASE)


def _date_label(label: str) -> bool:
    """A label that asks for a date: it names a field ("Date Rec'd") or ends in an event
    ("Revised", "Final Report Due", "WEEK ENDING")."""
    return bool(_field_words(label)) or bool(_DATE_LABEL_END.search(label))


def _split_before_date(cell: Cell) -> list[Cell]:
    """"Date March 18, 1968", "Final Report Due 11/16/87": a label phrase, then a whole date."""
    words = cell.words
    if len(words) < 2 or not words[-1][0][-1:].isdigit() and not words[-1][0][-2:-1].isdigit():
        return _split_at_case_change(cell)  # a date ends in a figure ("1968", "11/16/87", "1968.")
    for k in range(1, min(len(words), MAX_KEY_WORDS + 1)):
        label = " ".join(w for w, _ in words[:k])
        if not _label_like_text(label):
            break
        if _date_label(label) and _whole_date(" ".join(w for w, _ in words[k:])):
            return _label_and_value(cell, words[:k], words[k:])
    return _split_at_case_change(cell)


def _split_at_case_change(cell: Cell) -> list[Cell]:
    """"Account Name PRODUCT TESTING", "NAME Jimmy Bell": a label phrase ending in a field word,
    then an answer of two words or more typed in the other case, printed as one box. Not when
    both are in one case ("Purchase Order Form" is one label)."""
    words = cell.words
    for k in range(1, min(len(words), MAX_KEY_WORDS + 1)):
        label = " ".join(w for w, _ in words[:k])
        if not _label_like_text(label):
            return [cell]
        rest = [w for w, _ in words[k:]]
        if not _field_words(words[k - 1][0]) or _field_words(" ".join(rest)) == len(rest):
            continue
        if _case_changes(label, rest):
            return _label_and_value(cell, words[:k], words[k:])
    return [cell]


_JOINERS = frozenset("of and or for to the in by per at on".split())


def _case_changes(label: str, rest: list[str]) -> bool:
    """A label in capitals followed by a Title-case answer, or a Title-case label followed by an
    answer in capitals."""
    letters = "".join(ch for ch in label if ch.isalpha())
    first = rest[0]
    if len(letters) < 3 or first.strip(".,:").lower() in _JOINERS:
        return False  # "No. OF CARTONS", "DATE OF BIRTH": one label
    if sum(sum(ch.isalpha() for ch in w) >= 2 for w in rest) < 2:
        return False  # one word may be the label's own: "Media LLC", "INVOICE Property", "City (KJZZ)"
    if letters.isupper():
        return first[:1].isupper() and any(ch.islower() for ch in first)
    # Title case word by word ("AppROVED" is OCR's mixed case, not a Title-case label).
    title = all(w[:1].isupper() and not any(ch.isupper() for ch in w[1:])
                for w in label.split() if w[:1].isalpha())
    answer = "".join(ch for ch in " ".join(rest) if ch.isalpha())
    return title and len(answer) >= 2 and answer.isupper() and not rest[-1].endswith(":")


def page_cells(doc: Document) -> list[Cell]:
    """Every text box of the document, reading order (page, row, left to right)."""
    cells: list[Cell] = []
    for page in doc.pages:
        for line in page.lines:
            # Underscores are the form's fill-in rule, not text: "NAME:_", "_GOOD".
            words = [(" ".join(page.words[i].text.replace("_", " ").split()), page.words[i].bbox)
                     for i in line.words if 0 <= i < len(page.words) and page.words[i].text.strip(" _")]
            if not words:
                continue
            words = _unglue(sorted(words, key=lambda wb: wb[1][0]))
            for part in _split_at_marks(_cell(page.number, words, line.confidence)):
                for piece in (p for led in _split_at_leader(part) for p in _split_at_colon(led)):
                    cells.extend(_split_before_number(piece) if not piece.split_value else [piece])
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
    """"Date:" — a label closed by a colon (or by a leader of dashes or dots)."""
    return cell.leader or _closed_text(cell.text)


@functools.lru_cache(maxsize=16384)  # asked for the same boxes many times while pairing a page
def _closed_text(text: str) -> bool:
    return text.endswith(":") and plausible_key(text, MAX_COLON_KEY_WORDS)


_INITIAL = re.compile(r"^[A-Z]\.$")
_BULLET = re.compile(r"^[-\u2013\u2022\u00b7*]+\s+")  # "- MEDIA TYPE", "* Space"; not "-TWTF--", "*Normal"
_LABEL_WORD = re.compile(r"^[A-Za-z(&#/][A-Za-z.()'&/#-]*$")


def label_like(cell: Cell) -> bool:
    """A short phrase of words (no digits, not a sentence) that reads as a printed label:
    "Supplier(s)", "Tobacco Rod Length", "DATE"."""
    return cell.joined_label or (not cell.split_value and _label_like_text(cell.text))


@functools.lru_cache(maxsize=65536)  # asked for the same boxes many times while pairing a page
def _label_like_text(text: str) -> bool:
    text = _BULLET.sub("", text)  # "- MEDIA TYPE", "*Issue Frequency": a list of labels
    words = text.split()
    if not plausible_key(text) or len(words) > 6 or text.endswith((",", ";")):
        return False
    if not all(_LABEL_WORD.match(w) or w in {"of", "no.", "No.", "#"} for w in words):
        return False
    if any(_INITIAL.match(w) for w in words):
        return False  # "D. A. BEATTY", "J. R. Slater": a name, an answer
    return text[:1].isupper() or text[:1] in "(#"


# Words that forms of every kind print in their field labels. A phrase holding one reads as a
# label even where case gives no hint ("Project Name  Charcoal Smoking Tobacco").
_FIELD_WORDS = frozenset("""
name names date dates address phone telephone tel fax email city state zip country subject re cc attn
title company firm department dept division manager supervisor director signature signed approved
approval requested submitted prepared issued received authorized initiated brand brands product products
type code number no # id amount total cost costs price quantity qty description item items comments
comment remarks notes note project account acct budget year period time contact vendor supplier
customer client group media color colour size weight length width reference ref purpose reason status
location region market program objective schedule sample method source format style category class
terms via page distribution frequency circulation request order invoice job unit rate liaison leader
dated nos ext
""".split())


def _field_words(text: str) -> int:
    """How many of a phrase's words are common field-label words ("Supplier(s)": a plural
    in brackets is the word's)."""
    return sum(w.strip(".:()#,;-/").lower().removesuffix("(s") in _FIELD_WORDS or w == "#"
               for w in re.split(r"[\s/]+", text))


def _same_row(a: Cell, b: Cell) -> bool:
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return a.page == b.page and overlap >= 0.5 * min(a.height, b.height)


class PageCells(list):
    """One page's boxes, with same-row lookups that look only at boxes whose tops lie within a
    box height of the query's (pairing asks for the row of nearly every box: over the whole list
    that was quadratic, and dense born-digital grids have hundreds of boxes per page)."""

    def __init__(self, cells: list[Cell], rulings: list[Ruling] | tuple = (), scanned: bool = False):
        super().__init__(cells)
        self.rulings = list(rulings)  # the page's ruled lines (form_rulings.py)
        self.scanned = scanned  # read by OCR, not from a text layer (form_pair_check.py)
        self._order = sorted(range(len(self)), key=lambda i: self[i].bbox[1])
        self._tops = [self[i].bbox[1] for i in self._order]
        self._index = {id(c): i for i, c in enumerate(self)}
        self._rows: dict[int, list[Cell]] = {}  # by box index, built when first asked for
        self._row_spans: tuple[list[int], list[int]] | None = None  # see _all_rows
        self.heading_rows: dict[int, bool] = {}  # see _heading_row
        # Each box's right neighbour (see _right_neighbour): geometry only, asked for again and
        # again while pairing (155,863 times over the 186 ad-buy documents' 471 pages).
        self.right_neighbours: dict[int, Cell | None] = {}
        # Box edges as arrays in list order: "the nearest box above" tests every box of the
        # page that lies higher up, and most boxes have none in their column.
        boxes = np.array([c.bbox for c in self], dtype=float).reshape(-1, 4)
        self._x0, self._y0, self._x1, self._y1 = boxes.T
        self._heights = np.maximum(self._y1 - self._y0, 1e-4)
        self._pages = np.array([c.page for c in self])

    def is_member(self, a: Cell) -> bool:
        """`a` is one of these boxes (what is cached per box is cached for members only: they
        live as long as the list, so their ids are not reused)."""
        return id(a) in self._index

    def row(self, a: Cell) -> list[Cell]:
        """The boxes that share `a`'s row (`a` itself included when it is one), in list order."""
        i = self._index.get(id(a))
        if i is None:
            return self._row_of(a)
        hit = self._rows.get(i)
        if hit is None:
            if self._row_spans is None and len(self) <= ROW_MATRIX_MAX:
                self._row_spans = self._all_rows()
            if self._row_spans is not None:
                bounds, cols = self._row_spans
                hit = [self[j] for j in cols[bounds[i]:bounds[i + 1]]]
            else:
                hit = self._row_of(a)
            self._rows[i] = hit
        return hit

    def _row_of(self, a: Cell) -> list[Cell]:
        """_same_row against every box of the page at once (numpy; the same arithmetic)."""
        overlap = np.minimum(self._y1, a.bbox[3]) - np.maximum(self._y0, a.bbox[1])
        same = (overlap >= 0.5 * np.minimum(a.height, self._heights)) & (self._pages == a.page)
        return [self[int(i)] for i in np.flatnonzero(same)]

    def _all_rows(self) -> tuple[list[int], list[int]]:
        """Every box's row at once, as (bounds, columns): box i's row is the boxes
        columns[bounds[i]:bounds[i + 1]]. Pairing asks for the row of most boxes of the page."""
        y0, y1, h = self._y0, self._y1, self._heights
        overlap = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
        same = (overlap >= 0.5 * np.minimum(h[:, None], h[None, :])) & (self._pages[:, None] == self._pages[None, :])
        r, c = np.nonzero(same)
        bounds = np.searchsorted(r, np.arange(len(self) + 1)).tolist()
        return bounds, c.tolist()


    def tops_between(self, lo: float, hi: float) -> list[Cell]:
        """The boxes whose top lies in [lo, hi] (with a little slack), in list order."""
        a = bisect.bisect_left(self._tops, lo - 1e-9)
        b = bisect.bisect_right(self._tops, hi + 1e-9)
        return [self[i] for i in sorted(self._order[a:b])]

    def column(self, box: BBox, page: int, bottom: float) -> "_Column":
        """The boxes whose column overlaps `box`'s enough to sit over it and whose bottom is no
        lower than `bottom`, nearest first: the lowest bottom, then the widest overlap, then
        list order. Walking up a column (see `first_above`) then costs one pass instead of one
        search of the page per step."""
        if not len(self):
            return _Column(self, [])
        overlap = np.minimum(self._x1, box[2]) - np.maximum(self._x0, box[0])
        ok = ((self._pages == page) & (self._y1 <= bottom)
              & (overlap > 0.2 * np.minimum(box[2] - box[0], self._x1 - self._x0)))
        idx = np.flatnonzero(ok)
        return _Column(self, idx[np.lexsort((idx, -overlap[idx], -self._y1[idx]))].tolist())

    def above(self, box: BBox, top: float, page: int, h: float, slack: float = 0.3) -> Cell | None:
        """The nearest box above `top` whose column overlaps `box`'s (its bottom at most `slack`
        line heights below `top`)."""
        return first_above(self.column(box, page, top + slack * h), 0, top, h, slack)[0]


class _Column:
    """A column's boxes in order, looked up as they are walked (a walk up a column mostly stops
    at its first few boxes)."""

    __slots__ = ("_cells", "_order")

    def __init__(self, cells: list[Cell], order: list[int]):
        self._cells, self._order = cells, order

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, j: int) -> Cell:
        return self._cells[self._order[j]]


def first_above(column: _Column, start: int, top: float, h: float,
                slack: float = 0.3) -> tuple[Cell | None, int]:
    """The first box of `column[start:]` (nearest first) that lies above `top`, and where to
    resume for a higher `top`: a box passed over here cannot lie above a higher top either."""
    for j in range(start, len(column)):
        c = column[j]
        if c.bbox[3] <= top + slack * h and c.bbox[1] < top - 0.3 * c.height:
            return c, j + 1
    return None, len(column)


def _mates(cells: PageCells, a: Cell) -> list[Cell]:
    return cells.row(a)


def _right_neighbour(cells: PageCells, key: Cell) -> Cell | None:
    """The nearest box right of `key` on its row, within MAX_RIGHT_GAP."""
    if not cells.is_member(key):
        return _find_right_neighbour(cells, key)
    hit = cells.right_neighbours.get(id(key), key)
    if hit is key:  # (not yet asked: a box is never its own neighbour)
        hit = cells.right_neighbours[id(key)] = _find_right_neighbour(cells, key)
    return hit


def _find_right_neighbour(cells: PageCells, key: Cell) -> Cell | None:
    row = [c for c in _mates(cells, key) if c is not key and c.bbox[0] >= key.bbox[2] - 0.005
           and c.bbox[0] - key.bbox[2] <= MAX_RIGHT_GAP]
    if not row:
        return None
    first = min(row, key=lambda c: c.bbox[0])
    if not _stacked_over(key, first, row):
        return first  # the common case: no line stacked with it nearer the label's centre line
    row = _unstack(key, row)
    return row[0] if row else None


def _unstack(key: Cell, boxes: list[Cell]) -> list[Cell]:
    """With tight line spacing two lines stacked right of a label can both overlap its band
    ("Suggested Solution(s):" beside a wrapped answer): of boxes that share a column, only the
    one nearest the label's centre line is on its row. `boxes` left to right out."""
    if len(boxes) < 2:
        return boxes
    boxes = sorted(boxes, key=lambda c: c.bbox[0])
    reach = -1.0
    for c in boxes:
        if c.bbox[0] < reach:
            break
        reach = max(reach, c.bbox[2])
    else:
        return boxes  # no two boxes share any column (most rows): nothing is stacked
    return [c for c in boxes if not _stacked_over(key, c, boxes)]


def _stacked_over(key: Cell, c: Cell, boxes: list[Cell]) -> bool:
    """Another of `boxes` shares `c`'s column and sits nearer `key`'s centre line."""
    off = abs(c.cy - key.cy)
    return any(o is not c and abs(o.cy - key.cy) < off
               and _overlap(o.bbox, c.bbox) > 0.5 * min(c.bbox[2] - c.bbox[0], o.bbox[2] - o.bbox[0])
               for o in boxes)


def _below(cells: PageCells, top: Cell, x0: float, x1: float, max_gap: float) -> Cell | None:
    """The nearest box under `top` that overlaps the column [x0, x1], within max_gap line heights."""
    h = top.height
    near = cells.tops_between(top.bbox[1] + 0.5 * h, top.bbox[3] + max_gap * h)
    out = [c for c in near if c.page == top.page and c is not top and c.bbox[1] >= top.bbox[1] + 0.5 * h
           and c.bbox[1] - top.bbox[3] <= max_gap * h and min(c.bbox[2], x1) - max(c.bbox[0], x0) > 0]
    return min(out, key=lambda c: (c.bbox[1], c.bbox[0])) if out else None


def _continuation(cells: list[Cell], first: Cell, alone: bool = False) -> list[Cell]:
    """Lines of a multi-line answer: stacked under its first line, starting at about its left
    edge, with no wider gap than a line. With `alone`, only lines with nothing else on their
    row: a paragraph's lines, not a table's next rows."""
    lines = [first]
    while len(lines) < MAX_VALUE_LINES:
        last = lines[-1]
        nxt = _below(cells, last, first.bbox[0], first.bbox[2], max_gap=0.8)
        if nxt is None or nxt.used or closed_key(nxt) or abs(nxt.bbox[0] - first.bbox[0]) > 0.03:
            break
        if alone and len(_mates(cells, nxt)) > 1:
            break
        if any(c.bbox[2] <= nxt.bbox[0] + 0.005 and _keyish(c) and any(r is nxt for r in _row(cells, c))
               for c in _mates(cells, nxt)):
            break  # the answer of the label left of it (not a line stacked beside that label's answer)
        lines.append(nxt)
    return lines


# Labels over a list of people, one answer per line ("cc: A. Smith / B. Jones", a distribution
# list printed in columns): each line is an answer of its own, not one wrapped answer.
_LIST_LABEL = re.compile(r"^(cc|c\.c\.|bcc|to|distribution)\s*[:.]?$", re.IGNORECASE)


def _may_wrap(key: Cell, answer: Cell) -> bool:
    """A colon label's short answer may go on over the lines under it (an address, a name and
    its group) unless it is a list's first item, a number or a date: those end on their line."""
    text = answer.text
    return not (_LIST_LABEL.match(key.text) or _NUMBER_CELL.match(text) or _whole_date(text))


def _whole_date(text: str) -> bool:
    spans = find_dates(text)
    return len(spans) == 1 and len(spans[0].text) >= len(text.strip(" .,")) - 1


def _list_answers(cells: PageCells, key: Cell, first: Cell) -> list[Cell]:
    """The lines of a list under a list label: stacked under its first answer and under the
    answers beside that one on its row (a list in columns)."""
    if not _LIST_LABEL.match(key.text) or _wide_item(first):
        return [first]
    heads = [first]
    for c in _row(cells, first):  # the list's columns, each within a gap of the one before it
        if c.used or _keyish(c) or _wide_item(c) or c.bbox[0] - heads[-1].bbox[2] > MAX_RIGHT_GAP:
            break
        heads.append(c)
    out: list[Cell] = [first]
    for head in heads:
        for c in _continuation(cells, head):
            if not any(c is o for o in out) and _list_item(cells, c):
                out.append(c)
    return out


def _list_item(cells: PageCells, c: Cell) -> bool:
    """A name or a group in a list ("R. H. Orcutt", "Records"): words, not a number (a form
    number printed under the list), not a label with an answer of its own."""
    return (not _wide_item(c) and not closed_key(c) and not _starts_value(c.text)
            and sum(ch.isalpha() for ch in c.text) >= 2
            and not (_keyish(c) and _has_row_value(cells, c)))


def _is_value(cell: Cell) -> bool:
    return not cell.used and not closed_key(cell) and bool(cell.text.strip(" .:_-"))


def _keyish(cell: Cell) -> bool:
    return cell.leader or _keyish_box(cell.text, cell.joined_label, cell.split_value)


@functools.lru_cache(maxsize=16384)
def _keyish_box(text: str, joined_label: bool, split_value: bool) -> bool:
    return _closed_text(text) or joined_label or (not split_value and _label_like_text(text))


_NUMBER_CELL = re.compile(r"^[-+]?\.?\d[\d.,]*[*+%]*$")
_DATE_PART = re.compile(r"^\d{1,2}$")
_UNIT = re.compile(r"^(%|[a-zµ]{1,3}\.?(/[a-zµ]{1,3}\.?)?)$", re.IGNORECASE)


_CURRENCY_ONLY = re.compile(r"^[$£€]$")


def _joins(group: list[Cell], nxt: Cell) -> bool:
    """Is `nxt` the rest of the answer `group` ends with? OCR splits "84 mm" into two boxes:
    a box a word space away, or a unit ("mm", "mg/cc", "%") after a number, belongs to it;
    so do an amount after a lone currency sign ("$   -0-") and a bracketed remark after an
    answer ("CARDINAL CIGARETTES  (11 PACKINGS)"). (Not a time after a date: in a table those
    are two columns, "Air Date  Air Time".)"""
    last = group[-1]
    gap = nxt.bbox[0] - last.bbox[2]
    h = max(last.height, nxt.height)
    if gap <= 5.0 * h and _CURRENCY_ONLY.match(last.text):
        return True
    if gap <= 3.0 * h and _remark(last.text, nxt.text):
        return True
    if (_NUMBER_CELL.match(last.text) and _NUMBER_CELL.match(nxt.text) and gap > 0.3 * h
            and not (_DATE_PART.match(last.text) and _DATE_PART.match(nxt.text))):
        return False  # two numbers side by side are two answers (a table's columns), not "8 10 82"
    if gap <= 0.8 * h:
        return True
    return gap <= 5.0 * h and last.text[-1:].isdigit() and bool(_UNIT.match(nxt.text))


def _remark(answer: str, nxt: str) -> bool:
    """A bracketed remark of words or a date after an answer that is not itself bracketed (a
    grid's bracketed figures, "(224)  (222)", are its columns)."""
    return (nxt.startswith("(") and not answer.startswith("(")
            and (any(ch.isalpha() for ch in nxt) or bool(find_dates(nxt))))


def _row(cells: list[Cell], key: Cell) -> list[Cell]:
    """The boxes right of `key` on its row, left to right."""
    return _unstack(key, [c for c in _mates(cells, key) if c is not key and c.bbox[0] >= key.bbox[2] - 0.005])


def _row_values(cells: list[Cell], key: Cell, closed: bool) -> list[list[Cell]]:
    """The answers right of a label on its row: runs of value boxes (a number and its unit
    are one answer), up to the next label. A grid row holds one answer per column."""
    groups: list[list[Cell]] = []
    right = key.bbox[2]
    for c in _row(cells, key):
        if c.bbox[0] - right > MAX_RIGHT_GAP or c.used or closed_key(c):
            break
        if groups and _joins(groups[-1], c) and not _starts_field(cells, c):
            groups[-1].append(c)
        elif label_like(c) and not (closed and not groups and not _has_row_value(cells, c) and not _blank_field(c)):
            break  # the next label (a colon label's answer may look like one, unless it has its own)
        elif not c.text.strip(" .:_-"):
            right = c.bbox[2]
            continue
        else:
            groups.append([c])
        right = c.bbox[2]
    return groups


_BLANK_FIELDS = frozenset("date name title signature phone telephone".split())


def _blank_field(cell: Cell) -> bool:
    """"Approved By:  ____  Date ____": a label of the next field left blank, not an answer."""
    return cell.text.strip(".:").lower() in _BLANK_FIELDS


def _starts_field(cells: list[Cell], cell: Cell) -> bool:
    """A label a word space after an answer ("LT-10-79 DATE March 27, 1984") starts the next
    field when it names a field or has an answer of its own, rather than ending the answer."""
    return label_like(cell) and bool(_field_words(cell.text) or _has_row_value(cells, cell))


def _has_row_value(cells: list[Cell], cell: Cell) -> bool:
    """A label followed on its row by a value box of its own (it is a key, not a value); a
    bracketed remark close after it is its own ("CARDINAL CIGARETTES (11 PACKINGS)")."""
    right = _right_neighbour(cells, cell)
    return (right is not None and not right.used and not _keyish(right)
            and not (_remark(cell.text, right.text) and right.bbox[0] - cell.bbox[2] <= 3.0 * cell.height))


# "S2.00", "S58,500.00": OCR reads a dollar sign as S before an amount with cents.
_S_AMOUNT = re.compile(r"(?<![\w$])S(?=\d{1,3}(?:,\d{3})*\.\d\d\b)")


_SIGN_OFF = re.compile(
    r"signature|\bsigned\b|\b(?:approved|submitted|prepared|authori[sz]ed|reviewed|requested|initiated) by\b",
    re.IGNORECASE)
_SIGNATURE_LABEL = re.compile(r"signature", re.IGNORECASE)  # a line that is a field even left blank


def _signature(key: Cell, values: list[Cell]) -> bool:
    """The answer of a sign-off label ("Approved By:", "SIGNATURE(S):") read as handwriting."""
    return (len(key.text.split()) <= MAX_KEY_WORDS and bool(_SIGN_OFF.search(key.text))
            and min(v.confidence for v in values) < SIGNATURE_TEXT_CONFIDENCE)


class RulePairs(list):
    """The rules' pairs (KeyValue) of a page and, beside each, the boxes it joins and the rule's
    own confidence: what the pair check (form_pair_check.py) judges it by."""

    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[tuple[Cell, list[Cell], float]] = []

    def add(self, key: Cell, values: list[Cell], confidence: float, *, key_text: str | None = None) -> None:
        key.is_key = True
        for v in values:
            v.links.append(key)
        pair = _key_value(key, values, confidence)
        if key_text is not None:
            pair.key = key_text
        self.append(pair)
        self.boxes.append((key, values, confidence))


def _key_value(key: Cell, values: list[Cell], confidence: float) -> KeyValue:
    text = "" if _signature(key, values) else " ".join(v.text for v in values)
    return KeyValue(
        key=key.text, value=_S_AMOUNT.sub("$", text), page=key.page,
        key_bbox=key.bbox,
        value_bbox=union_bbox([v.bbox for v in values]),
        confidence=round(confidence * min([key.confidence] + [v.confidence for v in values]), 4),
    )


def _wide(cell: Cell) -> bool:
    """A line long enough to be running text that wraps (a comment, a description)."""
    return cell.bbox[2] - cell.bbox[0] >= 0.25 and len(cell.text.split()) >= 4


def _wide_item(cell: Cell) -> bool:
    """Running text rather than one entry of a list: a name with its title and suffix
    ("Mr. Lucien L. Bass, III") may be as wide as a short sentence, not as many words."""
    return _wide(cell) and len(cell.text.split()) > 5


def _take(key: Cell, values: list[Cell]) -> None:
    key.used = True
    for v in values:
        v.used = True


def _overlap(a: BBox, b: BBox) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def _value_groups(cells: list[Cell]) -> list[list[Cell]]:
    """Every answer box run of the page (see _joins), row by row, outside the labels."""
    groups: list[list[Cell]] = []
    prev: Cell | None = None
    for c in cells:  # reading order: rows, each left to right
        if _keyish(c) or not c.text.strip(" .:_-"):
            prev = None
            continue
        if prev is not None and _same_row(prev, c) and _joins(groups[-1], c):
            groups[-1].append(c)
        else:
            groups.append([c])
        prev = c
    return groups


def _row_key(cells: list[Cell], group: list[Cell]) -> Cell | None:
    """The nearest label left of an answer on its row."""
    left = [c for c in _mates(cells, group[0]) if c.bbox[2] <= group[0].bbox[0] + 0.005 and _keyish(c)]
    return max(left, key=lambda c: c.bbox[2]) if left else None


def _heading(cells: list[Cell], head: Cell) -> str:
    """A column heading's text, with the heading lines stacked right above it ("BWIT" over
    "Suggestion"): label boxes that sit over this heading only."""
    parts = [head.text]
    top = head
    while True:
        # Heading lines may be set tight, overlapping a little (slack 0.5).
        up = cells.above(top.bbox, top.bbox[1], top.page, top.height, slack=0.5)
        if (up is None or up.used or not label_like(up) or top.bbox[1] - up.bbox[3] > 0.5 * top.height
                or any(c is not head and _overlap(c.bbox, up.bbox) > 0 for c in _mates(cells, head))):
            return " ".join(parts)
        parts.insert(0, up.text)
        top = up


def _column_heading(cells: list[Cell], group: list[Cell]) -> Cell | None:
    """The heading over an answer in a table: the nearest label above its column, reached
    through the column's other answers only, over the columns right of the row's own label."""
    if any(_wide(c) for c in group):
        return None
    box = union_bbox([c.bbox for c in group])
    h = max(c.height for c in group)
    top = box[1]
    column, start = cells.column(box, group[0].page, top + 0.3 * h), 0
    while True:
        up, start = first_above(column, start, top, h)
        if up is None or top - up.bbox[3] > 3.5 * h:
            return None
        if _keyish(up):
            break
        top = up.bbox[1]
    if up.used or len(up.text.split()) > MAX_HEADING_WORDS or _has_row_value(cells, up):
        return None
    key = _row_key(cells, group)
    if key is not None and up.bbox[0] < key.bbox[2] - 0.005:
        return None
    return up if _heading_row(cells, up) else None


def _heading_row(cells: PageCells, up: Cell) -> bool:
    """A table shows itself by a heading row: several headings over answers (a lone phrase over
    a value is more often a title than a heading). Asked for each answer under a heading, so
    kept per heading (it looks at geometry and lettering only, which pairing never changes)."""
    hit = cells.heading_rows.get(id(up))
    if hit is None:
        hit = any(c is not up and _keyish(c) and _heads_value(cells, c) for c in _mates(cells, up))
        cells.heading_rows[id(up)] = hit
    return hit


_TAIL_START = re.compile(r"^\d+\s+[A-Za-z]{2,}")


def _heading_tail(cells: PageCells, head: Cell) -> list[Cell]:
    """The second line of a column heading that starts with a figure ("Mean of Last" over
    "12 Samples"): a short line tight under the heading, read as part of it, not an answer.
    OCR may cut it into the figure and the words ("12", "Samples"): both boxes, in order."""
    below = _below(cells, head, head.bbox[0], head.bbox[2], max_gap=0.5)
    if below is None or below.used or abs(below.bbox[0] - head.bbox[0]) > 2 * head.height:
        return []
    if _TAIL_START.match(below.text) and len(below.text.split()) <= 3:
        return [below]
    if below.text.isdigit():
        right = _right_neighbour(cells, below)
        if (right is not None and not right.used and right.text.isalpha() and len(right.text) > 3
                and right.text[1:].islower()  # "Samples"; not a call sign in a table's first row ("16 KLAS")
                and right.bbox[0] - below.bbox[2] <= 1.5 * head.height and right.bbox[2] <= head.bbox[2] + head.height):
            return [below, right]
    return []


def _heads_value(cells: list[Cell], head: Cell) -> bool:
    below = _below(cells, head, head.bbox[0], head.bbox[2], max_gap=2.0)
    return below is not None and not _keyish(below)


def read_form_pairs(doc: Document, links: bool = True) -> list[KeyValue]:
    """The form's question -> answer pairs: the layout rules' pairs, and with `links` the ones
    the link model (form_links.py) adds."""
    return [pair for cells in cells_by_page(doc) for pair in _page_pairs(cells, links)]


def cells_by_page(doc: Document) -> list[PageCells]:
    # Pairs never cross pages, and pairing looks at every box of its page: one page at a time
    # keeps a 400-page document linear in pages instead of quadratic in its boxes.
    by_page: dict[int, list[Cell]] = {}
    for cell in page_cells(doc):
        by_page.setdefault(cell.page, []).append(cell)
    pages = {p.number: p for p in doc.pages}
    return [PageCells(cells, pages[number].rulings if number in pages else (),
                      scanned=number in pages and pages[number].text_source == "ocr")
            for number, cells in by_page.items()]


def _label_tail(cells: PageCells, key: Cell) -> Cell | None:
    """The second line of a label printed over two lines: right under it, at its left edge,
    and reading on from it ("Perforation Type" / "and No. of lines", "STRENGTH" / "(7=Stronger)")."""
    h = key.height
    for c in cells.tops_between(key.bbox[3] - 0.3 * h, key.bbox[3] + 0.6 * h):
        if (c is not key and 0 <= c.bbox[1] - key.bbox[3] + 0.3 * h <= 0.9 * h
                and abs(c.bbox[0] - key.bbox[0]) <= 0.03
                and ((_reads_on(c.text) and not closed_key(c))
                     or (_closes_label(key, c) and not _has_row_value(cells, key)))
                and not (_has_row_value(cells, key) and _own_row_value(cells, c, key))):
            return c
    return None


_OPEN_END = frozenset("of for to and & the per in on by".split())


def _closes_label(key: Cell, c: Cell) -> bool:
    """"OTHER" / "INFORMATION:", "SOURCE OF" / "INFORMATION:": a label's last word and its
    colon on the next line, in the same lettering, under one word or words that cannot end a
    label (two stacked labels, or a name over a label, are more often two lines of their own)."""
    head = key.text.split()
    return (not closed_key(key) and closed_key(c) and len(c.text.split()) == 1
            and (len(head) == 1 or head[-1].strip(".,").lower() in _OPEN_END)
            and key.text.isupper() == c.text.isupper() and _label_like_text(c.text.rstrip(":")))


def _own_row_value(cells: list[Cell], cell: Cell, other: Cell) -> bool:
    """`cell` has a value on its row that is not rather on `other`'s row."""
    right = _right_neighbour(cells, cell)
    return (right is not None and not _keyish(right)
            and abs(right.cy - cell.cy) < abs(right.cy - other.cy))


def _reads_on(text: str) -> bool:
    """"(7=Stronger)", "and No. of lines": a label's second line, not an answer ("(224)", "mm")."""
    words = text.split()
    if len(words) > MAX_KEY_WORDS or text.endswith((".", ",", ";")):
        return False
    if text.startswith("("):
        return sum(ch.isalpha() for ch in text) >= 3
    return text[:1].islower() and len(words) >= 2


def _label_qualifier(cells: PageCells, key: Cell) -> Cell | None:
    """"NUMBER OF PAGES (INCLUDING COVER SHEET):" read as two boxes: a bracketed colon phrase a
    word space right of a label finishes that label."""
    right = _right_neighbour(cells, key)
    if (right is not None and right.text.startswith("(") and closed_key(right)
            and right.bbox[0] - key.bbox[2] <= 1.0 * max(key.height, right.height)):
        return right
    return None


def _join_label_lines(cells: list[Cell]) -> list[Cell]:
    out: list[Cell] = []
    tails: set[int] = set()
    for c in cells:
        if id(c) in tails:
            continue
        own = _keyish(c) and not any(o.bbox[2] <= c.bbox[0] + 0.005 and closed_key(o) for o in _mates(cells, c))
        tail = _label_tail(cells, c) if own else None  # (not the answer of a label left of it)
        if tail is None and own and label_like(c) and not closed_key(c):
            qualifier = _label_qualifier(cells, c)
            if qualifier is not None and id(qualifier) not in tails:
                tails.add(id(qualifier))
                c = Cell(c.page, f"{c.text} {qualifier.text}", union_bbox([c.bbox, qualifier.bbox]),
                         min(c.confidence, qualifier.confidence), c.words + qualifier.words)
        if tail is not None and id(tail) not in tails:
            tails.add(id(tail))
            c = Cell(c.page, f"{c.text} {tail.text}", union_bbox([c.bbox, tail.bbox]),
                     min(c.confidence, tail.confidence), c.words + tail.words, joined_label=label_like(c))
        out.append(c)
    return out


_OPTIONS = frozenset({"yes", "no", "n/a", "na"})


def _offers_options(cells: PageCells, key: Cell, first: list[Cell]) -> bool:
    """A question followed on its row by a choice of printed options ("Yes", "No"), not by
    an answer of its own."""
    if len(first) != 1 or first[0].text.strip(".:").lower() not in _OPTIONS:
        return False
    return any(c is not first[0] and c.text.strip(".:").lower() in _OPTIONS for c in _row(cells, key))


def _tick(cells: list[Cell], mark: Cell, out: "RulePairs") -> None:
    """A ticked box answers the option printed next to it: the nearer label on its row, the
    one after it on a tie ("X Proposed", "Yes x  No")."""
    h = mark.height
    row = [c for c in _mates(cells, mark) if c is not mark and not c.used and label_like(c)]
    right = [(c.bbox[0] - mark.bbox[2], 0, c) for c in row if c.bbox[0] >= mark.bbox[2] - 0.005]
    left = [(mark.bbox[0] - c.bbox[2] + 0.3 * h, 1, c) for c in row if c.bbox[2] <= mark.bbox[0] + 0.005]
    near = [t for t in right + left if t[0] <= 1.5 * h]
    if near:
        _, _, label = min(near, key=lambda t: (t[0], t[1]))
        _take(label, [mark])
        out.add(label, [mark], 0.5)


def _answer_under_label(cells: PageCells, key: Cell) -> list[Cell] | None:
    """A boxed form prints a small label at the top of its box and the answer under it
    ("DATE WANTED" over "As required"): the nearest box under a field label, in its column,
    that is no label, has no label of its own left of it, and sees this label as the box above."""
    if not _field_words(key.text) or len(key.text.split()) > MAX_HEADING_WORDS:
        return None
    right = _right_neighbour(cells, key)
    if right is not None and not _keyish(right):
        return None
    h = key.height
    near = [c for c in cells.tops_between(key.bbox[1] + 0.3 * h, key.bbox[3] + 2.0 * h)
            if c is not key and not _same_row(c, key) and key.bbox[0] - 0.01 <= c.bbox[0] <= key.bbox[2] + 0.05]
    if not near:
        return None
    below = min(near, key=lambda c: (c.bbox[1], c.bbox[0]))
    if (not _is_value(below) or _keyish(below) or _wide(below)
            or _row_key(cells, [below]) is not None):
        return None
    up = cells.above(below.bbox, below.bbox[1], below.page, below.height)
    if up is not None and up is not key and up.bbox[3] > key.bbox[1] + 0.3 * h:
        return None  # another box lies between the label and this one
    return [below]


def _page_pairs(cells: list[Cell], links: bool = True) -> list[KeyValue]:
    # Both build on this module's helpers.
    from docproc.readers.rules import form_links, form_pair_check

    cells, out = rule_pairs(cells)
    if not links:
        return list(out) + link_pairs(cells, [])
    cands = form_links.candidates(cells)
    x = form_links.features(cells, cands)
    return (form_pair_check.checked(cells, cands, x, out)
            + link_pairs(cells, form_links.extra_links(cells, cands, x)))


def link_pairs(cells: list[Cell], links: list[tuple[Cell, Cell, float]]) -> list[KeyValue]:
    """After the rules' pairs (`rule_pairs`): the link model's (key, answer, probability) links,
    and every signature line left without an answer. A signature line is a field whether signed
    by hand (OCR found no text to pair) or left blank: its answer has no text. Only "Signature":
    other sign-off labels ("Approved By") left alone more often head a name printed elsewhere.
    Marks no box (the training script scores several link sets over the same boxes)."""
    # A learned link's confidence is its probability, as a checked rule pair's (form_pair_check.py).
    out = [_key_value(key, [value], p) for key, value, p in links]
    keys = {id(key) for key, _, _ in links}
    out += [KeyValue(key=c.text, value="", page=c.page, key_bbox=c.bbox,
                     confidence=round(BLANK_SIGNATURE_CONFIDENCE * c.confidence, 4))
            for c in cells if not c.is_key and not c.links and id(c) not in keys
            and _SIGNATURE_LABEL.search(c.text) and len(c.text.split()) <= MAX_KEY_WORDS]
    return out


def rule_pairs(cells: list[Cell]) -> tuple[PageCells, RulePairs]:
    """The page's boxes (label lines joined) and the pairs the layout rules find among them;
    each box's `links` name the keys it answers."""
    cells = PageCells(_join_label_lines(cells), getattr(cells, "rulings", ()), getattr(cells, "scanned", False))
    out = RulePairs()
    headed = []
    in_table: set[int] = set()  # ids of the answer boxes that sit under a column heading
    for group in _value_groups(cells):
        head = _column_heading(cells, group)
        if head is not None:
            headed.append((head, group))
            in_table.update(id(c) for c in group)
    tails = {id(head): _heading_tail(cells, head) for head, _ in headed}
    owner = {id(t): head for head, _ in headed for t in tails[id(head)]}
    # A heading's second line is no answer, and answers found under it belong to the heading.
    headed = [(owner.get(id(head), head), group) for head, group in headed if id(group[0]) not in owner]
    for parts in tails.values():
        for t in parts:
            t.used = True
    headings = {id(head) for head, _ in headed}
    for mark in cells:
        if mark.text in _MARKS and not mark.used:
            _tick(cells, mark, out)
    for key in cells:
        if key.used:
            continue
        closed = closed_key(key)
        if not closed and not label_like(key):
            continue
        groups = _row_values(cells, key, closed)
        if not groups and not closed:
            right = _right_neighbour(cells, key)
            if (right is not None and not right.used and label_like(right) and id(right) not in headings
                    and not _has_row_value(cells, right)
                    and (key.text.isupper() != right.text.isupper()
                         or (_field_words(key.text) and not _field_words(right.text)
                             and len(_mates(cells, key)) == 2))):
                groups = [[right]]  # "Brand  BELAIR": the box after a label is its answer
        # A label's first answer on its row is its own; more answers on the row are a table's
        # row ("Length  99 mm  99 mm" under two column headings), else another label's.
        groups = groups[:1] + [g for g in groups[1:] if id(g[0]) in in_table]
        if closed and groups and _offers_options(cells, key, groups[0]):
            continue  # "Budgeted:  Yes  No  X": the ticked option answers, not the question
        if groups:
            first = groups[0]
            listed = _LIST_LABEL.match(key.text) and not _wide_item(first[0])
            if (closed and len(first) == 1 and not listed
                    and (_wide(first[0]) or (len(groups) == 1 and _may_wrap(key, first[0])))):
                groups[0] = _continuation(cells, first[0])
            elif not closed and len(first) == 1 and len(groups) == 1 and _wide(first[0]):
                groups[0] = _continuation(cells, first[0], alone=True)  # "COMMENTS  Tested among ..." over lines
            elif closed and len(first) == 1:
                groups = [[c] for c in _list_answers(cells, key, first[0])] + groups[1:]
            key.used = True
            for values in groups:
                _take(key, values)
                out.add(key, values, 0.8 if closed else 0.55)
            continue
        if not closed:
            if id(key) not in headings:
                values = _answer_under_label(cells, key)
                if values:
                    _take(key, values)
                    out.add(key, values, 0.3)
            continue
        if _right_neighbour(cells, key) is not None:
            continue
        # Nothing on its row: the answer is the box under the label, in its column (a wide
        # line is running text that may wrap onto more lines).
        below = _below(cells, key, key.bbox[0] - 0.01, key.bbox[2] + 0.1, max_gap=1.2)
        is_label = below is not None and label_like(below) and not _wide(below)
        if below is not None and _is_value(below) and not is_label and below.bbox[0] >= key.bbox[0] - 0.03:
            if not _wide(below):
                for item in _list_answers(cells, key, below):
                    _take(key, [item])
                    out.add(key, [item], 0.35)
                continue
            values = _continuation(cells, below)
            _take(key, values)
            out.add(key, values, 0.6)
    for head, group in headed:
        if not head.used:
            out.add(head, group, 0.45,
                    key_text=" ".join([_heading(cells, head)] + [t.text for t in tails.get(id(head), [])]))
    return cells, out
