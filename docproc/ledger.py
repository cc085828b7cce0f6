"""Job ledger: one row per document job, the single source of truth for what happened to it.

SQLite file by default (embedded batch, API), PostgreSQL for a cluster: any SQLAlchemy URL.
A row is written before any work is enqueued; status moves queued -> running -> succeeded |
failed. `run` is a generation number: a job that is re-enqueued after it got stuck gets a
new run, and work still carrying the old run is fenced off (its writes are refused).
`job_steps` records which named steps of a run started and finished, so a step that starts
again without having finished (its worker died) counts as a new attempt, and a poison
document ends as a failed job once `max_attempts` is reached instead of looping.

Nothing here knows about Celery; rows hold ids, paths, codes and numbers only.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
TERMINAL = (SUCCEEDED, FAILED)
ACTIVE = (QUEUED, RUNNING)


def utcnow() -> datetime:
    # Naive UTC: SQLite has no time zones, and both backends then compare alike.
    return datetime.now(timezone.utc).replace(tzinfo=None)


def idempotency_key(content_sha256: str, schema_id: str | None, options_fingerprint: str) -> str:
    """Same content + same schema + same options = same job."""
    blob = f"{content_sha256}|{schema_id or '-'}|{options_fingerprint}"
    return hashlib.sha256(blob.encode()).hexdigest()


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    source_path: Mapped[str] = mapped_column(String(4096))
    result_path: Mapped[str | None] = mapped_column(String(4096))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    batch: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=QUEUED)
    run: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    error_code: Mapped[str | None] = mapped_column(String(64))
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    result_writes: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class StepRow(Base):
    __tablename__ = "job_steps"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    run: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    starts: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class Job:
    """A read-only snapshot of a ledger row."""

    id: str
    idempotency_key: str
    source_path: str
    result_path: str | None
    options: dict
    batch: str | None
    status: str
    run: int
    attempts: int
    max_attempts: int
    error_code: str | None
    timings: dict
    result_writes: int
    worker: str | None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("created_at", "updated_at", "deadline_at"):
            out[k] = out[k].isoformat() + "Z" if out[k] else None
        return out


def _snapshot(row: JobRow) -> Job:
    return Job(**{k: getattr(row, k) for k in Job.__dataclass_fields__})


class StepStart(enum.Enum):
    PROCEED = "proceed"  # do the work
    SKIP = "skip"  # done already, or the job moved on (terminal / newer run): drop the message
    EXHAUSTED = "exhausted"  # starting again would exceed max_attempts: fail the job


def _sqlite_immediate(engine: Engine) -> None:
    """SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE so concurrent writers queue up
    instead of failing on a read->write lock upgrade (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Ledger:
    """Job records over any SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://...``)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            _sqlite_immediate(self.engine)
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Drop pooled connections (call in a forked child before first use)."""
        self.engine.dispose(close=False)

    # --- submission -----------------------------------------------------------------------

    def create_job(
        self, source_path: str, key: str, options: dict, result_path: str | None,
        max_attempts: int = 3, deadline_s: float = 3600.0, batch: str | None = None,
    ) -> tuple[Job, bool]:
        """Insert a queued job, or return the existing one with the same idempotency key.

        Returns (job, created). An existing job is moved to `batch` so that waiting on the
        latest submission includes it."""
        try:
            with self._session.begin() as s:
                existing = s.scalar(select(JobRow).where(JobRow.idempotency_key == key))
                if existing is not None:
                    if batch:
                        existing.batch = batch
                    return _snapshot(existing), False
                now = utcnow()
                row = JobRow(
                    id=uuid.uuid4().hex, idempotency_key=key, source_path=source_path,
                    result_path=result_path, options=options, batch=batch, status=QUEUED, run=0,
                    attempts=0, max_attempts=max_attempts, timings={}, result_writes=0,
                    created_at=now, updated_at=now, deadline_at=now + timedelta(seconds=deadline_s),
                )
                s.add(row)
            return _snapshot(row), True
        except IntegrityError:  # a concurrent submit of the same key won the race
            return self.get_by_key(key), False

    def retry(self, job_id: str, deadline_s: float = 3600.0) -> Job | None:
        """Put a failed job back in the queue with fresh attempts (a new run)."""
        with self._session.begin() as s:
            row = s.get(JobRow, job_id, with_for_update=True)
            if row is None or row.status != FAILED:
                return None
            now = utcnow()
            row.run += 1
            row.status, row.attempts, row.error_code = QUEUED, 0, None
            row.updated_at, row.deadline_at = now, now + timedelta(seconds=deadline_s)
            return _snapshot(row)

    # --- queries --------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._session() as s:
            row = s.get(JobRow, job_id)
            return _snapshot(row) if row else None

    def get_by_key(self, key: str) -> Job:
        with self._session() as s:
            return _snapshot(s.scalars(select(JobRow).where(JobRow.idempotency_key == key)).one())

    def jobs(self, batch: str | None = None, ids: Iterable[str] | None = None) -> list[Job]:
        q = select(JobRow).order_by(JobRow.created_at, JobRow.id)
        if batch is not None:
            q = q.where(JobRow.batch == batch)
        if ids is not None:
            q = q.where(JobRow.id.in_(list(ids)))
        with self._session() as s:
            return [_snapshot(r) for r in s.scalars(q)]

    def latest_batch(self) -> str | None:
        with self._session() as s:
            return s.scalar(
                select(JobRow.batch).where(JobRow.batch.is_not(None))
                .order_by(JobRow.updated_at.desc()).limit(1))

    def counts(self, batch: str | None = None) -> dict[str, int]:
        q = select(JobRow.status, func.count()).group_by(JobRow.status)
        if batch is not None:
            q = q.where(JobRow.batch == batch)
        with self._session() as s:
            return {status: n for status, n in s.execute(q)}

    def overdue(self, now: datetime | None = None) -> list[Job]:
        """Active jobs whose deadline has passed (stuck or lost)."""
        q = select(JobRow).where(JobRow.status.in_(ACTIVE), JobRow.deadline_at < (now or utcnow()))
        with self._session() as s:
            return [_snapshot(r) for r in s.scalars(q)]

    def steps(self, job_id: str, run: int) -> dict[str, tuple[int, bool]]:
        """name -> (starts, done) for one run of a job."""
        q = select(StepRow).where(StepRow.job_id == job_id, StepRow.run == run)
        with self._session() as s:
            return {r.name: (r.starts, r.done) for r in s.scalars(q)}

    # --- steps of a run -------------------------------------------------------------------

    def begin_step(
        self, job_id: str, run: int, name: str, worker: str, deadline_s: float,
        new_attempt: bool = False,
    ) -> StepStart:
        """Record that `name` starts. A first step of a run (`new_attempt`) or a step that
        starts again without having finished counts as an attempt."""
        with self._session.begin() as s:
            job = s.get(JobRow, job_id, with_for_update=True)
            if job is None or job.run != run or job.status in TERMINAL:
                return StepStart.SKIP
            step = s.get(StepRow, (job_id, run, name), with_for_update=True)
            if step is not None and step.done:
                return StepStart.SKIP
            repeat = step is not None and step.starts > 0
            if (new_attempt or repeat) and job.attempts >= job.max_attempts:
                return StepStart.EXHAUSTED
            if step is None:
                step = StepRow(job_id=job_id, run=run, name=name, starts=0, done=False)
                s.add(step)
            step.starts += 1
            job.attempts += int(new_attempt or repeat)
            now = utcnow()
            job.status, job.worker = RUNNING, worker
            job.updated_at, job.deadline_at = now, now + timedelta(seconds=deadline_s)
            return StepStart.PROCEED

    def plan_steps(self, job_id: str, run: int, names: Iterable[str]) -> None:
        """Create not-yet-started rows for steps that must all finish before a join."""
        with self._session.begin() as s:
            for name in names:
                if s.get(StepRow, (job_id, run, name)) is None:
                    s.add(StepRow(job_id=job_id, run=run, name=name, starts=0, done=False))

    def finish_step(self, job_id: str, run: int, name: str, idle_deadline_s: float) -> bool:
        """Mark a step done. When no other step of the run is in progress the job goes back
        to `queued` (waiting for a worker) with `idle_deadline_s`. False if the run is stale."""
        with self._session.begin() as s:
            job = s.get(JobRow, job_id, with_for_update=True)
            if job is None or job.run != run or job.status in TERMINAL:
                return False
            s.execute(update(StepRow).where(StepRow.job_id == job_id, StepRow.run == run,
                                            StepRow.name == name).values(done=True))
            in_progress = s.scalar(select(func.count()).select_from(StepRow).where(
                StepRow.job_id == job_id, StepRow.run == run, StepRow.starts > 0,
                StepRow.done.is_(False)))
            now = utcnow()
            job.updated_at = now
            if not in_progress:
                job.status, job.deadline_at = QUEUED, now + timedelta(seconds=idle_deadline_s)
            return True

    def all_done(self, job_id: str, run: int, names: Iterable[str]) -> bool:
        names = list(names)
        q = select(func.count()).select_from(StepRow).where(
            StepRow.job_id == job_id, StepRow.run == run, StepRow.name.in_(names), StepRow.done.is_(True))
        with self._session() as s:
            return s.scalar(q) == len(names)

    def claim_step(self, job_id: str, run: int, name: str) -> bool:
        """Create the row of step `name` if nobody has: exactly one caller gets True (a join)."""
        try:
            with self._session.begin() as s:
                if s.get(StepRow, (job_id, run, name)) is not None:
                    return False
                s.add(StepRow(job_id=job_id, run=run, name=name, starts=0, done=False))
            return True
        except IntegrityError:
            return False

    # --- outcome --------------------------------------------------------------------------

    def finish_job(
        self, job_id: str, run: int | None, succeeded: bool, error_code: str | None = None,
        timings: dict | None = None, write: Callable[[], None] | None = None,
    ) -> bool:
        """Move an active job to succeeded/failed, calling `write` (the result file) inside the
        same transaction: if `write` raises, nothing is recorded. `run` None skips the run check.
        Returns False (and does not write) when the job is terminal already or the run is stale,
        so one job's result is recorded once."""
        with self._session.begin() as s:
            job = s.get(JobRow, job_id, with_for_update=True)
            if job is None or job.status in TERMINAL or (run is not None and job.run != run):
                return False
            job.status = SUCCEEDED if succeeded else FAILED
            job.error_code = error_code
            job.timings = dict(timings or {})
            job.updated_at, job.deadline_at = utcnow(), None
            job.result_writes += 1 if write else 0
            if write:
                write()
            return True

    def requeue(self, job_id: str, run: int, new_run: bool, deadline_s: float) -> Job | None:
        """Give an overdue job a fresh deadline (and, with `new_run`, a new generation that
        fences off work still in flight for the old one). None if it moved on meanwhile."""
        with self._session.begin() as s:
            job = s.get(JobRow, job_id, with_for_update=True)
            if job is None or job.run != run or job.status in TERMINAL:
                return None
            now = utcnow()
            job.run += int(new_run)
            job.status, job.updated_at = QUEUED, now
            job.deadline_at = now + timedelta(seconds=deadline_s)
            return _snapshot(job)
