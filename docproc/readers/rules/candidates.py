"""Candidates for a field: a typed value found next to one of its labels (same line to the
right, a separate cell on the same row, or below in the label's column), scored by the label
match and by where the value sits relative to it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from docproc.document import BBox, FieldValue
from docproc.readers.rules.labels import LabelHit
from docproc.readers.rules.values import Value, extract
from docproc.readers.rules.view import DocView, TextLine
from docproc.schemas import FieldSpec

# How much a value's position says it belongs to the label.
SAME_LINE, RIGHT_CELL, BELOW, BELOW_WHOLE = 1.0, 0.92, 0.8, 0.6


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
    picked = [(s, e) for s, e, b in line.words if b[2] >= x0 - slack and b[0] <= x1 + slack]
    if not picked:
        return None
    start, end = picked[0][0], picked[-1][1]
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


def near_label(view: DocView, spec: FieldSpec, hit: LabelHit) -> list[Candidate]:
    out: list[Candidate] = []
    line = hit.line
    rest = line.text[hit.end:]
    v = extract(spec, rest, view.ctx)
    if v is not None and (spec.value_type != "string" or _separated(line, hit.end)):
        out.append(Candidate(spec.name, v, line, hit.end, hit.score * SAME_LINE, "same line"))
    for o in view.right_of(line, max_gap=0.8)[:1]:
        v = extract(spec, o.text, view.ctx, whole_line=True)
        if v is not None:
            out.append(Candidate(spec.name, v, o, 0, hit.score * RIGHT_CELL, "right cell"))
    label_box = line.span_bbox(hit.start, hit.end)
    for k, o in enumerate(view.below(line, label_box)[:2]):
        col = _column_text(o, label_box[0], max(label_box[2], label_box[0] + 0.15))
        if col is not None:
            v = extract(spec, col[0], view.ctx, whole_line=True)
            if v is not None:
                out.append(Candidate(spec.name, v, o, col[1], hit.score * BELOW * (0.85**k), "below"))
                break
        v = extract(spec, o.text, view.ctx, whole_line=True)
        if v is not None:
            out.append(Candidate(spec.name, v, o, 0, hit.score * BELOW_WHOLE * (0.85**k), "below line"))
            break
    return out


def choose(cands: list[Candidate]) -> Candidate | None:
    """The best candidate; values found by several labels/positions gain confidence."""
    if not cands:
        return None
    votes: dict[str, float] = {}
    for c in cands:
        key = str(c.value.normalized)
        votes[key] = votes.get(key, 0.0) + c.score
    best = max(cands, key=lambda c: (c.score + 0.1 * (votes[str(c.value.normalized)] - c.score), -c.line.index))
    agreeing = votes[str(best.value.normalized)] - best.score
    best.score = min(1.0, best.score + 0.1 * min(agreeing, 1.0))
    return best
