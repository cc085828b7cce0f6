"""Candidates for a field: a typed value found next to one of its labels (same line to the
right, a separate cell on the same row, or below in the label's column), scored by the label
match and by where the value sits relative to it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from docproc.document import BBox, FieldValue, union_bbox
from docproc.normalize import currency_code, normalize_id
from docproc.readers.rules.labels import LabelHit
from docproc.readers.rules.values import Value, clean_name, extract, find_date_ranges
from docproc.readers.rules.view import DocView, TextLine
from docproc.schemas import FieldSpec

# How much a value's position says it belongs to the label.
SAME_LINE, RIGHT_CELL, BELOW, BELOW_WHOLE = 1.0, 0.92, 0.8, 0.6
STRING_TRUST = 0.85


@dataclass
class Candidate:
    field: str
    value: Value
    line: TextLine
    offset: int  # where value offsets start in line.text
    score: float
    how: str
    box: BBox | None = None  # a value spanning several lines carries its own box

    @property
    def bbox(self) -> BBox:
        if self.box is not None:
            return self.box
        return self.line.span_bbox(self.offset + self.value.start, self.offset + self.value.end)

    def to_field_value(self) -> FieldValue:
        return FieldValue(
            value=self.value.text,
            normalized=self.value.normalized,
            confidence=round(min(1.0, self.score), 4),
            page=self.line.page,
            bbox=self.bbox,
            currency=self.value.currency,
            source="rules",
            evidence=self.how,
        )


def _column_text(line: TextLine, x0: float, x1: float) -> tuple[str, int] | None:
    """The words of `line` that lie under [x0, x1] (with some slack), and their offset."""
    slack = 0.02
    # A word mostly left of the column (its centre outside) belongs to the cell before it.
    inside = [k for k, (s, e, b) in enumerate(line.words) if b[2] >= x0 - slack and b[0] <= x1 + slack
              and (b[0] + b[2]) / 2 >= x0 - slack]
    if not inside:
        return None
    last = inside[-1]
    # A value printed wider than its label runs on to the right with ordinary word gaps.
    while last + 1 < len(line.words):
        prev, nxt = line.words[last][2], line.words[last + 1][2]
        height = prev[3] - prev[1]
        if nxt[0] - prev[2] > 1.5 * height:
            break
        last += 1
    start, end = line.words[inside[0]][0], line.words[last][1]
    return line.text[start:end], start


def _separated(line: TextLine, end: int) -> bool:
    """A label is set apart from a text value by a colon/dash or a visible gap; without one,
    "Customer Corp Ltd" is a name, not the label "customer" and a value."""
    rest = line.text[end:]
    if re.match(r"\s*[:#\-–|]", rest):
        return True
    before = [b for s, e, b in line.words if e <= end]
    after = [b for s, e, b in line.words if s >= end]
    if not before or not after:
        return False
    char_w = (before[-1][2] - before[-1][0]) / max(1, len(line.text[:end].split()[-1]))
    return after[0][0] - before[-1][2] > 2.5 * char_w


# A form label: "26. PATIENT'S ACCOUNT NO.", "Invoice Date:", "AUTO ACCIDENT?".
_FORM_LABEL = re.compile(r"^\s*(?:\d{1,2}[a-z]?\.\s*)?[A-Za-z][^\d]*[:?]\s*$|^\s*\d{1,2}[a-z]?\.\s+[A-Za-z]{2,}")
# The next numbered box's label read on into this one's line: "27. ACCEPT"; after a numbered
# box's own label ("26. PATIENT'S ACCOUNT NO."), also as OCR cuts it on poor scans: "27 ACE",
# "2 7 ACCE" (elsewhere "TOTAL 12 PCS" is a count and its unit).
_NEXT_BOX = re.compile(r"^\s*\d{1,2}[a-z]?\.\s*[A-Za-z]{2,}")
_NEXT_BOX_CUT = re.compile(r"^\s*\d\s?\d?[a-z]?\.?\s+[A-Z]{2,}")
# "26. " right before a label, or "2 " opening its line (the period lost on a poor scan)
_BOX_NUMBER = re.compile(r"(?:^|(?<=\s))(\d{1,2})[a-z]?\.\s*$|^\s*(\d{1,2})[a-z]?\s+$")
_BOX_IN_LABEL = re.compile(r"(?:^|(?<=\s))(\d{1,2})[a-z]?\.(?=\s)")
_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]")
_CURRENCY_WORDS = re.compile(r"\b[A-Z]{3}\b|[€$£¥]|\b(?:rm|usd|eur|incl|excl|gst|vat)\b", re.IGNORECASE)


def _box_number(line: TextLine, hit: LabelHit) -> int | None:
    """The number of a form's box whose label `hit` is ("26. PATIENT'S ACCOUNT NO." -> 26)."""
    m = _BOX_NUMBER.search(line.text[:hit.start])
    if m:
        return int(m.group(1) or m.group(2))
    m = _BOX_IN_LABEL.search(line.text[hit.start:hit.end] + " ")  # "EIN 26. PATIENT'S ...": read with it
    return int(m.group(1)) if m else None


