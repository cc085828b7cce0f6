"""Fixtures for cluster tests: a real redis-server (AOF, fsync always) on a free port in a
temporary folder, real `celery worker` processes, a SQLite ledger file, and the real CLI."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from docproc.ledger import Job, Ledger

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Short limits so that stuck-job and redelivery paths happen within seconds. The visibility
# timeout stays above the longest hard limit, as the config insists.
TEST_ENV = {
    "DOCPROC_TIME_LIMITS": "open=20:25,pages=40:45,read=20:25,reconcile=10:15",
    "DOCPROC_VISIBILITY_TIMEOUT_S": "50",
    "DOCPROC_DEADLINE_MARGIN_S": "5",
    "DOCPROC_QUEUE_DEADLINE_S": "120",
    "DOCPROC_PAGES_PER_TASK": "1",  # 3-page documents fan out over three tasks
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (the prefork pool processes of a worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class RedisServer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction",
             "--save", ""],
            stdout=open(self.folder / "redis.log", "a"), stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path

    def pool_pids(self) -> list[int]:
        return children_of(self.proc.pid)

    def processes(self) -> list[int]:
        return [self.proc.pid] + self.pool_pids()


@dataclass
class Cluster:
    tmp: Path
    redis: RedisServer
    env: dict[str, str]
    ledger: Ledger
    out: Path
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, name: str, concurrency: int = 1, beat: bool = False,
                     extra_env: dict[str, str] | None = None, wait: bool = True,
                     pool: str = "prefork", queues: str = "cpu") -> Worker:
        cmd = [str(BIN / "celery"), "-A", "workers.app", "worker", "-Q", queues, "-n", f"{name}@%h",
               "--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO",
               "--without-gossip", "--without-mingle"]
        if beat:
            cmd += ["-B", "--schedule", str(self.tmp / f"beat-{name}")]
        log = self.tmp / f"worker-{name}.log"
        proc = subprocess.Popen(cmd, cwd=REPO, env={**self.env, **(extra_env or {})},
                                stdout=open(log, "a"), stderr=subprocess.STDOUT, start_new_session=True)
        worker = Worker(name, proc, log)
        self.workers.append(worker)
        if wait:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: Worker, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker {worker.name} exited: {worker.log.read_text()[-2000:]}")
            if " ready." in worker.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker {worker.name} not ready: {worker.log.read_text()[-2000:]}")

    def stop_worker(self, worker: Worker) -> None:
        """Stop a worker this test started: its own process group, by id."""
        if worker.proc.poll() is None:
            try:
                os.killpg(worker.proc.pid, signal.SIGCONT)
                os.killpg(worker.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.proc.wait(10)

    def docproc(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "docproc"), *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def submit(self, paths: list[Path], *args: str) -> list[str]:
        done = self.docproc("submit", *map(str, paths), "-o", str(self.out), *args)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.split()

    def wait_jobs(self, job_ids: list[str], timeout: float) -> list[Job]:
        end = time.monotonic() + timeout
        while True:
            jobs = self.ledger.jobs(ids=job_ids)
            if len(jobs) == len(job_ids) and all(j.terminal for j in jobs):
                return jobs
            if time.monotonic() > end:
                states = {j.id[:8]: (j.status, j.attempts) for j in jobs if not j.terminal}
                logs = "\n".join(w.log.read_text(errors="replace")[-1500:] for w in self.workers)
                raise AssertionError(f"jobs not finished after {timeout} s: {states}\n{logs}")
            time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    pytest.importorskip("celery", reason="the cluster extra (celery[redis]) is not installed")
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    server = RedisServer(redis_dir)
    server.start()
    database_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    env = {
        **os.environ,
        **TEST_ENV,
        "DOCPROC_BROKER_URL": server.url,
        "DOCPROC_DATABASE_URL": database_url,
        "DOCPROC_ARTIFACTS": str(tmp_path / "artifacts"),
        "PYTHONPATH": str(REPO),
    }
    c = Cluster(tmp=tmp_path, redis=server, env=env, ledger=Ledger(database_url), out=tmp_path / "out")
    yield c
    for worker in c.workers:
        c.stop_worker(worker)
    server.kill()
    c.ledger.engine.dispose()
