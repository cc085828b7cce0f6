"""Schema definitions: one file per document type (built-ins in schemas/, or a user's file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FieldType = Literal["string", "date", "money", "number", "duration", "enum", "id", "list"]


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: FieldType
    # For type "list": the type of each item (string, date, money, number, duration, enum, id).
    items: FieldType | None = None
    query: str  # natural-language question: what a VLM is asked, what labels are matched against
    labels: list[str] = Field(default_factory=list)  # label hints as printed on documents
    required: bool = False
    enum: list[str] = Field(default_factory=list)  # allowed values for enum fields
    pattern: str | None = None  # regex the normalized value must match (ids)
    description: str = ""


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = 1
    description: str = ""
    keywords: list[str] = Field(default_factory=list)  # for `--schema auto` classification
    fields: list[FieldSpec]
    line_items: bool = False  # read a line-item table into result.line_items

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