def _currency_only(line: TextLine) -> bool:
    """A cell that holds a currency and nothing else ("RM", "USD:"), printed apart from its amount."""
    return currency_code(line.text.strip(" :")) is not None


def is_label_line(view: DocView, line: TextLine) -> bool:
    """The line is (or starts with) a label: a schema label or a printed form label."""
    text_len = max(1, len(line.text.strip()))
    if any(start <= 2 and (end - start) >= 0.6 * text_len for start, end in view.label_spans.get(line.index, [])):
        return True
    return bool(_FORM_LABEL.search(line.text))


def _value_dominates(spec: FieldSpec, text: str, v: Value) -> bool:
    """A cell taken as a whole is the value when little else is in it: "30. Rsvd. for NUCC Use"
    is a label with a box number, not the amount 30."""
    if spec.value_type == "string":
        return True
    before = _CURRENCY_WORDS.sub("", text[: v.start])
    if spec.value_type == "money" and re.search(r"[.,]\d{2}$", v.text) and len(_LETTERS.findall(before)) == 0:
        return True  # "$1,640.00 Total Spots": an amount first, the next cell's label glued on after it
    rest = before + " " + _CURRENCY_WORDS.sub("", text[v.end:])
    return len(_LETTERS.findall(rest)) <= 4


def _pattern_tokens(spec: FieldSpec, text: str) -> Value | None:
    """The first token of `text` that matches the field's own pattern (NPI: ten digits)."""
    pattern = re.compile(spec.pattern)
    for m in re.finditer(r"[A-Za-z0-9][\w./-]*", text):
        tok, start = m.group(0).rstrip(".,;:"), m.start()
        if not pattern.fullmatch(tok) and _GLUED_BOX_LETTER.match(tok) and pattern.fullmatch(tok[1:]):
            tok, start = tok[1:], start + 1  # the sub-box's letter OCR read into it: "a2767672373" (box 33a)
        if pattern.fullmatch(tok):
            return Value(start, start + len(tok), tok, normalize_id(tok))
    return None


_GLUED_BOX_LETTER = re.compile(r"^[a-z]\d")


_LEAD_LABEL = re.compile(r"\s*[:#\-]?\s*[A-Z][a-z]+:\s+(?=\S)")


def _own_text(view: DocView, line: TextLine, hit: LabelHit, rest: str) -> str:
    """The text after a label that can be its free-text value: up to the next label printed on
    the line ("Advertiser Invoice # 140021891": none), without a label word of the line below
    that text extraction merged in front of it ("Advertiser: Agency: House Freedom Act").
    Offsets stay those of `rest` (cut text becomes spaces)."""
    later = [s for s, e in view.label_spans.get(line.index, []) if s >= hit.end]
    if later:
        rest = rest[: min(later) - hit.end]
    m = _LEAD_LABEL.match(rest)
    if m:
        rest = " " * m.end() + rest[m.end():]
    return rest


def _cell_text(view: DocView, line: TextLine) -> str:
    """The text of a cell up to a word where another column starts: a word that begins where
    two of the lines just above and below it begin ("... /US/Dem Invoice Date" over "Invoice Month")
    opens the next cell. Offsets stay those of line.text."""
    h = max(line.height, 0.005)
    starts = [o.bbox[0] for o in view.lines if o.page == line.page and o is not line
              and abs(o.cy - line.cy) <= 2.5 * h and abs(o.cy - line.cy) > 0.5 * h]
    for s, e, b in line.words[1:]:
        if sum(1 for x in starts if abs(b[0] - x) <= 0.003) >= 2:  # a column, not one line by chance
            return line.text[:s].rstrip()
    return line.text


def _wrapped(view: DocView, c: Candidate) -> Candidate:
    """A name printed over two lines ("Advertiser: Mike Bloomberg 2020," / "Inc"): the second
    line starts where the value starts, touches the first line (or the value ends in a comma,
    a dash or '&') and is short free text, not a label or a number."""
    box = c.bbox
    if re.search(r"\b[A-Z][a-z]+:\s", c.line.text[c.offset: c.offset + c.value.start]):
        return c  # a label of the next line was merged in front: what follows is its value
    first = c.value.text + ("," if c.line.text[c.offset + c.value.end:].startswith(",") else "")
    for o in view.below(c.line, box, max_lines=1.0):
        gap = o.bbox[1] - c.line.bbox[3]
        joined = gap <= 0 or re.search(r"[,&\-]\s*$", first)
        if (abs(o.bbox[0] - box[0]) <= 0.01 and joined and len(o.text) <= 30 and ":" not in o.text
                and _LETTERS.search(o.text) and not is_label_line(view, o)):
            text = f"{first} {o.text}"
            value = Value(c.value.start, c.value.end, text, clean_name(text))
            return replace(c, value=value, box=union_bbox([box, o.bbox]))
        break
    return c


