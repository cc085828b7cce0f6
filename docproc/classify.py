"""`--schema auto`: pick a built-in schema per document from its text.

A transparent keyword classifier built from the schema files themselves: each schema's
`keywords` (multi-word phrases weigh more: they are more specific) and the content words of
its `description`. Scores become probabilities with a softmax that includes a fixed "other"
score, so a document that matches nothing well is read without a schema (generic key-values)
instead of being forced into the nearest one. The decision and its confidence go into the
result (`document.classification`); no document text is logged.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from docproc import schemas
from docproc.document import Classification, Document
from docproc.options import PipelineOptions

AUTO = "auto"
OTHER = "other"
# Schemas that describe "any document" and must not compete with the specific ones.
_GENERIC = {"key_values"}
# The score "other" gets: about one specific phrase and a word or two of evidence.
_OTHER_SCORE = 2.0
_PAGES_READ = 3  # a document's type shows on its first pages; reading all 23 of an NDA adds nothing
_STOP = {"a", "an", "and", "or", "the", "of", "to", "from", "for", "with", "by", "in", "on", "any",
         "two", "more", "only", "read", "are", "is", "its", "their", "form"}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9'äöüßéèàç-]+", text.lower())


@lru_cache(maxsize=32)
def _pattern(phrase: str) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9])" + r"\s+".join(map(re.escape, phrase.lower().split())) + r"(?![a-z0-9])")


def _description_terms(schema: schemas.Schema) -> list[str]:
    return sorted({w for w in _words(schema.description) if len(w) > 3 and w not in _STOP})


def score_text(text: str, schema: schemas.Schema) -> float:
    """Evidence that `text` is a `schema` document (0 = none)."""
    low = text.lower()
    score = 0.0
    for kw in schema.keywords:
        hits = len(_pattern(kw).findall(low))
        if hits:
            score += len(kw.split()) * math.log1p(hits)
    words = set(_words(low))
    score += 0.5 * sum(1 for term in _description_terms(schema) if term in words)
    return round(score, 4)


def candidates() -> list[schemas.Schema]:
    return [s for s in schemas.list_schemas() if s.name not in _GENERIC and s.keywords]


def classify_text(text: str, among: list[schemas.Schema] | None = None) -> Classification:
    """The most likely schema name (or "other") with a softmax confidence over all scores."""
    among = candidates() if among is None else among
    scores = {s.name: score_text(text, s) for s in among}
    scores[OTHER] = _OTHER_SCORE
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    label = max(scores, key=lambda k: (scores[k], k != OTHER))
    return Classification(label=label, confidence=round(exp[label] / total, 4),
                          scores=dict(sorted(scores.items())))


def document_text(doc: Document, pages: int = _PAGES_READ) -> str:
    return "\n".join(p.text for p in doc.pages[:pages])


def resolve_auto(doc: Document, options: PipelineOptions) -> tuple[PipelineOptions, Classification]:
    """Options with the chosen schema (None for "other") and the decision behind it."""
    decision = classify_text(document_text(doc))
    chosen = None if decision.label == OTHER else decision.label
    return options.model_copy(update={"schema_": chosen}), decision
