"""Reconciler: re-sends jobs whose deadline passed. Runs as a beat task and `docproc reconcile`.

* running past its deadline (a step outlived its hard time limit: the worker is frozen or
  gone, and its message may be held unacked for up to the visibility timeout): the job gets
  a new run, which fences off the old work, and starts again from `open`;
* queued past its deadline (a message lost between ledger and broker, e.g. a broker crash):
  the pending steps of the same run are sent again; duplicates are skipped by the ledger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from docproc.ledger import RUNNING, Job
from workers.runtime import Runtime
from workers.steps import parse_range_step

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    restarted: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"restarted": len(self.restarted), "resent": len(self.resent)}


def _resend_pending(job: Job, steps: dict[str, tuple[int, bool]], send_open, send_pages, send_read) -> None:
    if not steps.get("open", (0, False))[1]:
        send_open(job.id, job.run, job.options)
        return
    pending = [r for name, (_starts, done) in steps.items() if not done and (r := parse_range_step(name))]
    for first, last in sorted(pending):
        send_pages(job.id, job.run, first, last, job.options)
    if not pending:  # all pages done: the read message (or the join that sends it) was lost
        send_read(job.id, job.run, job.options)


def reconcile(
    rt: Runtime,
    send_open: Callable[[str, int, dict], None],
    send_pages: Callable[[str, int, int, int, dict], None],
    send_read: Callable[[str, int, dict], None],
) -> ReconcileReport:
    report = ReconcileReport()
    for job in rt.ledger.overdue():
        restart = job.status == RUNNING
        moved = rt.ledger.requeue(job.id, job.run, new_run=restart, deadline_s=rt.config.queue_deadline_s)
        if moved is None:
            continue  # it finished or was requeued by someone else meanwhile
        if restart:
            send_open(moved.id, moved.run, moved.options)
            report.restarted.append(moved.id)
        else:
            _resend_pending(moved, rt.ledger.steps(moved.id, moved.run), send_open, send_pages, send_read)
            report.resent.append(moved.id)
        log.warning("job %s: overdue while %s; %s as run %d", job.id, job.status,
                    "restarted" if restart else "resent", moved.run)
    return report
