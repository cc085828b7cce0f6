"""Embedded execution for the server: a process pool inside the server process.

The same worker initializer as `docproc.batch` (address-space cap, models warmed once per
worker). Each job runs `pipeline.run` in a worker, which marks the ledger step (attempt count)
and writes per-page progress straight into the database; the parent turns timeouts and
crashed workers into error results. The pool starts with `spawn`: forking a server that runs
threads can copy a held lock into the child.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache
from pathlib import Path
from typing import Callable

from pebble import ProcessExpired, ProcessPool

from docproc import batch, pipeline
from docproc.ledger import Job, Ledger, StepStart
from docproc.options import PipelineOptions

log = logging.getLogger(__name__)

STEP = "pipeline"


@lru_cache(maxsize=2)
def _worker_db(ledger_url: str):
    from docproc.api.store import ApiStore

    ledger = Ledger(ledger_url)
    return ledger, ApiStore(ledger.engine)


def run_job(job_id: str, run: int, source_path: str, options: dict, ledger_url: str, deadline_s: float) -> dict:
    """Worker side: one attempt at one job. Returns the result JSON (or {"skipped": true})."""
    ledger, store = _worker_db(ledger_url)
    opts = PipelineOptions.model_validate(options)
    start = ledger.begin_step(job_id, run, STEP, worker=f"api-{os.getpid()}", deadline_s=deadline_s,
                              new_attempt=True)
    if start is StepStart.SKIP:
        return {"skipped": True}
    if start is StepStart.EXHAUSTED:
        return batch.error_result(Path(source_path), "pipeline", "attempts_exhausted",
                                  "attempt cap reached", opts).to_json_dict()

    def progress(done: int, total: int) -> None:
        store.set_progress(job_id, done, total)

    try:
        return pipeline.run(source_path, opts, on_page=progress).to_json_dict()
    except MemoryError:
        return batch.error_result(Path(source_path), "pipeline", "out_of_memory",
                                  f"document exceeded {opts.limits.worker_memory_mb} MB", opts).to_json_dict()


class EmbeddedRunner:
    def __init__(self, ledger_url: str, workers: int, base_options: PipelineOptions,
                 on_done: Callable[[Job, dict], None]):
        self.ledger_url = ledger_url
        self.workers = max(1, workers)
        self.base_options = base_options
        self.on_done = on_done
        self._pool: ProcessPool | None = None

    def _get_pool(self) -> ProcessPool:
        if self._pool is None:  # lazily: a server that never gets a document never loads models
            self._pool = ProcessPool(max_workers=self.workers, max_tasks=200, initializer=batch._init_worker,
                                     initargs=(self.base_options.model_dump_json(by_alias=True),),
                                     context=multiprocessing.get_context("spawn"))
        return self._pool

    def submit(self, job: Job) -> None:
        timeout = PipelineOptions.model_validate(job.options).limits.document_timeout_s
        future = self._get_pool().schedule(
            run_job, args=(job.id, job.run, job.source_path, job.options, self.ledger_url, timeout + 60),
            timeout=timeout)
        future.add_done_callback(lambda f: self._finished(job, f))

    def _finished(self, job: Job, future) -> None:
        options = PipelineOptions.model_validate(job.options)
        source = Path(job.source_path)
        try:
            result = future.result()
        except FutureTimeout:
            result = batch.error_result(source, "pipeline", "document_timeout",
                                        f"no result after {options.limits.document_timeout_s:.0f} s", options
                                        ).to_json_dict()
        except ProcessExpired as exc:
            result = batch.error_result(source, "pipeline", "worker_crashed",
                                        f"worker exited with code {exc.exitcode}", options).to_json_dict()
        except Exception as exc:  # noqa: BLE001 - only the type: a message may quote content
            log.error("job %s: internal error %s", job.id, type(exc).__name__)
            result = batch.error_result(source, "pipeline", "internal_error", type(exc).__name__,
                                        options).to_json_dict()
        if result.get("skipped"):
            return
        try:
            self.on_done(job, result)
        except Exception as exc:  # noqa: BLE001 - a callback bug must not kill the pool's thread
            log.error("job %s: completion handler failed: %s", job.id, type(exc).__name__)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
