"""Celery beat entry for the nightly archive batch (cluster deployments).

Workers import it next to their own schedule, e.g. in the beat process's config:

    from deploy.nightly.beat_schedule import nightly_entry, register_nightly_task
    register_nightly_task(app)
    app.conf.beat_schedule.update(nightly_entry("/srv/archives", "/srv/docproc/nightly", schema="auto"))

The task runs `docproc batch` as a child process: a prefork Celery worker is daemonic and may
not start the batch's own process pool, and a separate process keeps a hostile archive's
memory out of the worker. The batch is resumable, so a retried or overlapping run skips what a
previous one finished.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

TASK_NAME = "docproc.nightly_batch"
TIME_LIMIT_S = 6 * 3600


def nightly_entry(archive_dir: str, out_root: str, schema: str = "auto", hour: int = 2, minute: int = 15,
                  queue: str = "cpu") -> dict:
    """The beat_schedule item: every day at hour:minute, yesterday's archive."""
    from celery.schedules import crontab

    return {"nightly-archive-batch": {
        "task": TASK_NAME,
        "schedule": crontab(hour=hour, minute=minute),
        "args": (archive_dir, out_root, schema),
        "options": {"queue": queue, "expires": 12 * 3600},
    }}


def batch_command(archive_dir: str, out_root: str, schema: str, day: dt.date) -> list[str]:
    name = day.isoformat()
    return ["docproc", "batch", str(Path(archive_dir) / f"{name}.zip"), "-o", str(Path(out_root) / name),
            "--schema", schema, "-q"]


def register_nightly_task(app) -> None:  # noqa: ANN001 - a Celery app
    @app.task(name=TASK_NAME, soft_time_limit=TIME_LIMIT_S, time_limit=TIME_LIMIT_S + 300, acks_late=True)
    def nightly_batch(archive_dir: str, out_root: str, schema: str = "auto") -> int:
        day = dt.date.today() - dt.timedelta(days=1)
        done = subprocess.run(batch_command(archive_dir, out_root, schema, day), timeout=TIME_LIMIT_S,
                              capture_output=True)
        if done.returncode == 2:  # the archive was refused or missing: worth an alert
            raise RuntimeError(f"nightly batch for {day} refused its archive (exit 2)")
        return done.returncode  # 0 or 1 (some documents failed; see the report)
