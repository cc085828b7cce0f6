"""Cluster mode (DOCPROC_BROKER_URL set): jobs go to the Celery workers. This is the only module
of `docproc` that imports `workers` (and through it Celery), and only when called."""

from __future__ import annotations

import re

from docproc.ledger import Job, Ledger

_RANGE = re.compile(r"^pages-(\d+)-(\d+)$")


def enqueue(job: Job, broker_url: str | None) -> None:
    """The ledger row exists already (written before enqueueing, as the workers expect)."""
    from workers.tasks import send_open  # noqa: PLC0415 - celery is imported only here

    send_open(job.id, job.run, job.options)


def page_progress(ledger: Ledger, job: Job) -> tuple[int, int]:
    """(pages done, pages planned) from the workers' page-range steps of the current run."""
    done = total = 0
    for name, (_starts, finished) in ledger.steps(job.id, job.run).items():
        m = _RANGE.match(name)
        if m:
            n = int(m.group(2)) - int(m.group(1)) + 1
            total += n
            done += n if finished else 0
    return done, total
