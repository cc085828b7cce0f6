"""A real `docproc serve` (uvicorn, embedded pool, SQLite ledger) on a free port, for the API tests."""

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
KEY_A, KEY_B = "test-key-a-0123456789", "test-key-b-9876543210"
WEBHOOK_SECRET = "whsec-test"
MAX_UPLOAD = 2_000_000
DOCPROC = [sys.executable, "-c", "from docproc.cli import main; main()"]  # the installed `docproc`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """(base URL, data dir) of a server with two keys, a 2 MB upload cap and fast webhook retries."""
    data = tmp_path_factory.mktemp("api-data")
    port = free_port()
    env = dict(os.environ, DOCPROC_API_KEYS=f"{KEY_A},{KEY_B}", DOCPROC_WEBHOOK_SECRET=WEBHOOK_SECRET,
               DOCPROC_WEBHOOK_BACKOFF_S="0.3", DOCPROC_MAX_UPLOAD_BYTES=str(MAX_UPLOAD),
               DOCPROC_RATE_BURST="100000", DOCPROC_RATE_PER_MINUTE="1000000")
    env.pop("DOCPROC_BROKER_URL", None)
    proc = subprocess.Popen([*DOCPROC, "serve", "--port", str(port), "--data-dir",
                             str(data), "--workers", "1"], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base, data
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def invoice_pdfs(tmp_path_factory, invoice_specs):
    from docproc.samples import render_invoice_pdf

    folder = tmp_path_factory.mktemp("api-docs")
    out = []
    for i, spec in enumerate(invoice_specs[:4]):
        path = folder / f"invoice-{i}.pdf"
        render_invoice_pdf(spec, path)
        out.append((path, spec))
    return out


def auth(key: str = KEY_A) -> dict:
    return {"Authorization": f"Bearer {key}"}


def upload(base: str, path: Path, key: str = KEY_A, **form) -> httpx.Response:
    headers = auth(key)
    if "idempotency_key" in form:
        headers["Idempotency-Key"] = form.pop("idempotency_key")
    with open(path, "rb") as fh:
        return httpx.post(f"{base}/v1/documents", headers=headers, files={"file": (path.name, fh, "application/pdf")},
                          data=form, timeout=30)


def wait_job(base: str, job_id: str, key: str = KEY_A, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(key), timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not finished after {timeout} s")


def unique_pdf(tmp: Path, spec, name: str) -> Path:
    """A distinct born-digital invoice (content-keyed dedup must not merge it with another)."""
    from docproc.samples import render_invoice_pdf

    path = tmp / name
    render_invoice_pdf(spec, path)
    with open(path, "ab") as fh:  # bytes after %%EOF: readers ignore them, the hash changes
        fh.write(f"\n% {random.random()}\n".encode())
    return path
