"""`docproc submit | status | wait | reconcile`: cluster commands, registered on the `docproc`
CLI through the entry point group ``docproc.commands`` (see pyproject.toml).

Celery and the worker modules are imported inside the commands, so `docproc --help` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Optional

import typer

BROKER_HELP = "Broker URL (default: $DOCPROC_BROKER_URL)."
DATABASE_HELP = "Ledger database URL (default: $DOCPROC_DATABASE_URL)."


def _runtime(broker: str | None = None, database: str | None = None):
    """Config from the environment, with the command line's overrides applied."""
    from workers.config import ClusterConfig
    from workers.runtime import build_runtime

    config = ClusterConfig.from_env()
    overrides = {k: v for k, v in (("broker_url", broker), ("database_url", database)) if v}
    if overrides:
        config = dataclasses.replace(config, **overrides)
    return build_runtime(config)


def _sender(broker_url: str):
    from workers.app import app
    from workers.tasks import send_open

    app.conf.broker_url = broker_url
    return send_open


def submit(
    paths: list[Path] = typer.Argument(..., help="Files or folders (types are detected by content)."),
    out: Path = typer.Option(..., "-o", "--out", help="Folder (shared with the workers) for result JSON."),
    schema: Optional[str] = typer.Option(None, "--schema", "-s", help="Built-in schema name or schema file."),
    dpi: int = typer.Option(200, help="Render resolution for scanned pages and OCR."),
    ocr: str = typer.Option("rapidocr", help="OCR engine: rapidocr, tesseract, paddleocr."),
    layout: str = typer.Option("auto", help="Layout: auto, picodet, geometry, none."),
    text_layer: str = typer.Option("auto", "--text-layer", help="PDF text layer: auto, never, always."),
    reader: str = typer.Option("rules", help="Field reader: rules, vlm, hybrid, endpoint (vlm/hybrid: gpu queue)."),
    vlm_model: Optional[str] = typer.Option(None, "--vlm-model", help="VLM model directory (on the GPU workers)."),
    vlm_batch_size: int = typer.Option(8, "--vlm-batch-size", min=1, help="Pages per VLM generate call (GPU: 32-64)."),
    vlm_static_cache: bool = typer.Option(False, "--vlm-static-cache", help="Static KV cache: transformers compiles the decode step."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run again jobs that failed before."),
    broker: Optional[str] = typer.Option(None, "--broker", help=BROKER_HELP),
    database: Optional[str] = typer.Option(None, "--database", help=DATABASE_HELP),
) -> None:
    """Queue documents for the cluster; prints one job id per document."""
    from docproc import schemas
    from docproc.cli import build_options
    from docproc.errors import DocprocError
    from workers.submit import new_batch_id, submit_paths

    try:
        if schema and schema != "auto":
            schemas.load_schema(schema)  # fail fast, before any job is recorded
        options = build_options(schema, dpi, ocr, layout, text_layer, reader, vlm_model,
                                vlm_batch_size=vlm_batch_size, vlm_static_cache=vlm_static_cache)
    except DocprocError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(2)
    except ValueError as exc:
        typer.echo(f"error: invalid option: {exc}", err=True)
        raise typer.Exit(2)
    rt = _runtime(broker, database)
    send_open = _sender(rt.config.broker_url)
    batch = new_batch_id()
    try:
        submitted = submit_paths(rt, paths, out, options, send_open, batch=batch, retry_failed=retry_failed)
    except Exception as exc:  # noqa: BLE001 - broker down: rows are recorded, the reconciler resends
        typer.echo(f"error: could not enqueue ({type(exc).__name__}); recorded jobs stay queued and "
                   f"`docproc reconcile` sends them once overdue", err=True)
        raise typer.Exit(1)
    for s in submitted:
        typer.echo(s.job.id)
    reused = sum(not s.created for s in submitted)
    typer.echo(f"batch {batch}: {len(submitted)} jobs ({reused} existing)", err=True)
    if not submitted:
        typer.echo("error: no input files", err=True)
        raise typer.Exit(2)


def status(
    job: Optional[str] = typer.Argument(None, help="A job id (default: counts of the latest batch)."),
    batch: Optional[str] = typer.Option(None, "--batch", help="Batch id printed by submit."),
    database: Optional[str] = typer.Option(None, "--database", help=DATABASE_HELP),
) -> None:
    """One job as JSON, or job counts per status."""
    rt = _runtime(database=database)
    if job:
        found = rt.ledger.get(job)
        if found is None:
            typer.echo(f"error: no job {job}", err=True)
            raise typer.Exit(2)
        typer.echo(json.dumps(found.to_dict(), indent=2, default=str))
        return
    batch = batch or rt.ledger.latest_batch()
    counts = rt.ledger.counts(batch)
    shown = ", ".join(f"{k} {counts.get(k, 0)}" for k in ("queued", "running", "succeeded", "failed"))
    typer.echo(f"batch {batch or '-'}: {shown}")


def wait(
    jobs: Optional[list[str]] = typer.Argument(None, help="Job ids (default: the latest batch)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Give up after this many seconds."),
    poll: float = typer.Option(1.0, "--poll", help="Seconds between ledger checks."),
    batch: Optional[str] = typer.Option(None, "--batch", help="Batch id printed by submit."),
    database: Optional[str] = typer.Option(None, "--database", help=DATABASE_HELP),
) -> None:
    """Wait until the jobs are terminal. Exit 0 only if all succeeded (1: some failed, 3: timeout)."""
    rt = _runtime(database=database)
    batch = None if jobs else (batch or rt.ledger.latest_batch())
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        found = rt.ledger.jobs(batch=batch, ids=jobs or None)
        if found and all(j.terminal for j in found):
            break
        if deadline is not None and time.monotonic() > deadline:
            active = sum(not j.terminal for j in found)
            typer.echo(f"timeout: {active} of {len(found)} jobs not finished", err=True)
            raise typer.Exit(3)
        if not found:
            typer.echo("error: no jobs to wait for", err=True)
            raise typer.Exit(2)
        time.sleep(poll)
    failed = [j for j in found if j.status != "succeeded"]
    typer.echo(f"{len(found) - len(failed)} of {len(found)} jobs succeeded"
               + (f"; failed: {', '.join(f'{j.id} ({j.error_code})' for j in failed)}" if failed else ""))
    if failed:
        raise typer.Exit(1)


def reconcile(
    broker: Optional[str] = typer.Option(None, "--broker", help=BROKER_HELP),
    database: Optional[str] = typer.Option(None, "--database", help=DATABASE_HELP),
) -> None:
    """Re-send jobs stuck past their deadline (what the beat task does periodically)."""
    from workers import reconcile as reconciler
    from workers.tasks import send_open, send_pages, send_read

    rt = _runtime(broker, database)
    _sender(rt.config.broker_url)
    report = reconciler.reconcile(rt, send_open, send_pages, send_read)
    typer.echo(f"restarted {len(report.restarted)}, resent {len(report.resent)}")
    for job_id in report.restarted + report.resent:
        typer.echo(job_id)


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("wait")(wait)
    app.command("reconcile")(reconcile)
