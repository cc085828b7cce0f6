"""Job submission and lookup for the API, over the shared ledger.

Embedded mode hands jobs to the in-process pool; cluster mode (a broker URL is configured)
enqueues them through the `workers` package, imported only in that branch. A job belongs to
the key that created it: a job id of another key reads as "no such job".

Deduplication: with an `Idempotency-Key` header the same key (per API key) returns the same
job; without one, the same content + schema + options (per API key) returns the same job, and a
failed one is run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from datetime import datetime
from pathlib import Path

from docproc import batch
from docproc.api.metrics import Metrics
from docproc.api.settings import ApiSettings
from docproc.api.store import ApiJob, ApiStore
from docproc.api.webhooks import WebhookSender
from docproc.document import Result
from docproc.ledger import ACTIVE, FAILED, TERMINAL, Job, Ledger, idempotency_key
from docproc.options import Limits, PipelineOptions

log = logging.getLogger(__name__)


def request_key(owner: str, idempotency_header: str | None, content_key: str) -> str:
    basis = f"hdr|{idempotency_header}" if idempotency_header else f"content|{content_key}"
    return hashlib.sha256(f"api|{owner}|{basis}".encode()).hexdigest()


def job_options(settings: ApiSettings, schema: str | None) -> PipelineOptions:
    return PipelineOptions(schema=schema, limits=Limits(max_pages=settings.max_pages,
                                                        max_file_bytes=settings.max_upload_bytes,
                                                        document_timeout_s=settings.job_timeout_s))


def summary(job: Job, api: ApiJob) -> dict:
    """The job as the API shows it (and as webhooks send it): ids, status, codes, numbers."""
    return {
        "id": job.id,
        "status": job.status,
        "schema": job.options.get("schema"),
        "filename": api.filename,
        "attempts": job.attempts,
        "error_code": job.error_code,
        "progress": {"pages_done": api.pages_done, "pages_total": api.pages_total},
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "result_url": f"/v1/jobs/{job.id}/result" if job.status in TERMINAL else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


class JobService:
    def __init__(self, settings: ApiSettings, metrics: Metrics, webhooks: WebhookSender):
        self.settings = settings
        self.metrics = metrics
        self.webhooks = webhooks
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.uploads = settings.data_dir / "uploads"
        self.results = settings.data_dir / "results"
        self.uploads.mkdir(exist_ok=True)
        self.results.mkdir(exist_ok=True)
        url = settings.ledger_url or f"sqlite:///{(settings.data_dir / 'ledger.sqlite').resolve()}"
        self.ledger = Ledger(url)
        self.store = ApiStore(self.ledger.engine)
        self.runner = None
        self._stop = threading.Event()
        if settings.broker_url is None:
            from docproc.api.runner import EmbeddedRunner

            self.runner = EmbeddedRunner(url, settings.workers, job_options(settings, None), self._finished)
        else:
            threading.Thread(target=self._poll_cluster, name="docproc-api-notify", daemon=True).start()

    # --- submission -----------------------------------------------------------------------

    def submit(self, owner: str, upload: Path, sha256: str, filename: str, schema: str | None,
               callback_url: str | None, idempotency_header: str | None) -> tuple[Job, bool]:
        options = job_options(self.settings, schema)
        content_key = idempotency_key(sha256, schema, options.fingerprint())
        key = request_key(owner, idempotency_header, content_key)
        stored = self.uploads / f"{sha256}{upload.suffix}"
        if not stored.exists():
            upload.replace(stored)
        else:
            upload.unlink(missing_ok=True)
        job, created = self.ledger.create_job(
            str(stored), key, options.to_json_dict(), str(self.results / f"{key[:32]}.json"),
            deadline_s=self.settings.job_timeout_s + 120)
        if created:
            self.store.add(job.id, owner, filename, callback_url)
            self._enqueue(job)
        elif job.status == FAILED and idempotency_header is None:
            retried = self.ledger.retry(job.id, deadline_s=self.settings.job_timeout_s + 120)
            if retried is not None:
                self.store.reset(job.id)
                job, created = retried, True
                self._enqueue(job)
        return job, created

    def _enqueue(self, job: Job) -> None:
        if self.runner is not None:
            self.runner.submit(job)
            return
        from docproc.api.cluster import enqueue  # celery only in cluster mode

        enqueue(job, self.settings.broker_url)

    def recover(self) -> int:
        """Embedded start-up: jobs the last server process accepted but did not finish run again."""
        if self.runner is None:
            return 0
        mine = set(self.store.all_ids())
        pending = [j for j in self.ledger.jobs(ids=mine) if j.status in ACTIVE] if mine else []
        for job in pending:
            self.runner.submit(job)
        return len(pending)

    # --- lookup ---------------------------------------------------------------------------

    def find(self, owner: str, job_id: str) -> tuple[Job, ApiJob] | None:
        api = self.store.get(job_id) if len(job_id) <= 64 else None
        if api is None or api.owner != owner:
            return None
        job = self.ledger.get(job_id)
        if job is None:
            return None
        if self.runner is None and job.status not in TERMINAL:  # cluster: progress from page steps
            from docproc.api.cluster import page_progress

            done, total = page_progress(self.ledger, job)
            api = dataclasses.replace(api, pages_done=done, pages_total=total)
        return job, api

    def result_file(self, job: Job) -> Path:
        return Path(job.result_path) if job.result_path else self.results / f"{job.id}.json"

    def job_counts(self) -> dict[str, int]:
        return self.ledger.counts()

    # --- completion -----------------------------------------------------------------------

    def _finished(self, job: Job, result: dict) -> None:
        """Embedded: record the outcome with the result file written in the same transaction."""
        ok = result.get("status") != "error"
        code = None if ok else (result.get("errors") or [{}])[0].get("code", "error")
        target = self.result_file(job)
        recorded = self.ledger.finish_job(job.id, job.run, ok, code, result.get("timings"),
                                          write=lambda: batch.write_result(Result.model_validate(result), target))
        if recorded:
            self.metrics.observe_result(result)
            self._notify(job.id)

    def _notify(self, job_id: str) -> None:
        api = self.store.get(job_id)
        job = self.ledger.get(job_id)
        if api is None or job is None or not api.callback_url or job.status not in TERMINAL:
            return
        if self.store.claim_notification(job_id):
            self.webhooks.send(api.callback_url, {"event": "job.finished", "job": summary(job, api)})

    def _poll_cluster(self) -> None:
        """Cluster: workers finish jobs; this notices terminal jobs and sends their webhooks."""
        while not self._stop.wait(2.0):
            try:
                for api in self.store.unnotified():
                    if api.callback_url:
                        self._notify(api.job_id)
            except Exception as exc:  # noqa: BLE001 - keep polling through a database hiccup
                log.warning("webhook poll failed: %s", type(exc).__name__)

    def close(self) -> None:
        self._stop.set()
        if self.runner is not None:
            self.runner.close()
