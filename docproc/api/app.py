"""The HTTP API (`docproc serve`): upload a document, poll its job, fetch its result.

    POST /v1/documents         multipart: file, schema, callback_url; Idempotency-Key header -> 202
    GET  /v1/jobs/{id}         status, attempts, error code, progress by page
    GET  /v1/jobs/{id}/result  the result JSON (DESIGN §3)
    GET  /v1/schemas           built-in schemas
    GET  /healthz, /metrics    liveness; Prometheus metrics

Every /v1 route needs `Authorization: Bearer <key>` and counts against that key's rate limit.
"""


import enum
import hashlib
import logging
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AnyHttpUrl

from docproc import schemas, sources
from docproc.api.auth import KeyStore, bearer_owner
from docproc.api.jobs import JobService, summary
from docproc.api.limits import BodySizeLimit, RateLimiter
from docproc.api.metrics import Metrics
from docproc.api.models import Accepted, ErrorBody, Health, JobStatus, SchemaInfo
from docproc.api.settings import ApiSettings
from docproc.api.webhooks import WebhookSender
from docproc.ledger import TERMINAL

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
_bearer = HTTPBearer(auto_error=False, description="an API key from DOCPROC_API_KEYS")


def _errors(*codes: int) -> dict:
    return {code: {"model": ErrorBody} for code in codes}


def _schema_choices() -> type[enum.Enum]:
    """Built-in schema names and "auto": never a path, so a client cannot make the server
    read a file of its choosing."""
    names = [s.name for s in schemas.list_schemas()] + ["auto"]
    return enum.Enum("SchemaName", {n: n for n in names}, type=str)


def _save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> tuple[Path, str, str | None]:
    """Copy the upload to `folder` while hashing it: (path, sha256, kind by magic bytes)."""
    digest = hashlib.sha256()
    head = b""
    size = 0
    tmp = folder / f".upload-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as out:
            while chunk := upload.file.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise HTTPException(413, f"upload larger than {max_bytes} bytes")
                if len(head) < 1024:
                    head += chunk[: 1024 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    kind = sources.detect_kind(head)
    final = tmp.with_name(tmp.name + f".{kind or 'bin'}")
    tmp.replace(final)
    return final, digest.hexdigest(), kind


def create_app(settings: ApiSettings) -> FastAPI:
    metrics_box: dict = {}
    webhooks = WebhookSender(settings.webhook_secret, settings.webhook_attempts, settings.webhook_backoff_s,
                             settings.webhook_timeout_s,
                             on_outcome=lambda outcome: metrics_box["m"].webhooks.labels(outcome).inc())
    jobs_box: dict = {}
    metrics = Metrics(lambda: jobs_box["jobs"].job_counts())
    metrics_box["m"] = metrics
    jobs = JobService(settings, metrics, webhooks)
    jobs_box["jobs"] = jobs
    limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)
    SchemaName = _schema_choices()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        resumed = jobs.recover()
        if resumed:
            log.info("resumed %d unfinished jobs", resumed)
        yield
        jobs.close()
        webhooks.close()

    app = FastAPI(title="docproc", version="1", lifespan=lifespan,
                  description="Document understanding: upload a document, poll its job, fetch its result JSON.")
    app.state.keys = KeyStore(settings.api_keys)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + 64 * 1024)  # + multipart framing

    def caller(request: Request,
               _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None) -> str:
        owner = bearer_owner(request)  # _creds only puts the scheme in the OpenAPI spec
        wait = limiter.retry_after(owner)
        if wait:
            metrics.rejected.labels("rate").inc()
            raise HTTPException(429, "too many requests for this API key", headers={"Retry-After": str(wait)})
        return owner

    Owner = Annotated[str, Depends(caller)]

    @app.post("/v1/documents", status_code=202, response_model=Accepted,
              responses=_errors(400, 401, 413, 415, 429))
    def submit_document(
        owner: Owner,
        file: Annotated[UploadFile, File(description="PDF, PNG, JPEG, TIFF, WEBP, GIF or BMP")],
        schema_name: Annotated[SchemaName | None, Form(alias="schema", description="built-in schema, or auto")] = None,
        callback_url: Annotated[AnyHttpUrl | None, Form(description="POSTed the job summary when done")] = None,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
    ) -> Accepted:
        path, sha256, kind = _save_upload(file, jobs.uploads, settings.max_upload_bytes)
        if kind is None:
            path.unlink(missing_ok=True)
            metrics.rejected.labels("media_type").inc()
            raise HTTPException(415, "not a PDF or a supported image")
        filename = Path(file.filename or "upload").name[:255] or "upload"
        job, created = jobs.submit(owner, path, sha256, filename, schema_name.value if schema_name else None,
                                   str(callback_url) if callback_url else None, idempotency_key)
        return Accepted(id=job.id, status=job.status, created=created, status_url=f"/v1/jobs/{job.id}")

    def _find(owner: str, job_id: str):
        found = jobs.find(owner, job_id)
        if found is None:
            raise HTTPException(404, "no such job")
        return found

    @app.get("/v1/jobs/{job_id}", response_model=JobStatus, responses=_errors(401, 404, 429))
    def job_status(job_id: str, owner: Owner) -> dict:
        return summary(*_find(owner, job_id))

    @app.get("/v1/jobs/{job_id}/result", responses={**_errors(401, 404, 409, 429),
                                                    200: {"content": {"application/json": {}},
                                                          "description": "The result JSON (DESIGN §3)"}})
    def job_result(job_id: str, owner: Owner):
        job, _api = _find(owner, job_id)
        path = jobs.result_file(job)
        if job.status not in TERMINAL or not path.is_file():
            raise HTTPException(409, "job not finished", headers={"Retry-After": "2"})
        return FileResponse(path, media_type="application/json")

    @app.get("/v1/schemas", response_model=list[SchemaInfo], responses=_errors(401, 429))
    def list_schemas(owner: Owner) -> list[SchemaInfo]:
        return [SchemaInfo(name=s.name, id=s.id, description=s.description, fields=[f.name for f in s.fields])
                for s in schemas.list_schemas()]

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        jobs.job_counts()  # the ledger answers
        return Health(status="ok", mode="embedded" if jobs.runner is not None else "cluster")

    @app.get("/metrics", response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
    def prometheus_metrics() -> PlainTextResponse:
        body, content_type = metrics.render()
        return PlainTextResponse(body, media_type=content_type)

    return app
