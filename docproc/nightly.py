"""Nightly archive batch (`docproc batch ARCHIVE -o OUT`): a folder, .zip or .tar.gz in, one
result per document plus the pandas report out; resumable through the job ledger.

Every document gets a ledger row keyed by (content sha256, schema, options fingerprint) before
the run starts. A document whose job already ended (and whose result file exists) is skipped,
so a run that was killed continues where it stopped, and a document seen on an earlier night
is not processed again. Archives are unpacked once per content hash under
OUT/.docproc-archive/, so a rerun plans the same paths and result names.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from docproc import archive as archives
from docproc.batch import BatchItem, BatchSummary, run_batch
from docproc.document import Result
from docproc.errors import DocprocError
from docproc.ledger import FAILED, TERMINAL, Job, Ledger, idempotency_key
from docproc.options import PipelineOptions
from docproc.report import ReportFiles, write_report

log = logging.getLogger(__name__)

ARCHIVE_DIR = ".docproc-archive"
LEDGER_FILE = ".docproc-ledger.sqlite"


@dataclass
class NightlySummary:
    batch: BatchSummary
    report: ReportFiles | None
    inputs_dir: Path
    outputs: list[Path] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def inputs_dir(source: Path, out: Path, limits: archives.ArchiveLimits | None = None) -> Path:
    """The folder to process: `source` itself, or its safe extraction (DocprocError if refused)."""
    if source.is_dir():
        return source
    if archives.archive_kind(source) is None:
        raise DocprocError("archive", "archive_unsupported", f"{source.name}: not a folder, zip or tar")
    return archives.unpack_once(source, out / ARCHIVE_DIR, file_sha256(source)[:16], limits)


class _Resume:
    """The `skip` and `on_result` callbacks of run_batch, backed by the ledger."""

    def __init__(self, ledger: Ledger, options: PipelineOptions, batch_id: str, retry_failed: bool):
        self.ledger = ledger
        self.options = options
        self.options_dict = options.to_json_dict()
        self.fingerprint = options.fingerprint()
        self.batch_id = batch_id
        self.retry_failed = retry_failed
        self.jobs: dict[Path, Job] = {}
        self.planned: list[Path] = []

    def skip(self, item: BatchItem) -> bool:
        self.planned.append(item.output)
        if not item.path.is_file():
            return False  # gets its error record from the pipeline
        key = idempotency_key(file_sha256(item.path), self.options.schema_, self.fingerprint)
        job, _created = self.ledger.create_job(str(item.path), key, self.options_dict, str(item.output),
                                               batch=self.batch_id)
        self.jobs[item.path] = job
        if job.status not in TERMINAL:
            return False
        if job.status == FAILED and self.retry_failed:
            self.jobs[item.path] = self.ledger.retry(job.id) or job
            return False
        if item.output.is_file():
            return True
        previous = Path(job.result_path) if job.result_path else None
        if previous is not None and previous.is_file():  # done on an earlier night, elsewhere
            item.output.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(previous, item.output)
            return True
        if job.status == FAILED:  # the ledger says done but its result file is gone: run again
            self.jobs[item.path] = self.ledger.retry(job.id) or job
        return False

    def on_result(self, item: BatchItem, result: Result) -> None:
        job = self.jobs.get(item.path)
        if job is None:
            return
        ok = result.status != "error"
        code = None if ok else (result.errors[0].code if result.errors else "error")
        if not self.ledger.finish_job(job.id, None, ok, code, result.timings):
            log.info("job %s was closed already (same content twice in one run)", job.id)


def run_nightly(
    source: str | Path,
    out: str | Path,
    options: PipelineOptions,
    ledger_url: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> NightlySummary:
    """Process a folder or archive into `out`, skipping documents done before; write the report."""
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = inputs_dir(source, out)
    ledger = Ledger(ledger_url or f"sqlite:///{(out / LEDGER_FILE).resolve()}")
    resume = _Resume(ledger, options, uuid.uuid4().hex, retry_failed)
    summary = run_batch([folder], out, options, workers=workers, progress=progress,
                        on_result=resume.on_result, skip=resume.skip)
    outputs = sorted(p for p in resume.planned if p.is_file())
    report = write_report(outputs, out / "report") if outputs else None
    ledger.dispose()
    return NightlySummary(batch=summary, report=report, inputs_dir=folder, outputs=outputs)
