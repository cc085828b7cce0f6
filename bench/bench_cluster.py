"""Cluster overhead and scaling: pages/s for the same scanned pages embedded (one process,
in order) and in cluster mode with one and with two worker processes.

    .venv/bin/python bench/bench_cluster.py [--pages 20] [--dpi 150]

Starts its own redis-server (AOF, everysec as in deploy/compose.yaml) on a free port and
real `celery worker` processes; the ledger is a SQLite file. Timing runs from submission
to the last job being terminal in the ledger; workers are started and warm before it.
Prints pages/s, the overhead ratio (cluster 1 worker / embedded, in seconds) and the
scaling ratio (pages/s with 2 workers / with 1).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_scans(folder: Path, n: int, dpi: int) -> list[Path]:
    from faker import Faker

    from docproc.samples import make_invoice, render_invoice_pdf, scan_pdf

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2024)
    Faker.seed(2024)
    fake = Faker("en_US")
    paths = []
    for i in range(n):
        pdf = folder / f".src-{i:02d}.pdf"
        render_invoice_pdf(make_invoice(rng, fake), pdf)
        scan = folder / f"scan-{i:02d}.jpg"
        scan_pdf(pdf, scan, rng, dpi=dpi)
        pdf.unlink()
        paths.append(scan)
    return paths


def start_redis(folder: Path) -> tuple[subprocess.Popen, int]:
    import redis

    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc, port
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_worker(env: dict, processes: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(BIN / "celery"), "-A", "workers.app", "worker", "-Q", "cpu", "-n", f"bench{processes}@%h",
         "--concurrency", str(processes), "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    end = time.monotonic() + 120
    while log.read_text(errors="replace").count("models warm") < processes or " ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def run_embedded(docs: list[Path], options) -> tuple[float, dict]:
    from docproc import pipeline

    pipeline.warm_up(options)
    t0 = time.perf_counter()
    results = {str(p.resolve()): pipeline.run(p.resolve(), options).to_json_dict() for p in docs}
    return time.perf_counter() - t0, results


def run_cluster(docs: list[Path], options, processes: int, tmp: Path, broker: str) -> tuple[float, dict]:
    import dataclasses

    from workers.config import ClusterConfig
    from workers.runtime import build_runtime
    from workers.submit import submit_paths
    from workers.tasks import send_open

    db = f"sqlite:///{tmp / f'ledger-{processes}.sqlite3'}"
    env = {**os.environ, "DOCPROC_BROKER_URL": broker, "DOCPROC_DATABASE_URL": db,
           "DOCPROC_ARTIFACTS": str(tmp / f"artifacts-{processes}"), "PYTHONPATH": str(REPO)}
    worker = start_worker(env, processes, tmp / f"worker-{processes}.log")
    try:
        rt = build_runtime(dataclasses.replace(ClusterConfig.from_env(env), broker_url=broker))
        t0 = time.perf_counter()
        submitted = submit_paths(rt, docs, tmp / f"out-{processes}", options, send_open)
        ids = [s.job.id for s in submitted]
        while not all(j.terminal for j in rt.ledger.jobs(ids=ids)):
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        jobs = rt.ledger.jobs(ids=ids)
        results = {j.source_path: json.loads(Path(j.result_path).read_text()) for j in jobs}
        return elapsed, results
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def same(a: dict, b: dict) -> bool:
    strip = lambda r: {k: v for k, v in r.items() if k != "timings"}  # noqa: E731
    return strip(a) == strip(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--dpi", type=int, default=150, help="scan resolution of the generated pages")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp_name:
        tmp = Path(tmp_name)
        redis_dir = tmp / "redis"
        redis_dir.mkdir()
        redis_proc, port = start_redis(redis_dir)
        broker = f"redis://127.0.0.1:{port}/0"
        os.environ["DOCPROC_BROKER_URL"] = broker  # read once when workers.app is imported
        try:
            from docproc.cli import build_options

            options = build_options("invoice")
            docs = make_scans(tmp / "docs", args.pages, args.dpi)
            embedded_s, embedded = run_embedded(docs, options)
            one_s, one = run_cluster(docs, options, 1, tmp, broker)
            two_s, two = run_cluster(docs, options, 2, tmp, broker)
        finally:
            redis_proc.send_signal(signal.SIGTERM)
            redis_proc.wait(10)

    n = args.pages
    mismatches = sum(not same(embedded[k], one[k]) for k in embedded) + \
        sum(not same(embedded[k], two[k]) for k in embedded)
    print(f"{n} scanned pages ({args.dpi} dpi), {os.cpu_count()} CPU cores")
    print(f"{'mode':28} {'seconds':>8} {'pages/s':>8}")
    for label, secs in (("embedded (1 process)", embedded_s), ("cluster, 1 worker process", one_s),
                        ("cluster, 2 worker processes", two_s)):
        print(f"{label:28} {secs:8.2f} {n / secs:8.2f}")
    print(f"overhead ratio (cluster 1 worker / embedded, time): {one_s / embedded_s:.3f}")
    print(f"scaling ratio (pages/s 2 workers / 1 worker):       {one_s / two_s:.3f}")
    print(f"results differing from embedded (minus timings):     {mismatches}")
    # Stage seconds inside the pipeline (render/OCR/layout/reader) vs wall time: the rest is
    # queueing, messaging, ledger and artifact I/O -- or other load on a shared machine.
    for label, results, secs in (("embedded", embedded, embedded_s), ("cluster 1", one, one_s),
                                 ("cluster 2", two, two_s)):
        work = sum(v for r in results.values() for k, v in r["timings"].items() if k != "cluster_wall_s")
        print(f"{label:10} stage seconds (sum over documents) {work:7.2f}   wall seconds {secs:7.2f}")


if __name__ == "__main__":
    main()
