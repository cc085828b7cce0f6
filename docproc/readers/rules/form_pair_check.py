"""A second opinion on the layout rules' own pairs: drop the ones a learned model finds unlikely.

The rules in `forms.py` pair every label-like box with the answer its layout points at, and are
wrong about two times in five on the FUNSD dev set: a value or a heading taken for a label, an
answer cut short or run on. A randomized-trees model judges each rule pair by the link model's
features of its key box and first answer box (form_links.FEATURES: geometry, lettering, ruled
lines, what the rules decided elsewhere on the page) and by the pair itself: which rule made it,
how many answer boxes it joins, how long and how tall its answer is. Its probability replaces the
rule's hand-set confidence, and pairs under `KEEP_THRESHOLD` are left out.

Trained with the link model by `scripts/train_form_links.py` on the FUNSD dev set (features
only, no dev-set words) and shipped as ONNX (`models/form_pair_check.onnx`). It judges scanned
pages only: on born-digital invoices, the kind of page it never saw, it dropped 67 of the 282 pairs of
the parsee dev set's 15 invoices, most of them right ("Total in EUR  €83.20", "Order number  FO81B7F30FF82").
Without the file, on a page read from its text layer and on a page with no link candidates (running
text, dense tables), the rules' pairs stand as they are.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from docproc.readers.rules import form_links

MODEL_PATH = Path(__file__).with_name("models") / "form_pair_check.onnx"
KEEP_THRESHOLD = 0.3  # a rule pair the model finds less likely than this is dropped

FEATURES = form_links.FEATURES + (
    "p_rule_confidence", "p_answer_boxes", "p_candidate", "p_answer_chars", "p_answer_height", "p_key_renamed",
)
_MISSING = -1.0  # the link features of a pair whose boxes are no link candidate (an answer far below)


def features(cells: list, cands: form_links.Candidates, link_x: np.ndarray, pairs) -> np.ndarray:
    """One row per rule pair (`pairs`: forms.RulePairs of these boxes), in FEATURES order:
    `link_x` (form_links.features of `cands`) at the candidate of its key and first answer box,
    then the pair's own features."""
    index = {id(c): i for i, c in enumerate(cells)}
    row_of: dict[tuple[int, int], int] = {}
    for i, kv in enumerate(zip(cands.key.tolist(), cands.value.tolist())):
        row_of.setdefault(kv, i)
    n = len(form_links.FEATURES)
    out = np.full((len(pairs), len(FEATURES)), _MISSING, dtype=np.float32)
    for i, (pair, (key, values, confidence)) in enumerate(zip(pairs, pairs.boxes)):
        first = min(values, key=lambda c: (c.bbox[1], c.bbox[0]))
        row = row_of.get((index[id(key)], index[id(first)]))
        if row is not None:
            out[i, :n] = link_x[row]
        top = min(v.bbox[1] for v in values)
        bottom = max(v.bbox[3] for v in values)
        out[i, n:] = (confidence, len(values), float(row is not None), min(len(pair.value), 200),
                      (bottom - top) / key.height, float(pair.key != key.text))
    return out


@functools.lru_cache(maxsize=1)
def default_model() -> form_links.LinkModel | None:
    return form_links.LinkModel(MODEL_PATH) if MODEL_PATH.is_file() else None


def checked(cells: list, cands: form_links.Candidates, link_x: np.ndarray, pairs,
            model: form_links.LinkModel | None = None, threshold: float = KEEP_THRESHOLD) -> list:
    """The rule pairs the model keeps, each with its probability (times the OCR's confidence in
    its boxes) as its confidence."""
    model = model if model is not None else default_model()
    if model is None or not getattr(cells, "scanned", False) or not len(cands) or not len(pairs):
        return list(pairs)
    return keep(pairs, model.predict(features(cells, cands, link_x, pairs)), threshold)


def keep(pairs, probs: np.ndarray, threshold: float) -> list:
    """Copies of the pairs whose probability reaches `threshold`, with it (times the OCR's
    confidence) as their confidence; `pairs` themselves are left as they are."""
    out = []
    for pair, (key, values, _), p in zip(pairs, pairs.boxes, probs):
        if p >= threshold:
            ocr = min([key.confidence] + [v.confidence for v in values])
            out.append(pair.model_copy(update={"confidence": round(float(p) * ocr, 4)}))
    return out
