"""What the API keeps about a job beyond the shared ledger row: its owner (a key digest), the
uploaded file name, callback URL, per-page progress and whether the webhook went out.

A table of its own (`api_jobs`, keyed by the ledger's job id) in the ledger's database, so the
ledger stays free of HTTP concerns and cluster workers never need to know about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from docproc.ledger import utcnow


class _Base(DeclarativeBase):
    pass


class ApiJobRow(_Base):
    __tablename__ = "api_jobs"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


@dataclass(frozen=True)
class ApiJob:
    job_id: str
    owner: str
    filename: str
    callback_url: str | None
    pages_done: int
    pages_total: int
    notified: bool


def _snap(row: ApiJobRow) -> ApiJob:
    return ApiJob(row.job_id, row.owner, row.filename, row.callback_url, row.pages_done, row.pages_total,
                  row.notified)


class ApiStore:
    def __init__(self, engine: Engine):
        _Base.metadata.create_all(engine)
        self._session = sessionmaker(engine, expire_on_commit=False)

    def add(self, job_id: str, owner: str, filename: str, callback_url: str | None) -> ApiJob:
        with self._session.begin() as s:
            row = s.get(ApiJobRow, job_id)
            if row is None:
                row = ApiJobRow(job_id=job_id, owner=owner, filename=filename, callback_url=callback_url,
                                pages_done=0, pages_total=0, notified=False, created_at=utcnow())
                s.add(row)
            return _snap(row)

    def get(self, job_id: str) -> ApiJob | None:
        with self._session() as s:
            row = s.get(ApiJobRow, job_id)
            return _snap(row) if row else None

    def set_progress(self, job_id: str, done: int, total: int) -> None:
        with self._session.begin() as s:
            s.execute(update(ApiJobRow).where(ApiJobRow.job_id == job_id)
                      .values(pages_done=done, pages_total=total))

    def reset(self, job_id: str) -> None:
        """A job that runs again (retried) gets a fresh progress and a fresh webhook."""
        with self._session.begin() as s:
            s.execute(update(ApiJobRow).where(ApiJobRow.job_id == job_id)
                      .values(pages_done=0, notified=False))

    def claim_notification(self, job_id: str) -> bool:
        """True for exactly one caller: the one that sends the job's webhook."""
        with self._session.begin() as s:
            res = s.execute(update(ApiJobRow).where(ApiJobRow.job_id == job_id, ApiJobRow.notified.is_(False))
                            .values(notified=True))
            return res.rowcount == 1

    def unnotified(self) -> list[ApiJob]:
        q = select(ApiJobRow).where(ApiJobRow.notified.is_(False))
        with self._session() as s:
            return [_snap(r) for r in s.scalars(q)]

    def all_ids(self) -> list[str]:
        with self._session() as s:
            return list(s.scalars(select(ApiJobRow.job_id)))
