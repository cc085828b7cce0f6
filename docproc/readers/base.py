"""The reader interface: a document (pages with words, lines, regions) and a schema in,
an Extraction (fields, key-values, line items, checks) out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from docproc.document import Document, Extraction
    from docproc.schemas import Schema


class Reader(Protocol):
    name: str

    def read(self, doc: "Document", schema: "Schema | None") -> "Extraction":
        """Answer every field of `schema` (None when not found: never a guess without
        evidence), plus generic key-value pairs and line items. `schema` None: generic only."""
        ...
