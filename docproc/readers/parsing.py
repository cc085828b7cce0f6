"""The answer format of VLM readers and its strict parser.

The model answers one flat JSON object: each asked field's value as printed (a string, a list of
strings for list fields) or null. Typing and normalization happen afterwards, from the page, so
the model only has to copy. The same JSON Schema drives constrained decoding (xgrammar) and the
strict check here; a reply that fails it gets one repair round, then the fields stay null.
"""

from __future__ import annotations

import json
from typing import Callable

import jsonschema

from docproc.schemas import FieldSpec

Answer = dict[str, "str | list[str] | None"]
MAX_VALUE_CHARS = 120  # also bounds what constrained decoding may generate per value


class AnswerError(ValueError):
    """A reply that is not the JSON object asked for. The message never quotes the reply."""


def answer_schema(fields: list[FieldSpec]) -> dict:
    """JSON Schema of the reply: every asked key present, values string/null (lists: arrays)."""
    one = {"type": ["string", "null"], "maxLength": MAX_VALUE_CHARS}
    props = {}
    for f in fields:
        if f.type == "list":
            props[f.name] = {"anyOf": [
                {"type": "array", "items": {"type": "string", "maxLength": MAX_VALUE_CHARS}, "maxItems": 20},
                {"type": "null"},
            ]}
        elif f.enum:
            props[f.name] = {"enum": [*f.enum, None]}
        else:
            props[f.name] = dict(one)
    return {
        "type": "object",
        "properties": props,
        "required": [f.name for f in fields],
        "additionalProperties": False,
    }


def _first_object(text: str) -> str:
    """The first balanced {...} of `text` (models like to wrap JSON in prose or code fences)."""
    start = text.find("{")
    if start < 0:
        raise AnswerError("no JSON object in reply")
    depth = 0
    in_str = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    raise AnswerError("unterminated JSON object in reply")


def parse_answer(text: str, fields: list[FieldSpec]) -> Answer:
    """The reply as {field: value}; raises AnswerError unless it fits `answer_schema(fields)`."""
    try:
        data = json.loads(_first_object(text))
    except json.JSONDecodeError as exc:
        raise AnswerError(f"invalid JSON at char {exc.pos}") from None
    validator = jsonschema.Draft202012Validator(answer_schema(fields))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        at = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise AnswerError(f"{len(errors)} schema error(s), first at {at}: {errors[0].validator}")
    return {f.name: _clean(data[f.name]) for f in fields}


def _clean(value):
    if isinstance(value, list):
        out = [" ".join(v.split()) for v in value if v and v.strip()]
        return out or None
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    return None


def repair_prompt(reply: str, error: AnswerError, fields: list[FieldSpec]) -> str:
    keys = ", ".join(f'"{f.name}"' for f in fields)
    return (
        f"Your reply was not valid ({error}). Reply again with only one JSON object with exactly "
        f"the keys {keys}; each value a string as printed, a list of strings for list fields, or null.\n"
        f"Previous reply:\n{reply[:2000]}"
    )


def parse_with_repair(reply: str, fields: list[FieldSpec],
                      ask_again: Callable[[str], str] | None) -> tuple[Answer | None, bool]:
    """(answer, repaired). One repair round through `ask_again(repair prompt) -> reply`;
    (None, True) when the second reply fails too."""
    try:
        return parse_answer(reply, fields), False
    except AnswerError as first:
        if ask_again is None:
            return None, False
        try:
            return parse_answer(ask_again(repair_prompt(reply, first, fields)), fields), True
        except AnswerError:
            return None, True
