"""Generic key-value pairs, as a form prints them: "Label: value" on one line, or a label
ending in a colon with its value in the cell to its right or on the line below."""

from __future__ import annotations

import re

from docproc.document import Document, KeyValue
from docproc.readers.rules.forms import read_form_pairs
from docproc.readers.rules.view import DocView, TextLine

_KEY = re.compile(r"^(?P<key>[^:]{2,60}?:)\s*(?P<value>.*)$")
_MAX_KEY_WORDS = 7


def _plausible_key(key: str) -> bool:
    words = key.rstrip(":").split()
    letters = sum(ch.isalpha() for ch in key)
    # A key is a short phrase of words; times ("10:30") and URLs are not keys.
    return 0 < len(words) <= _MAX_KEY_WORDS and letters >= 2 and not re.search(r"\d:\d|https?$|//", key)


def _value_from(view: DocView, line: TextLine) -> TextLine | None:
    right = view.right_of(line, max_gap=0.35)
    if right and not _KEY.match(right[0].text):
        return right[0]
    below = view.below(line, max_lines=1.5)
    if below and not _KEY.match(below[0].text) and abs(below[0].bbox[0] - line.bbox[0]) < 0.1:
        return below[0]
    return None


def read_key_values(view: DocView, doc: Document | None = None) -> list[KeyValue]:
    """With the document at hand, pairs come from its own text boxes (docproc.readers.rules.forms);
    from a view alone, from "Label: value" lines."""
    if doc is not None:
        return read_form_pairs(doc)
    out: list[KeyValue] = []
    used: set[int] = set()
    for line in view.lines:
        if line.index in used:
            continue
        m = _KEY.match(line.text)
        if not m or not _plausible_key(m.group("key")) or re.match(r"\d", m.group("value")) and m.group("key")[-2:-1].isdigit():
            continue
        key = m.group("key").strip()
        key_end = m.end("key")
        key_box = line.span_bbox(0, key_end)
        value = m.group("value").strip()
        if value:
            vstart = m.start("value")
            out.append(KeyValue(
                key=key, value=value, page=line.page, key_bbox=key_box,
                value_bbox=line.span_bbox(vstart, len(line.text)), confidence=round(0.8 * line.confidence, 4),
            ))
            continue
        other = _value_from(view, line)
        if other is None:
            continue
        used.add(other.index)
        out.append(KeyValue(
            key=key, value=other.text, page=line.page, key_bbox=key_box,
            value_bbox=other.bbox, confidence=round(0.6 * min(line.confidence, other.confidence), 4),
        ))
    return out
