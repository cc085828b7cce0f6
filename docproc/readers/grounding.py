"""Match a model's answer back to the page's words: page number, bbox and how well it matched.

The hallucination guard: an answer that no run of words on the page spells (closely, or to the
same normalized value for dates/money/numbers) is ungrounded and gets a low confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from docproc import normalize as norm
from docproc.document import BBox, Page, Word, union_bbox

MIN_GROUNDED = 0.8  # similarity below which an answer counts as not found on the page
_KEEP = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Grounding:
    score: float  # 0..1; 1.0 = the words spell the value exactly (or normalize to it)
    page: int | None = None
    bbox: BBox | None = None

    @property
    def grounded(self) -> bool:
        return self.score >= MIN_GROUNDED


def _squash(text: str) -> str:
    return _KEEP.sub("", text).casefold()


def words_in_order(page: Page) -> list[Word]:
    """Page words in line order (the line model's order when there is one)."""
    if page.lines:
        order = [i for line in sorted(page.lines, key=lambda ln: (ln.bbox[1], ln.bbox[0])) for i in line.words]
        seen = set(order)
        order += [i for i in range(len(page.words)) if i not in seen]
        return [page.words[i] for i in order if i < len(page.words)]
    return sorted(page.words, key=lambda w: (round((w.bbox[1] + w.bbox[3]) / 2, 2), w.bbox[0]))


def _same_value(kind: str, a: str, b: str) -> bool:
    if kind not in ("date", "money", "number", "duration"):
        return False
    try:
        va, vb = norm.normalize(kind, a), norm.normalize(kind, b)
    except Exception:  # a normalizer failing on odd text is not a match
        return False
    return va is not None and va == vb


def ground(value: str, pages: list[Page], kind: str = "string") -> Grounding:
    """Best-matching run of consecutive words for `value` over `pages` (ties: earliest page)."""
    target = _squash(value)
    if not target:
        return Grounding(0.0)
    n_tokens = max(1, len(value.split()))
    best = Grounding(0.0)
    for page in pages:
        words = words_in_order(page)
        squashed = [_squash(w.text) for w in words]
        for start in range(len(words)):
            if not squashed[start]:
                continue
            joined = ""
            for end in range(start, min(len(words), start + n_tokens + 2)):
                joined += squashed[end]
                if len(joined) > 2 * len(target) + 4:
                    break
                if joined == target:
                    score = 1.0
                else:
                    score = fuzz.ratio(joined, target) / 100.0
                    if score < 1.0 and _same_value(kind, " ".join(w.text for w in words[start:end + 1]), value):
                        score = 0.99
                if score > best.score:
                    box = union_bbox([w.bbox for w in words[start:end + 1]])
                    best = Grounding(round(score, 3), page.number, box)
                    if score >= 1.0:
                        return best
    return best
