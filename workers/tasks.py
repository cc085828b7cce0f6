"""Celery tasks: thin adapters over `workers.steps`. Arguments are job ids, run numbers, page
numbers and the options dict (`PipelineOptions.to_json_dict()`); return values are job ids."""

from __future__ import annotations

from workers import reconcile as reconciler
from workers import steps
from workers.app import app, config
from workers.runtime import get_runtime


def _limits(step: str) -> dict:
    t = config.time_limits[step]
    return {"soft_time_limit": t.soft, "time_limit": t.hard}


def send_open(job_id: str, run: int, options: dict) -> None:
    open_document.apply_async((job_id, run, options))


def send_pages(job_id: str, run: int, first: int, last: int, options: dict) -> None:
    process_range.apply_async((job_id, run, first, last, options))


def send_read(job_id: str, run: int, options: dict) -> None:
    read_and_write.apply_async((job_id, run, options))


@app.task(name="docproc.open", **_limits("open"))
def open_document(job_id: str, run: int, options: dict) -> str:
    steps.open_step(
        get_runtime(config), job_id, run, options,
        send_pages=lambda ranges: [send_pages(job_id, run, a, b, options) for a, b in ranges],
        send_read=lambda: send_read(job_id, run, options),
    )
    return job_id


@app.task(name="docproc.pages", **_limits("pages"))
def process_range(job_id: str, run: int, first: int, last: int, options: dict) -> str:
    steps.pages_step(get_runtime(config), job_id, run, first, last, options,
                     send_read=lambda: send_read(job_id, run, options))
    return job_id


@app.task(name="docproc.read", **_limits("read"))
def read_and_write(job_id: str, run: int, options: dict) -> str:
    steps.read_step(get_runtime(config), job_id, run, options)
    return job_id


@app.task(name="docproc.reconcile", **_limits("reconcile"))
def reconcile() -> dict:
    report = reconciler.reconcile(get_runtime(config), send_open, send_pages, send_read)
    return report.counts()
