"""Response bodies, so the served OpenAPI spec says exactly what comes back."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JobState = Literal["queued", "running", "succeeded", "failed"]


class ErrorBody(BaseModel):
    detail: str


class Progress(BaseModel):
    pages_done: int
    pages_total: int  # 0 until the document has been opened


class JobStatus(BaseModel):
    id: str
    status: JobState
    schema_: str | None = Field(default=None, alias="schema")
    filename: str
    attempts: int
    error_code: str | None = None
    progress: Progress
    created_at: str | None = None
    updated_at: str | None = None
    result_url: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class Accepted(BaseModel):
    id: str
    status: JobState
    created: bool  # False: an earlier job with the same Idempotency-Key (or content) was returned
    status_url: str


class SchemaInfo(BaseModel):
    name: str
    id: str
    description: str
    fields: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    mode: Literal["embedded", "cluster"]
