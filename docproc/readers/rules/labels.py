"""Label matching: where a field's label (schema hints, or words of its name) is printed.

Short labels ("tax", "to") must match whole words exactly; longer ones match fuzzily
(rapidfuzz partial alignment) so OCR slips ("lnvoice N0") still count."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from docproc.readers.rules.view import TextLine
from docproc.schemas import FieldSpec

MIN_SCORE = 0.82


@dataclass(frozen=True)
class LabelHit:
    line: TextLine
    start: int  # label span in line.text
    end: int
    score: float  # 0..1
    label: str


def field_labels(spec: FieldSpec) -> list[str]:
    """The label hints plus the field name as words ("invoice_date" -> "invoice date")."""
    labels = [lab.lower() for lab in spec.labels]
    name = spec.name.replace("_", " ").lower()
    if name not in labels and len(name) > 3:
        labels.append(name)
    return labels


MIN_FUZZY_LEN = 6  # shorter labels must match exactly


@lru_cache(maxsize=4096)
def _exact_pattern(label: str) -> re.Pattern:
    # Spaces between the label's words: any run of whitespace but a newline, so one search
    # over the lines joined by newlines finds the same spans as a search of each line.
    words = [re.escape(w) for w in label.split()]
    body = r"[^\S\n]*".join(words)
    if not words:
        return re.compile(r"(?<![\w])" + body + r"(?![a-z])", re.IGNORECASE)
    # "t(?<!\wt)otal" rather than "(?<!\w)total": the same matches, but a pattern that opens
    # with a letter lets the regex engine skip ahead to that letter (2-3x faster on a page).
    first = re.escape(label.split()[0][0])
    return re.compile(first + r"(?<![\w]" + first + ")" + body[len(first):] + r"(?![a-z])", re.IGNORECASE)


def _fuzzy_match(line: TextLine, label: str) -> LabelHit | None:
    """Where `label` occurs in `line` despite OCR slips, with a score; None when it does not.
    Compared by glyph shape ("29 AMC4NT PAID" is "amount paid"; one character for one, so the
    offsets are the line's)."""
    lower = _shape(line.text.lower())
    original, label = label, _shape(label)
    align = fuzz.partial_ratio_alignment(label, lower, score_cutoff=MIN_SCORE * 100)
    if align is None:
        return None
    start, end = align.dest_start, align.dest_end
    # Stretch to whole words so the value search starts after the label, not inside it.
    while start > 0 and lower[start - 1].isalnum():
        start -= 1
    while end < len(lower) and lower[end].isalnum():
        end += 1
    # A fuzzy hit must cover most of its words (no "total" inside "subtotals").
    if not (0.75 * len(label) <= end - start <= 1.5 * len(label)):
        return None
    # Word by word: "invoice to" is not "invoice no" although the strings are 90% alike.
    # (Read as printed, and with a lone letter OCR split off its word joined again: "INF O".)
    want = label.split()
    if not any(len(got) != len(want) or all(fuzz.ratio(g, w) >= 70 for g, w in zip(got, want))
               for got in (lower[start:end].split(), _rejoined(lower[start:end].split()))):
        return None
    # The stretched span as a whole must still read as the label: "subtotal:" is not "total due".
    if fuzz.ratio(label, lower[start:end].strip(" :#.")) < MIN_SCORE * 100:
        return None
    return LabelHit(line, start, end, align.score / 100 * 0.95, original)


# Letters OCR confuses by their shape ("CF SERVICE" for "OF SERVICE", "1NVOICE"): one class each,
# so a short word's slip is not taken for another word ("no" and "to" stay apart).
_SHAPES = str.maketrans({**dict.fromkeys("cdq0", "o"), **dict.fromkeys("l1|", "i"), "5": "s", "8": "b", "2": "z", "6": "g"})


def _shape(word: str) -> str:
    return word.translate(_SHAPES)


def _rejoined(words: list[str]) -> list[str]:
    """A lone letter OCR split off its word joins it again ("INF O" is "INFO")."""
    out: list[str] = []
    for w in words:
        if out and len(w) == 1 and w.isalpha() and out[-1][-1:].isalpha():
            out[-1] += w
        else:
            out.append(w)
    return out


def _specificity(label: str, n_matched: int) -> float:
    """Generic short labels ("total", "npi", "date") say less than long ones ("grand total",
    "33a. npi"); a line that matches several of a field's label variants is its label more surely."""
    return min(1.0, 0.88 + 0.01 * len(label) + 0.03 * (n_matched - 1))


PROSE = 0.5  # a label word inside running text ("payment by advertiser to agency") is weak evidence


def _in_prose(hit: LabelHit) -> bool:
    """A lowercase label word in the middle of a long sentence is text, not a printed label."""
    text = hit.line.text
    word = text[hit.start:hit.end]
    if re.match(r"['’]s\b", text[hit.end:]):
        return True  # "the advertiser's name and logo": a possessive is running text
    if not word.islower() or re.match(r"\s*[:#]", text[hit.end:]):
        return False
    if re.match(r"\.(?:\s|$)", text[hit.end:]):
        return True  # "...under this contract. 4. INABILITY": the word ends a sentence
    return len(text.split()) >= 6


# "Alt Order #", "Previous Balance": a qualifier before a label names another number than the field's.
_QUALIFIED = re.compile(r"\b(?:alt|alternate|alternative|other|old|previous|prior|former)\W*$", re.IGNORECASE)
QUALIFIED = 0.8
# "Total Items 3", "Total Qty: 2": a count word after a money label names a count, not an amount.
_COUNTED = re.compile(r"^\W*(?:items?|qty|quantity|pcs|units?)\b", re.IGNORECASE)
COUNTED = 0.8


@lru_cache(maxsize=4)  # every field of a document searches the same lines
def _joined(texts: tuple[str, ...]) -> tuple[str, list[int], list[str]]:
    """The lines joined by newlines, where each starts in the joined text, and each lowercased
    and read by glyph shape (see `_shape`)."""
    starts = [0]
    for t in texts:
        starts.append(starts[-1] + len(t) + 1)
    return "\n".join(texts), starts, [_shape(t.lower()) for t in texts]


def _label_matches(lines: list[TextLine], labels: list[str]) -> dict[int, list[LabelHit | None]]:
    """Label hits for every line and label, computed per label over the whole document: one
    regex pass over the joined text for exact hits, and rapidfuzz's vectorised partial ratio to
    pick the few lines worth a fuzzy alignment (the same cutoff, so the same hits)."""
    text, starts, shaped = _joined(tuple(ln.text for ln in lines))
    found: dict[int, list[LabelHit | None]] = {}
    for k, label in enumerate(labels):
        exact: set[int] = set()
        for m in _exact_pattern(label).finditer(text):
            i = bisect_right(starts, m.start()) - 1
            if i in exact:
                continue  # the first match in a line is the one a per-line search returns
            exact.add(i)
            off = starts[i]
            found.setdefault(i, [None] * len(labels))[k] = LabelHit(lines[i], m.start() - off, m.end() - off, 1.0, label)
        if len(label) < MIN_FUZZY_LEN:
            continue
        scores = process.cdist([_shape(label)], shaped, scorer=fuzz.partial_ratio, score_cutoff=MIN_SCORE * 100,
                               dtype=np.float32)[0]
        for i in np.flatnonzero(scores):
            if int(i) not in exact:
                hit = _fuzzy_match(lines[int(i)], label)
                if hit:
                    found.setdefault(int(i), [None] * len(labels))[k] = hit
    return found


def find_labels(lines: list[TextLine], spec: FieldSpec) -> list[LabelHit]:
    """The best label hit per line for this field, best first. Longer labels win ties:
    "invoice date" beats "date" on the same line."""
    labels = field_labels(spec)
    hits: list[LabelHit] = []
    matches = _label_matches(lines, labels) if lines else {}
    for i in sorted(matches):
        line = lines[i]
        best: LabelHit | None = None
        for hit in matches[i]:
            if hit and (best is None or (hit.score, len(hit.label)) > (best.score, len(best.label))):
                best = hit
        if best:
            # Variants found inside another's span ("order" in "Order #") are one printed label.
            found = [h for h in matches[i] if h]
            n = sum(1 for h in found if not any(o is not h and o.start <= h.start and h.end <= o.end
                                                and (o.end - o.start) > (h.end - h.start) for o in found))
            score = best.score * _specificity(best.label, n) * (PROSE if _in_prose(best) else 1.0)
            if _QUALIFIED.search(line.text[:best.start]) and not _QUALIFIED.search(best.label):
                score *= QUALIFIED
            if spec.value_type == "money" and _COUNTED.search(line.text[best.end:]):
                score *= COUNTED
            # A longer variant read over more of the same printed label ("billing provider info"
            # and "... info & ph #" over "33. BILLING PROVIDER INFC& PH #"; "birth date" and
            # "patient's birth date" over "3 PATIENTS BIRTH DATE"): the label spans both, so the
            # value starts after it and the column under it is the whole label's.
            same = [h for h in matches[i] if h and h.start < best.end and h.end > best.start]
            start = min([best.start] + [h.start for h in same])
            end = max([best.end] + [h.end for h in same])
            hits.append(replace(best, start=start, end=end, score=round(score, 4)))
    return sorted(hits, key=lambda h: -h.score)
