"""Submission: one ledger row per input file, written before its message is sent."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from docproc import schemas
from docproc.batch import collect_inputs, plan_outputs
from docproc.errors import DocprocError
from docproc.ledger import FAILED, Job, idempotency_key
from docproc.options import PipelineOptions
from workers.runtime import Runtime

SendOpen = Callable[[str, int, dict], None]


@dataclass(frozen=True)
class Submission:
    job: Job
    created: bool  # False: an identical job (same content, schema, options) existed already


def content_sha256(path: Path) -> str:
    """Content hash for the idempotency key; an unreadable path hashes its name instead, so it
    still gets a job (which ends as an error record, as in embedded mode)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        digest.update(b"unreadable:" + str(path).encode())
    return digest.hexdigest()


def schema_identity(options: PipelineOptions) -> str | None:
    """The schema's id@version, plus the file's hash for a user's schema file (edits count)."""
    name = options.schema_
    if not name or name == "auto":
        return name
    try:
        ident = schemas.load_schema(name).id
    except DocprocError:
        return name
    path = Path(name).expanduser()
    if path.is_file():
        ident += ":" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return ident


def new_batch_id() -> str:
    return uuid.uuid4().hex


def submit_paths(
    rt: Runtime, paths: Iterable[str | Path], out_dir: str | Path, options: PipelineOptions,
    send_open: SendOpen, batch: str | None = None, retry_failed: bool = False,
) -> list[Submission]:
    """Record and enqueue every input. Output names follow `docproc extract` (OUT/<stem>.json)."""
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    schema_id = schema_identity(options)
    fingerprint = options.fingerprint()
    options_json = options.to_json_dict()
    submitted: list[Submission] = []
    for item in plan_outputs(collect_inputs(paths), out_dir):
        source = item.path.expanduser().resolve()
        key = idempotency_key(content_sha256(source), schema_id, fingerprint)
        job, created = rt.ledger.create_job(
            str(source), key, options_json, str(item.output), max_attempts=rt.config.max_attempts,
            deadline_s=rt.config.queue_deadline_s, batch=batch)
        if created:
            send_open(job.id, job.run, job.options)
        elif retry_failed and job.status == FAILED:
            job = rt.ledger.retry(job.id, rt.config.queue_deadline_s) or job
            send_open(job.id, job.run, job.options)
        submitted.append(Submission(job, created))
    return submitted