def near_label(view: DocView, spec: FieldSpec, hit: LabelHit) -> list[Candidate]:
    """Typed values in the places a label points to: the rest of its line, the next cell on
    its row, or the first line below it in its column (before any other label)."""
    out: list[Candidate] = []
    line = hit.line
    rest = line.text[hit.end:]
    # Free text has no type to check it against: a label's neighbour is its value less surely.
    trust = STRING_TRUST if spec.value_type == "string" else 1.0
    hit = replace(hit, score=hit.score * trust)
    if spec.value_type == "string":
        rest = _own_text(view, line, hit, rest)
    # "27. ACCEPT ...": the rest of the line, and the cells right of it, are the next box's.
    box = _box_number(line, hit)
    # After box 26's label: box 27's number, alone or opening its label ("27.", "27 .ACCET", "3 PATIENTS").
    next_no = None if box is None else re.compile(rf"\s*{box + 1}\s?\.?(?!\d)")
    next_box = bool(_NEXT_BOX.match(rest) or (box is not None and (_NEXT_BOX_CUT.match(rest) or next_no.match(rest))))
    v = None if next_box else extract(spec, rest, view.ctx)
    if v is not None and spec.pattern and not re.fullmatch(spec.pattern, str(v.normalized)):
        v = _pattern_tokens(spec, rest)
    if v is not None and (spec.value_type != "string" or _separated(line, hit.end)):
        c = Candidate(spec.name, v, line, hit.end, hit.score * SAME_LINE, "same line")
        out.append(_wrapped(view, c) if spec.value_type == "string" else c)
    label_box = line.span_bbox(hit.start, hit.end)
    cells = [] if next_box else view.right_of(line, max_gap=0.8)
    if spec.value_type == "money" and cells and _currency_only(cells[0]):
        cells = cells[:1] + view.right_of(cells[0], max_gap=0.8)  # "RM" apart: its amount is on its row
    for k, o in enumerate(cells[:2]):
        if (is_label_line(view, o) or re.fullmatch(r"[A-Za-z][A-Za-z .]*\s?#", o.text.strip())
                or (next_no is not None and next_no.match(o.text)) or _DATE_HEADS.fullmatch(o.text.strip())):
            break  # another label ("Estimate #", box 27's number, a date box's "MM DD YY"): not ours
        text = _cell_text(view, o) if spec.value_type == "string" else o.text
        v = extract(spec, text, view.ctx, whole_line=True)
        if v is not None and spec.pattern and not re.fullmatch(spec.pattern, str(v.normalized)):
            v = _pattern_tokens(spec, o.text)
        if v is not None and _value_dominates(spec, o.text, v):
            out.append(Candidate(spec.name, v, o, 0, hit.score * RIGHT_CELL * (0.9**k), "right cell"))
        # A bare count next to a money label ("Grand Total: 30 $12,350.00") is the spots or
        # quantity column, and a currency printed apart ("TOTAL : RM   39.80") heads its amount:
        # the amount may be the cell after either.
        if not (spec.value_type == "money" and ((v is not None and re.fullmatch(r"\d+", o.text.strip()))
                                                or (v is None and _currency_only(o)))):
            break
    # A value below sits in the label's column: it starts no further left than the label.
    depth = 6 if spec.pattern else 3
    below = [o for o in view.below(line, label_box, level=label_box) if not _DATE_HEADS.fullmatch(o.text.strip())]
    for k, o in enumerate(below[:depth]):
        if is_label_line(view, o) and not spec.pattern:
            break
        col = _column_text(o, label_box[0], max(label_box[2], label_box[0] + 0.15))
        if col is None:
            continue
        v = _pattern_tokens(spec, col[0]) if spec.pattern else extract(spec, col[0], view.ctx, whole_line=True)
        if v is None or not (spec.pattern or _value_dominates(spec, col[0], v)):
            continue
        c = Candidate(spec.name, v, o, col[1], hit.score * BELOW * (0.9**k), "below")
        if c.bbox[0] >= label_box[0] - 0.03:  # in the label's column: it starts no further left
            out.append(c)
            if k == 0 and _header_row(line, hit, label_box, c.bbox):
                width = label_box[2] - label_box[0]
                for r in out:
                    # Far to the right, not a value cell next to its label: another heading.
                    if r.how == "right cell" and r.line.bbox[0] - label_box[2] > 2 * width:
                        r.score *= HEADER_ROW
            break
    return out


