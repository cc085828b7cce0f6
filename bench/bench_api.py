"""Load test of `docproc serve`: N concurrent uploads (default 50) of distinct generated invoices.

Reports p50/p99 time to the 202 answer, the count of 5xx answers, and how long the embedded
pool took to finish every job. Starts its own server on a free port with a temporary data dir.

    .venv/bin/python bench/bench_api.py [--uploads 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from faker import Faker

from docproc.samples import make_invoice, render_invoice_pdf

KEY = "bench-key-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _documents(folder: Path, n: int) -> list[Path]:
    rng = random.Random(99)
    Faker.seed(99)
    fake = Faker()
    paths = []
    for i in range(n):
        p = folder / f"inv-{i:03d}.pdf"
        render_invoice_pdf(make_invoice(rng, fake), p)
        paths.append(p)
    return paths


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _upload(client: httpx.AsyncClient, path: Path) -> tuple[float, int, str | None]:
    start = time.perf_counter()
    try:
        r = await client.post("/v1/documents", files={"file": (path.name, path.read_bytes(), "application/pdf")},
                              data={"schema": "invoice"})
    except httpx.HTTPError as exc:  # counted, not fatal: the figure to report
        print(f"transport error: {type(exc).__name__}", file=sys.stderr)
        return time.perf_counter() - start, 0, None
    elapsed = time.perf_counter() - start
    return elapsed, r.status_code, r.json().get("id") if r.status_code == 202 else None


async def _run(base: str, docs: list[Path]) -> tuple[list[tuple[float, int, str | None]], float]:
    limits = httpx.Limits(max_connections=len(docs))
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60,
                                 limits=limits) as client:
        answers = await asyncio.gather(*(_upload(client, d) for d in docs))
        start = time.perf_counter()
        pending = {job for _, _, job in answers if job}
        while pending:
            order = list(pending)
            states = await asyncio.gather(*(client.get(f"/v1/jobs/{j}") for j in order), return_exceptions=True)
            pending = {j for j, s in zip(order, states)
                       if isinstance(s, Exception) or s.json()["status"] not in ("succeeded", "failed")}
            await asyncio.sleep(0.5)
        return answers, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docs = _documents(tmp, args.uploads)
        port = _free_port()
        env = dict(os.environ, DOCPROC_API_KEYS=KEY, DOCPROC_WEBHOOK_SECRET="bench",
                   DOCPROC_RATE_BURST="100000", DOCPROC_RATE_PER_MINUTE="1000000")
        server = subprocess.Popen([sys.executable, "-c", "from docproc.cli import main; main()", "serve",
                                   "--port", str(port), "--data-dir", str(tmp / "data"), "--workers",
                                   str(args.workers)], env=env, start_new_session=True,
                                  stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            answers, drain_s = asyncio.run(_run(base, docs))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
    times = [t * 1000 for t, _, _ in answers]
    codes = [c for _, c, _ in answers]
    print(f"uploads: {len(answers)} concurrent, server workers: {args.workers}, cpus: {os.cpu_count()}")
    print(f"time to 202 (ms): p50 {statistics.median(times):.0f}  p99 {_percentile(times, 0.99):.0f}  "
          f"max {max(times):.0f}")
    print(f"answers: 202 x{codes.count(202)}, 5xx x{sum(1 for c in codes if c >= 500)}, "
          f"other x{sum(1 for c in codes if c != 202 and 0 < c < 500)}, transport errors x{codes.count(0)}")
    print(f"all jobs finished {drain_s:.1f} s after the last 202 "
          f"({len(answers) / max(drain_s, 1e-9):.2f} docs/s end to end)")


if __name__ == "__main__":
    main()
