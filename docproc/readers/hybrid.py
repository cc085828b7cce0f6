"""`--reader hybrid`: the rules reader first; a VLM only for the fields it missed or is unsure of.

The VLM is the local model (`vlm_model`) or, without one, the OpenAI-compatible endpoint
(`endpoint_url`). Questions are batched per page: one prompt per page asks all of that page's
uncertain fields, and pages of several documents share `generate` batches (`read_many`).
"""

from __future__ import annotations

from docproc.document import Extraction, FieldValue
from docproc.errors import DocprocError
from docproc.options import ReaderOptions
from docproc.readers.vlm import Generator, VlmReader
from docproc.schemas import FieldSpec, Schema


def uncertain_fields(schema: Schema, base: Extraction | None, threshold: float) -> list[FieldSpec]:
    """Fields the rules reader left empty or answered below `threshold` (lists: any item)."""
    if base is None:
        return list(schema.fields)
    out = []
    for spec in schema.fields:
        got = base.fields.get(spec.name)
        if got is None or got == []:
            out.append(spec)
            continue
        items = got if isinstance(got, list) else [got]
        if any(isinstance(v, FieldValue) and v.confidence < threshold for v in items):
            out.append(spec)
    return out


class HybridReader(VlmReader):
    name = "hybrid"

    def __init__(self, options: ReaderOptions, generator: Generator | None = None):
        super().__init__(options, generator)

    @property
    def generator(self) -> Generator:
        if self._generator is None and not self.options.vlm_model and self.options.endpoint_url:
            from docproc.readers.endpoint import EndpointGenerator

            self._generator = EndpointGenerator(self.options)
        if self._generator is None and not self.options.vlm_model:
            raise DocprocError("reader", "vlm_model_missing",
                               "reader hybrid needs --vlm-model DIR or --endpoint-url URL")
        return VlmReader.generator.fget(self)

    def fields_to_ask(self, schema: Schema, base: Extraction | None) -> list[FieldSpec]:
        return uncertain_fields(schema, base, self.options.hybrid_threshold)
