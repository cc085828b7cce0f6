"""The work of each cluster step over the library's stage functions, with the ledger around it.

    open  (sniff, plan page ranges) ──► pages × N (render, OCR, layout per range) ──► read (+ write)

Each step: begin in the ledger (skip if done/stale, fail the job if the attempt cap is hit),
do the work, write intermediates to the artifact store under the job id, send the next
step(s), mark the step done. The fan-in before `read` goes through the ledger (the part that
completes the set claims the read step) rather than a Celery chord, because a chord's
counter on Redis fires early or twice when a header task is redelivered.

The composition mirrors `docproc.pipeline.run`, so results equal embedded mode's.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path
from typing import Callable

from celery.exceptions import SoftTimeLimitExceeded

from docproc import pipeline
from docproc.artifacts import job_key, job_prefix
from docproc.batch import error_result, write_result
from docproc.document import Document, ErrorRecord, Page, Result, SourceInfo
from docproc.errors import DocprocError
from docproc.ledger import Job, StepStart, utcnow
from docproc.options import PipelineOptions
from workers.runtime import Runtime

log = logging.getLogger(__name__)

Range = tuple[int, int]
SendPages = Callable[[list[Range]], None]
SendRead = Callable[[], None]


def page_ranges(page_count: int, per_task: int) -> list[Range]:
    """1-based inclusive ranges of at most `per_task` pages."""
    return [(a, min(a + per_task - 1, page_count)) for a in range(1, page_count + 1, per_task)]


def range_step(first: int, last: int) -> str:
    return f"pages-{first}-{last}"


def parse_range_step(name: str) -> Range | None:
    parts = name.split("-")
    if len(parts) == 3 and parts[0] == "pages" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None


# --- test-only hooks (inactive unless the environment sets them) ----------------------------

def _test_hooks(rt: Runtime, sha256: str) -> None:
    if rt.config.test_crash_sha256 and rt.config.test_crash_sha256 == sha256:
        log.warning("test hook: crashing worker process %s", os.getpid())
        os._exit(70)
    if rt.config.test_sleep_s:
        time.sleep(rt.config.test_sleep_s)


# --- outcome ---------------------------------------------------------------------------------

def _internal_error(exc: BaseException, job_id: str) -> ErrorRecord:
    # The message may quote document content: log the code path, keep the type name only.
    log.error("job %s: internal error %s\n%s", job_id, type(exc).__name__,
              "".join(traceback.format_tb(exc.__traceback__)))
    return ErrorRecord(stage="pipeline", code="internal_error", message=type(exc).__name__)


def record_result(rt: Runtime, job: Job, run: int, result: Result) -> bool:
    """Write the result file and close the job, once (the ledger refuses a second close)."""
    ok = result.status != "error"
    code = None if ok else (result.errors[0].code if result.errors else "error")
    timings = dict(result.timings)
    timings["cluster_wall_s"] = round((utcnow() - job.created_at).total_seconds(), 3)
    write = (lambda: write_result(result, Path(job.result_path))) if job.result_path else None
    closed = rt.ledger.finish_job(job.id, run, ok, code, timings, write)
    if closed:
        rt.store.delete_prefix(job_prefix(job.id))
        log.info("job %s run %d: %s", job.id, run, "succeeded" if ok else f"failed ({code})")
    return closed


def _fail(rt: Runtime, job_id: str, run: int, options: PipelineOptions, stage: str, code: str,
          message: str) -> None:
    job = rt.ledger.get(job_id)
    if job is not None:
        record_result(rt, job, run, error_result(Path(job.source_path), stage, code, message, options))


def _begin(rt: Runtime, job_id: str, run: int, step: str, kind: str, options: PipelineOptions,
           new_attempt: bool = False) -> bool:
    start = rt.ledger.begin_step(job_id, run, step, rt.worker, rt.config.step_deadline_s(kind),
                                 new_attempt=new_attempt)
    if start is StepStart.EXHAUSTED:
        job = rt.ledger.get(job_id)
        attempts = job.attempts if job else 0
        log.warning("job %s run %d: attempt cap reached at step %s", job_id, run, step)
        _fail(rt, job_id, run, options, "cluster", "attempts_exhausted",
              f"job {job_id} stopped after {attempts} attempts (worker lost or timed out each time)")
    elif start is StepStart.SKIP:
        log.info("job %s run %d: step %s skipped (done or superseded)", job_id, run, step)
    return start is StepStart.PROCEED


def _timed_out(rt: Runtime, job_id: str, run: int, options: PipelineOptions, step: str) -> None:
    limit = rt.config.time_limits[step].soft
    _fail(rt, job_id, run, options, "pipeline", "document_timeout",
          f"step {step} of job {job_id} exceeded {limit:.0f} s")


# --- steps ---------------------------------------------------------------------------------

def open_step(rt: Runtime, job_id: str, run: int, options_json: dict, send_pages: SendPages,
              send_read: SendRead) -> None:
    """Sniff the file, store the plan (source info + page ranges), fan out the page ranges."""
    options = PipelineOptions.model_validate(options_json)
    if not _begin(rt, job_id, run, "open", "open", options, new_attempt=True):
        return
    job = rt.ledger.get(job_id)
    timings: dict[str, float] = {}
    try:
        with pipeline.timed(timings, "sniff"):
            source = pipeline.open_source(job.source_path, options)
    except SoftTimeLimitExceeded:
        return _timed_out(rt, job_id, run, options, "open")
    except DocprocError as exc:
        result = pipeline.build_result(job.source_path, None, None, options,
                                       errors=[ErrorRecord(**exc.to_dict())])
        record_result(rt, job, run, result)
        return
    except Exception as exc:  # noqa: BLE001 - as embedded mode: an error record, not a crash
        result = pipeline.build_result(job.source_path, None, None, options,
                                       errors=[_internal_error(exc, job_id)])
        record_result(rt, job, run, result)
        return
    _test_hooks(rt, source.sha256)
    ranges = page_ranges(source.page_count, rt.config.pages_per_task)
    rt.store.put_json(job_key(job_id, "plan"),
                      {"source": source.model_dump(mode="json"), "timings": timings, "ranges": ranges})
    rt.ledger.plan_steps(job_id, run, [range_step(*r) for r in ranges])
    if ranges:
        send_pages(ranges)
    elif rt.ledger.claim_step(job_id, run, "read"):
        send_read()
    rt.ledger.finish_step(job_id, run, "open", rt.config.queue_deadline_s)


def pages_step(rt: Runtime, job_id: str, run: int, first: int, last: int, options_json: dict,
               send_read: SendRead) -> None:
    """Render, OCR and lay out one page range; the range that completes the set sends `read`."""
    options = PipelineOptions.model_validate(options_json)
    name = range_step(first, last)
    if not _begin(rt, job_id, run, name, "pages", options):
        return
    plan = rt.store.get_json(job_key(job_id, "plan"))
    source = SourceInfo.model_validate(plan["source"])
    _test_hooks(rt, source.sha256)
    try:
        pages = pipeline.process_pages(source, options, list(range(first, last + 1)))
        payload: dict = {"pages": [p.model_dump(mode="json") for p in pages]}
    except SoftTimeLimitExceeded:
        return _timed_out(rt, job_id, run, options, "pages")
    except DocprocError as exc:
        payload = {"error": exc.to_dict()}
    except Exception as exc:  # noqa: BLE001
        payload = {"error": _internal_error(exc, job_id).model_dump()}
    rt.store.put_json(job_key(job_id, name), payload)
    if not rt.ledger.finish_step(job_id, run, name, rt.config.queue_deadline_s):
        return  # superseded by a newer run while we worked
    # Mark done first, then look: of two parts finishing together at least one sees both done.
    names = [range_step(*r) for r in plan["ranges"]]
    if rt.ledger.all_done(job_id, run, names) and rt.ledger.claim_step(job_id, run, "read"):
        send_read()


def _assemble(rt: Runtime, job_id: str, plan: dict) -> tuple[Document, ErrorRecord | None]:
    doc = Document(source=SourceInfo.model_validate(plan["source"]))
    pages: list[Page] = []
    for first, last in plan["ranges"]:
        part = rt.store.get_json(job_key(job_id, range_step(first, last)))
        if "error" in part:
            return doc, ErrorRecord(**part["error"])  # as embedded: the document has no pages
        pages.extend(Page.model_validate(p) for p in part["pages"])
    doc.pages = pages
    return doc, None


def read_step(rt: Runtime, job_id: str, run: int, options_json: dict) -> None:
    """Join the pages, answer the schema, build and write the result (as `pipeline.run`)."""
    options = PipelineOptions.model_validate(options_json)
    if not _begin(rt, job_id, run, "read", "read", options):
        return
    job = rt.ledger.get(job_id)
    plan = rt.store.get_json(job_key(job_id, "plan"))
    timings: dict[str, float] = dict(plan["timings"])
    doc, error = _assemble(rt, job_id, plan)
    doc.timings = timings
    path = job.source_path
    if error is not None:
        result = pipeline.build_result(path, doc, None, options, errors=[error])
    else:
        try:
            result = pipeline.read_and_build(path, doc, options)
        except SoftTimeLimitExceeded:
            return _timed_out(rt, job_id, run, options, "read")
        except DocprocError as exc:
            result = pipeline.build_result(path, doc, None, options, errors=[ErrorRecord(**exc.to_dict())])
        except Exception as exc:  # noqa: BLE001
            result = pipeline.build_result(path, doc, None, options, errors=[_internal_error(exc, job_id)])
    record_result(rt, job, run, result)
