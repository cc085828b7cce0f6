"""Words into visual lines: runs of words close together horizontally on one row.

OCR segments (one detector text box) are kept as they are, but split at big gaps; words
without a segment (PDF text layer) are first banded into rows by their vertical centres.
Everything is sort + one sweep: nothing is quadratic in the number of words.
"""

from __future__ import annotations

from statistics import median

from docproc.document import Line, Word, union_bbox

# A gap wider than this many line heights ends a line: a label and its value far apart on
# one row are two lines for a field reader; a normal word space is about 0.3 heights.
GAP_HEIGHTS = 1.2


def _height(w: Word) -> float:
    return max(w.bbox[3] - w.bbox[1], 1e-6)


def _split_at_gaps(words: list[Word], idx: list[int]) -> list[list[int]]:
    """Sort one row's words left to right and cut it wherever the gap is too wide."""
    idx = sorted(idx, key=lambda i: words[i].bbox[0])
    h = median(_height(words[i]) for i in idx)
    runs: list[list[int]] = [[idx[0]]]
    right = words[idx[0]].bbox[2]
    for i in idx[1:]:
        if words[i].bbox[0] - right > GAP_HEIGHTS * h:
            runs.append([i])
        else:
            runs[-1].append(i)
        right = max(right, words[i].bbox[2])
    return runs


def _rows(words: list[Word], idx: list[int]) -> list[list[int]]:
    """Band words into rows by vertical centre (sorted sweep)."""
    idx = sorted(idx, key=lambda i: (words[i].bbox[1] + words[i].bbox[3]) / 2)
    rows: list[list[int]] = []
    centre = band = 0.0
    for i in idx:
        w = words[i]
        c = (w.bbox[1] + w.bbox[3]) / 2
        if rows and abs(c - centre) <= band:
            rows[-1].append(i)
            n = len(rows[-1])
            centre += (c - centre) / n
        else:
            rows.append([i])
            centre, band = c, 0.5 * _height(w)
    return rows


def group_lines(words: list[Word]) -> list[Line]:
    """Lines of `words` (indexes into it), sorted top to bottom then left to right."""
    by_segment: dict[int, list[int]] = {}
    loose: list[int] = []
    for i, w in enumerate(words):
        if w.segment is None:
            loose.append(i)
        else:
            by_segment.setdefault(w.segment, []).append(i)
    groups = list(by_segment.values())
    if loose:
        groups.extend(_rows(words, loose))
    runs = [run for g in groups for run in _split_at_gaps(words, g)]
    lines = [make_line(words, run) for run in runs]
    lines.sort(key=lambda ln: (round((ln.bbox[1] + ln.bbox[3]) / 2, 3), ln.bbox[0]))
    return lines


def make_line(words: list[Word], idx: list[int]) -> Line:
    return Line(
        text=" ".join(words[i].text for i in idx),
        bbox=union_bbox([words[i].bbox for i in idx]),
        words=list(idx),
        confidence=round(sum(words[i].confidence for i in idx) / len(idx), 4),
    )
