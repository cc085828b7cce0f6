"""Schema definitions: one file per document type (built-ins in schemas/, or a user's file).

`load_schema` accepts a built-in name ("invoice") or a path to a YAML/JSON file; every file is
validated against schemas/schema-file.schema.json before it becomes a `Schema`.
`validate_result` checks a result JSON against schemas/result.schema.json.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docproc.errors import DocprocError

FieldType = Literal["string", "date", "money", "number", "duration", "enum", "id", "list"]

# The repo root's schemas/ folder (works from a checkout and an editable install).
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
_SUFFIXES = (".yaml", ".yml", ".json")


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

    @property
    def value_type(self) -> FieldType:
        """The type of one value: `items` for lists, else `type`."""
        return (self.items or "string") if self.type == "list" else self.type


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

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)


@lru_cache(maxsize=4)
def _json_schema(file_name: str) -> dict:
    return json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))


def _validator(file_name: str):
    import jsonschema

    schema = _json_schema(file_name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _read_file(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocprocError("schema", "invalid_schema", f"cannot read schema file {path}: {type(exc).__name__}")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DocprocError("schema", "invalid_schema", f"schema file {path} does not parse: {type(exc).__name__}")


def _from_data(data: object, where: str) -> Schema:
    errors = sorted(_validator("schema-file.schema.json").iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise DocprocError("schema", "invalid_schema", f"{where}: {len(errors)} error(s), first at {at}: {first.validator}")
    try:
        return Schema.model_validate(data)
    except ValidationError as exc:  # pragma: no cover - the JSON Schema should catch these first
        raise DocprocError("schema", "invalid_schema", f"{where}: {exc.error_count()} error(s)")


def _builtin_path(name: str) -> Path | None:
    for suffix in _SUFFIXES:
        p = SCHEMA_DIR / f"{name}{suffix}"
        if p.is_file():
            return p
    return None


@lru_cache(maxsize=64)
def _load_cached(name_or_path: str, mtime: float) -> Schema:
    path = Path(name_or_path)
    return _from_data(_read_file(path), str(path))


def load_schema(name_or_path: str) -> Schema:
    """A built-in schema by name (e.g. "invoice", "invoice@1") or a YAML/JSON schema file."""
    name = name_or_path.split("@", 1)[0] if "@" in name_or_path and "/" not in name_or_path else name_or_path
    path = _builtin_path(name) if name.isidentifier() else None
    if path is None:
        candidate = Path(name_or_path).expanduser()
        if candidate.suffix.lower() in _SUFFIXES and candidate.is_file():
            path = candidate
    if path is None:
        raise DocprocError("schema", "unknown_schema", f"no built-in schema or schema file named {name_or_path!r}")
    return _load_cached(str(path.resolve()), path.stat().st_mtime)


def list_schemas() -> list[Schema]:
    """Every built-in schema, by name."""
    out = []
    for p in sorted(SCHEMA_DIR.iterdir()):
        if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
            out.append(load_schema(str(p)))
    return sorted(out, key=lambda s: s.name)


def validate_result(result: dict) -> list[str]:
    """Error messages (path: problem) of `result` against schemas/result.schema.json; empty when valid."""
    out = []
    for err in sorted(_validator("result.schema.json").iter_errors(result), key=lambda e: list(e.path)):
        at = "/".join(str(p) for p in err.absolute_path) or "(root)"
        out.append(f"{at}: {err.validator} {err.validator_value!r:.80}")
    return out
