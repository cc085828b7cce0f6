"""Field readers behind one interface; `get_reader` picks one by `ReaderOptions.kind` and keeps
one instance per process (a VLM loads its weights once)."""

from __future__ import annotations

from functools import lru_cache

from docproc.options import ReaderOptions
from docproc.readers.base import Reader


@lru_cache(maxsize=4)
def _cached(options_json: str) -> Reader:
    options = ReaderOptions.model_validate_json(options_json)
    if options.kind == "rules":
        from docproc.readers.rules import RulesReader

        return RulesReader(options.semantic_labels, options.label_encoder)
    if options.kind == "vlm":
        from docproc.readers.vlm import VlmReader

        return VlmReader(options)
    if options.kind == "hybrid":
        from docproc.readers.hybrid import HybridReader

        return HybridReader(options)
    if options.kind == "endpoint":
        from docproc.readers.endpoint import EndpointReader

        return EndpointReader(options)
    raise ValueError(f"unknown reader kind {options.kind!r}")


def get_reader(options: ReaderOptions) -> Reader:
    return _cached(options.model_dump_json())