HEADER_ROW = 0.8
# A form's date boxes print their format over them ("MM  DD  YY"): a hint, not the line below.
_DATE_HEADS = re.compile(r"(?:(?:MM|DD|YY|YYYY|CCYY)\b[\s/.-]*)+", re.IGNORECASE)
_TOTAL_WORD = re.compile(r"\btotals?\b", re.IGNORECASE)


def column_total(view: DocView, spec: FieldSpec, c: Candidate) -> Candidate | None:
    """An amount found under a column heading ("Gross Amount" over one row per month) is
    a row of a grid: the column's figure for the whole order is further down, on the row
    a "Total(s)" label heads. None when the column has no such row."""
    x0, _, x1, _ = c.bbox
    last = c.line
    for o in view.below(c.line, (x0 - 0.01, 0, x1 + 0.01, 0), max_lines=30):
        if o.bbox[1] - last.bbox[3] > 4 * max(last.height, 0.005):
            break  # the column has ended
        col = _column_text(o, x0 - 0.01, x1 + 0.01)
        v = extract(spec, col[0], view.ctx, whole_line=True) if col else None
        if v is None:
            continue
        last = o
        row = [ln for ln in view.lines if ln.page == o.page and abs(ln.cy - o.cy) < 0.6 * max(ln.height, o.height)]
        if any(_TOTAL_WORD.search(ln.text) for ln in row):
            return Candidate(spec.name, v, o, col[1], c.score, "column total")
    return None


def range_near_label(view: DocView, spec: FieldSpec, hit: LabelHit, which: int) -> list[Candidate]:
    """A period ("Flight 3/1/16 - 3/7/16") in the places a label points to: the rest of its
    line, the next cell on its row, the line under it. `which` picks the first (0) or the
    last (1) date of the period."""
    out: list[Candidate] = []
    line = hit.line
    for a, b in find_date_ranges(line.text[hit.end:], view.ctx)[:1]:
        out.append(Candidate(spec.name, (a, b)[which], line, hit.end, hit.score * SAME_LINE, "date range"))
    if out:
        return out
    for k, o in enumerate(view.right_of(line, max_gap=0.8)[:2]):
        if is_label_line(view, o):
            break
        for a, b in find_date_ranges(o.text, view.ctx)[:1]:
            out.append(Candidate(spec.name, (a, b)[which], o, 0, hit.score * RIGHT_CELL * (0.9**k), "date range"))
        if out:
            return out
    label_box = line.span_bbox(hit.start, hit.end)
    for o in view.below(line, label_box, level=label_box)[:1]:
        col = _column_text(o, label_box[0], max(label_box[2], label_box[0] + 0.15))
        if col is None:
            continue
        for a, b in find_date_ranges(col[0], view.ctx)[:1]:
            out.append(Candidate(spec.name, (a, b)[which], o, col[1], hit.score * BELOW, "date range"))
    return out


def _header_row(line: TextLine, hit: LabelHit, label_box: BBox, below: BBox) -> bool:
    """A label without a colon with a line right under it, in its column, heads a column of a
    grid ("Advertiser" over "Priorities USA Action"): the cell to its right is the next heading."""
    if re.match(r"\s*[:#]", line.text[hit.end:]):
        return False
    height = label_box[3] - label_box[1]
    return below[1] - label_box[3] <= 0.9 * height and abs(below[0] - label_box[0]) <= 0.02


def rank(cands: list[Candidate]) -> list[Candidate]:
    """One candidate per distinct value, best first; a value found by several labels or
    positions gains confidence."""
    best: dict[str, Candidate] = {}
    votes: dict[str, float] = {}
    for c in cands:
        key = str(c.value.normalized)
        votes[key] = votes.get(key, 0.0) + c.score
        if key not in best or (c.score, -c.line.index) > (best[key].score, -best[key].line.index):
            best[key] = c
    # An id read whole in one place and cut short in another ("1982847-1", "1982847"): the short
    # reading supports the whole one.
    for key in best:
        for other in best:
            if other != key and re.fullmatch(re.escape(other) + r"[-/.]\w{1,3}", key):
                votes[key] += votes[other]
                best[key].score = max(best[key].score, best[other].score)
                best[other].score *= 0.9
    out = []
    for key, c in best.items():
        agreeing = votes[key] - c.score
        c.score = min(1.0, c.score + 0.1 * min(agreeing, 1.0))
        out.append(c)
    return sorted(out, key=lambda c: (-c.score, c.line.index))


def choose(cands: list[Candidate]) -> Candidate | None:
    """The best candidate; values found by several labels/positions gain confidence."""
    ranked = rank(cands)
    return ranked[0] if ranked else None
