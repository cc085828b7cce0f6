"""`docproc serve`, `docproc watch` and `docproc batch`: the three unattended entry points,
plugged into the CLI through the `docproc.commands` entry-point group. Heavy imports (FastAPI,
uvicorn, pandas) happen inside the commands, so `docproc --help` stays fast."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

import typer

from docproc.errors import DocprocError

log = logging.getLogger(__name__)


def _options(schema: Optional[str], max_pages: Optional[int] = None):
    from docproc import schemas
    from docproc.cli import build_options

    if schema and schema != "auto":
        schemas.load_schema(schema)  # fail fast, before any document runs
    options = build_options(schema)
    if max_pages:
        options.limits.max_pages = max_pages
    return options


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Uploads, results, SQLite ledger "
                                            "(default: $DOCPROC_DATA_DIR or ./docproc-data)."),
    workers: Optional[int] = typer.Option(None, help="Embedded pipeline worker processes (default 1)."),
    keys_file: Optional[Path] = typer.Option(None, "--keys-file", help="API keys, one per line (adds to "
                                             "$DOCPROC_API_KEYS)."),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """Run the HTTP API. Keys: $DOCPROC_API_KEYS (comma-separated) or --keys-file.
    With $DOCPROC_BROKER_URL set, jobs go to the Celery cluster instead of the local pool."""
    import uvicorn

    from docproc.api.app import create_app
    from docproc.api.settings import ApiSettings

    env = dict(os.environ)
    if keys_file:
        env["DOCPROC_API_KEYS_FILE"] = str(keys_file)
    settings = ApiSettings.from_env(env, data_dir=data_dir, workers=workers)
    if not settings.api_keys:
        typer.echo("error: no API keys: set DOCPROC_API_KEYS or pass --keys-file", err=True)
        raise typer.Exit(2)
    if not env.get("DOCPROC_WEBHOOK_SECRET"):
        typer.echo("warning: DOCPROC_WEBHOOK_SECRET not set: webhooks are signed with a random secret "
                   "receivers cannot verify", err=True)
    logging.basicConfig(level=log_level.upper())
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                timeout_graceful_shutdown=10)


def watch(
    inbox: Path = typer.Argument(..., help="Folder that files are dropped into."),
    out: Path = typer.Option(..., "-o", "--out", help="Results, with done/ and failed/."),
    schema: Optional[str] = typer.Option(None, "--schema", "-s", help="Schema name or file, or auto."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default: one per core)."),
    settle: float = typer.Option(2.0, help="Seconds a file must stay unchanged before it is taken."),
    poll: float = typer.Option(1.0, help="Seconds between scans of the inbox."),
    once: bool = typer.Option(False, "--once", help="Process what is there, then exit."),
) -> None:
    """Process files dropped into INBOX; move each to OUT/done/ or OUT/failed/ beside its result."""
    from docproc.watch import WatchConfig, Watcher

    try:
        options = _options(schema)
    except DocprocError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    inbox.mkdir(parents=True, exist_ok=True)
    watcher = Watcher(WatchConfig(inbox=inbox, out=out, options=options, settle_s=settle, poll_s=poll,
                                  workers=workers))
    watcher.stop_on_signals()
    stats = watcher.run(once=once)
    typer.echo(f"{stats.done} done, {stats.failed} failed, {stats.recovered} recovered from an earlier run")


def batch(
    source: Path = typer.Argument(..., help="A folder, .zip or .tar.gz of documents."),
    out: Path = typer.Option(..., "-o", "--out", help="Results, report/ and the resume ledger."),
    schema: Optional[str] = typer.Option(None, "--schema", "-s", help="Schema name or file, or auto "
                                         "(classify each document)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default: one per core)."),
    ledger_url: Optional[str] = typer.Option(None, "--ledger", envvar="DOCPROC_LEDGER_URL",
                                             help="SQLAlchemy URL (default: SQLite in OUT)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed documents again."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Nightly archive batch: resumable (finished documents are skipped), with a CSV/Parquet report."""
    from docproc.nightly import run_nightly

    try:
        options = _options(schema)
        result = run_nightly(source, out, options, ledger_url=ledger_url, workers=workers,
                             progress=not quiet, retry_failed=retry_failed)
    except DocprocError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(2)
    s = result.batch
    typer.echo(f"{s.succeeded} succeeded, {s.failed} failed, {s.skipped} skipped (done before); "
               f"report in {out}/report/")
    if s.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("watch")(watch)
    app.command("batch")(batch)
