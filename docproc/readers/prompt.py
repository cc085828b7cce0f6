"""Layout-aware prompts for VLM readers (local model and HTTP endpoint alike).

The model sees the page image and the page's own strings: each text line in reading order with
its position quantised to 0..99 (the LMDX way of giving a language model layout: short, and the
exact OCR/text-layer strings it should copy from). Fields come with their query, type and enum
choices. Only the fields asked about are in the prompt, and the answer is one compact JSON object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from rapidfuzz import fuzz

from docproc import deskew
from docproc.document import Document, Page
from docproc.schemas import FieldSpec

QUANT_BINS = 100
# Without a tokenizer at hand: about 3.5 characters per token for Latin text with digits.
CHARS_PER_TOKEN = 3.5

SYSTEM_TEXT = (
    "You read business documents. Answer only from what is printed on the page. "
    "Copy each value exactly as printed; use null when the page does not show it."
)


@dataclass
class PageQuery:
    """One model call's worth of work: some fields of a document, asked about one page."""

    doc_index: int
    page: Page
    fields: list[FieldSpec]
    text: str = ""  # the user prompt, filled by build_prompt
    truncated: bool = False
    hints: dict[str, str] = field(default_factory=dict)  # rules reader's guesses, for agreement


def quantise(v: float, bins: int = QUANT_BINS) -> int:
    return max(0, min(bins - 1, int(v * bins)))


def reading_order_lines(page: Page) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, bbox) of each line in reading order; words grouped by position if no lines."""
    if page.lines:
        seen: set[int] = set()
        order: list[int] = []
        for region in sorted(page.regions, key=lambda r: r.order):
            for i in region.lines:
                if i not in seen and i < len(page.lines):
                    seen.add(i)
                    order.append(i)
        rest = [i for i in range(len(page.lines)) if i not in seen]
        order.extend(sorted(rest, key=lambda i: (page.lines[i].bbox[1], page.lines[i].bbox[0])))
        return [(page.lines[i].text, page.lines[i].bbox) for i in order]
    # No line model: rows of words whose vertical centres are within half a word height.
    words = sorted(page.words, key=lambda w: ((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0]))
    rows: list[list] = []
    for w in words:
        cy = (w.bbox[1] + w.bbox[3]) / 2
        h = max(1e-4, w.bbox[3] - w.bbox[1])
        if rows and abs(rows[-1][0] - cy) < h / 2:
            rows[-1][1].append(w)
        else:
            rows.append([cy, [w]])
    out = []
    for _, ws in rows:
        ws.sort(key=lambda w: w.bbox[0])
        box = (min(w.bbox[0] for w in ws), min(w.bbox[1] for w in ws),
               max(w.bbox[2] for w in ws), max(w.bbox[3] for w in ws))
        out.append((" ".join(w.text for w in ws), box))
    return out


def layout_text(page: Page, budget_tokens: int, count_tokens: Callable[[str], int] | None = None) -> tuple[str, bool]:
    """The page's lines as `text x|y` (quantised top-left, where the page image shows it) within
    `budget_tokens`; (text, truncated)."""
    count = count_tokens or (lambda s: math.ceil(len(s) / CHARS_PER_TOKEN))
    # A skewed scan's boxes were straightened for reading (docproc.deskew), but the model sees
    # the image as sent: each line's corner goes back to where the image shows it.
    skewed = bool(page.skew) and page.height > 0  # (set only when the words were straightened)
    out: list[str] = []
    used = 0
    for text, box in reading_order_lines(page):
        top = deskew.restore_point(box[0], box[1], page.skew, page.width / page.height) if skewed else box[1]
        line = f"{text} {quantise(box[0]):02d}|{quantise(top):02d}"
        cost = count(line) + 1
        if used + cost > budget_tokens:
            return "\n".join(out), True
        out.append(line)
        used += cost
    return "\n".join(out), False


def describe_field(spec: FieldSpec) -> str:
    kind = f"list of {spec.value_type}" if spec.type == "list" else spec.type
    extra = f"; one of: {', '.join(spec.enum)}" if spec.enum else ""
    return f'"{spec.name}" ({kind}{extra}): {spec.query}'


def build_prompt(query: PageQuery, budget_tokens: int = 1500,
                 count_tokens: Callable[[str], int] | None = None) -> PageQuery:
    """Fill `query.text` with the instructions, the fields and the page's layout text."""
    text, truncated = layout_text(query.page, budget_tokens, count_tokens)
    fields = "\n".join(describe_field(f) for f in query.fields)
    keys = ", ".join(f'"{f.name}"' for f in query.fields)
    query.text = (
        f"Page {query.page.number}. Text lines with x|y position (0-99, top-left):\n{text}\n\n"
        f"Fields:\n{fields}\n\n"
        f"Reply with one JSON object with exactly the keys {keys}. Each value is the text as printed "
        "(a list of such strings for list fields) or null."
    )
    query.truncated = truncated
    return query


def _page_score(page: Page, spec: FieldSpec) -> float:
    """How strongly a page's lines suggest it holds `spec` (best label/query match, 0..100)."""
    probes = [s.lower() for s in (spec.labels or [])] or [spec.query.lower()]
    best = 0.0
    for text, _ in reading_order_lines(page):
        low = text.lower()
        for probe in probes:
            best = max(best, fuzz.partial_ratio(probe, low) if len(probe) <= len(low) else 0.0)
            if best >= 100:
                return best
    return best


def select_pages(doc: Document, fields: list[FieldSpec], hint_pages: dict[str, int] | None = None,
                 max_pages: int = 2) -> dict[int, list[FieldSpec]]:
    """Which pages to ask about which fields: the page another reader pointed to, else the pages
    whose labels match best (the first pages on ties), at most `max_pages` pages per document."""
    hint_pages = hint_pages or {}
    if not doc.pages:
        return {}
    by_number = {p.number: p for p in doc.pages}
    chosen: dict[int, list[FieldSpec]] = {}
    for spec in fields:
        number = hint_pages.get(spec.name)
        if number not in by_number:
            if len(doc.pages) == 1:
                number = doc.pages[0].number
            else:
                scored = sorted(doc.pages, key=lambda p: (-_page_score(p, spec), p.number))
                number = scored[0].number
        chosen.setdefault(number, []).append(spec)
    if len(chosen) > max_pages:
        # Keep the pages with the most fields; the rest's fields go to the first kept page.
        keep = sorted(chosen, key=lambda n: (-len(chosen[n]), n))[:max_pages]
        merged = {n: list(chosen[n]) for n in keep}
        for n, specs in chosen.items():
            if n not in merged:
                merged[min(keep)].extend(specs)
        chosen = merged
    return dict(sorted(chosen.items()))
