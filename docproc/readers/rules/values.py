"""Typed value extraction from a piece of a line: a date field accepts only dates, a money
field only amounts, an id only a token with a digit, and so on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from docproc.normalize import (
    Span,
    Context,
    find_amounts,
    find_dates,
    find_durations,
    normalize_enum,
    normalize_id,
    normalize_number,
)
from docproc.schemas import FieldSpec

_SEPARATORS = " \t:;#.-–=|>*"
_HAS_LETTER = re.compile(r"[A-Za-zÀ-ÿ]")


@dataclass(frozen=True)
class Value:
    start: int  # offsets in the text handed to `extract`
    end: int
    text: str
    normalized: object
    currency: str | None = None


def _wants_last(spec: FieldSpec) -> bool:
    """The end of a period takes the last date of a range ("04/16/20 - 04/22/20")."""
    words = set(re.split(r"[_\s]", spec.name.lower())) | set(spec.query.lower().split())
    return bool(words & {"end", "last", "until", "to", "thru", "through", "expiry", "expires"}) and "start" not in spec.name


def _strip_lead(text: str) -> int:
    i = 0
    while i < len(text) and text[i] in _SEPARATORS:
        i += 1
    return i


# Forms print dates in boxes: "04 13 65" (MM DD YY under the label's MM DD YY heads).
_SPACED_DATE = re.compile(r"(?<![\d.,])(\d{2})\s+(\d{2})\s+(\d{4}|\d{2})(?![\d.,])")


def _spaced_dates(text: str, ctx: Context) -> list:
    out = []
    for m in _SPACED_DATE.finditer(text):
        got = find_dates("/".join(m.groups()), ctx.date_order)
        if got:
            out.append(Span(m.start(), m.end(), m.group(0), got[0].normalized))
    return out


# Order systems print "Apr16/20" or "Apr 16/20": a month name, the day, a slash and the year.
_MONTH_DAY_YEAR = re.compile(
    r"(?<![A-Za-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s?(\d{1,2})\s?/\s?(\d{4}|\d{2})(?![\d/])",
    re.IGNORECASE)
_MONTH_NO = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}


def _month_day_year(text: str) -> list:
    out = []
    for m in _MONTH_DAY_YEAR.finditer(text):
        year = int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)
        got = find_dates(f"{year:04d}-{_MONTH_NO[m.group(1).lower()]:02d}-{int(m.group(2)):02d}")
        if got:
            out.append(Span(m.start(), m.end(), m.group(0), got[0].normalized))
    return out


def find_all_dates(text: str, ctx: Context) -> list:
    """The dates of `text`, left to right, in any of the shapes the reader knows."""
    compact = _month_day_year(text)
    found = [d for d in find_dates(text, ctx.date_order) if not any(c.start < d.end and d.start < c.end for c in compact)]
    return sorted(found + compact, key=lambda d: d.start) or _spaced_dates(text, ctx)


# Two dates joined by a dash, "to", "thru" or "through": a period ("3/1/16 - 3/7/16").
_RANGE_JOIN = re.compile(r"\s*(?:-{1,2}|–|—|~|to|thru|through|until|till)\s*", re.IGNORECASE)


def find_date_ranges(text: str, ctx: Context) -> list[tuple[Value, Value]]:
    """Every "first date - last date" pair in `text` whose first date is not after its last."""
    dates = find_all_dates(text, ctx)
    out = []
    for a, b in zip(dates, dates[1:]):
        if _RANGE_JOIN.fullmatch(text[a.end:b.start]) and str(a.normalized) <= str(b.normalized):
            out.append((Value(a.start, a.end, a.text, a.normalized), Value(b.start, b.end, b.text, b.normalized)))
    return out


def _is_sentence(text: str) -> bool:
    """Running text, not a name or an address: many words, most of them lowercase, or a
    fragment that starts with punctuation."""
    words = text.split()
    lower = sum(1 for w in words if w[:1].islower())
    return text[:1] in ",;)" or (len(words) >= 6 and lower >= 0.5 * len(words))


def extract(spec: FieldSpec, text: str, ctx: Context, whole_line: bool = False) -> Value | None:
    """The value of `spec`'s type in `text` (the rest of a line after a label, or a line
    below it), or None when `text` holds no valid value of that type."""
    kind = spec.value_type
    if kind == "date":
        found = find_all_dates(text, ctx)
        if not found:
            return None
        s = found[-1] if _wants_last(spec) else found[0]
        return Value(s.start, s.end, s.text, s.normalized)
    if kind == "money":
        found = [a for a in find_amounts(text) if re.search(r"[.,]\d{2}\b|[€$£]|[A-Z]{3}", a.text) or whole_line]
        if not found:
            return None  # a bare integer after a label is a count ("TOTAL QTY 3"), not money
        # Amounts sit at the right end of a totals row; one with cents before a bare figure
        # beside it (a "$" read as "8": "765.62 8").
        s = ([a for a in found if re.search(r"[.,]\d{2}$", a.text.rstrip("€$£ A-Z"))] or found)[-1]
        return Value(s.start, s.end, s.text, s.normalized, s.currency)
    if kind == "duration":
        found = find_durations(text)
        return Value(found[0].start, found[0].end, found[0].text, found[0].normalized) if found else None
    if kind == "number":
        m = re.search(r"\d[\d.,]*", text)
        if not m:
            return None
        n = normalize_number(m.group(0))
        return Value(m.start(), m.end(), m.group(0), n) if n is not None else None
    i = _strip_lead(text)
    rest = text[i:]
    if kind == "id":
        # Skip printed qualifiers in brackets before the value: "(ID#) IP239925046".
        lead = re.match(r"(?:\([^)]{0,12}\)\s*)+", rest)
        if lead:
            i += lead.end()
            rest = rest[lead.end():]
        m = re.match(r"(?:no\.?|nr\.?|number|#)?\s*([A-Za-z0-9][\w./-]*\d[\w./-]*|\d[\w./-]*)", rest, re.IGNORECASE)
        if not m:
            return None
        token = m.group(1).rstrip(".,;:")
        start = i + m.start(1)
        if re.match(r"\s?%|:\d", rest[m.start(1) + len(token):]):
            return None  # "100%" is a share, "00:15:00" a time: no number of a document
        return Value(start, start + len(token), token, normalize_id(token))
    if kind == "enum":
        for m in re.finditer(r"[A-Za-z]+", rest):
            got = normalize_enum(m.group(0), spec.enum)
            if got:
                return Value(i + m.start(), i + m.end(), m.group(0), got)
        return None
    # string
    rest = rest.rstrip(" :;,|")
    if len(rest) < 2 or not _HAS_LETTER.search(rest) or _is_sentence(rest):
        return None
    # OCR reads the gap between two printed words as a middle dot or a bullet at times.
    return Value(i, i + len(rest), rest, clean_name(rest))


# A registration or account number in brackets after a name ("(789417-W)", "(21434)") is a
# code printed next to the name, not part of it.
_TRAILING_CODE = re.compile(r"\s*[(\[]\s*[A-Z]{0,3}[\d][\d\s.-]{2,}[A-Z]?\s*[)\]]?\s*$")


def clean_name(text: str) -> str:
    """A string value's normalized form: single spaces, no trailing bracketed code. OCR reads
    the gap between two words as a dot or, where a form's rule crosses it, as "|"."""
    text = " ".join(re.sub(r"[·•]|(?<=[A-Za-z])\|(?=[A-Za-z])", " ", text).split())
    stripped = _TRAILING_CODE.sub("", text)
    return stripped if len(stripped) >= 2 else text
