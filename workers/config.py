"""Cluster configuration: read from the environment in this one place, nowhere else.

    DOCPROC_BROKER_URL            redis://localhost:6379/0
    DOCPROC_DATABASE_URL          ledger, any SQLAlchemy URL (sqlite:///~/.docproc/ledger.sqlite3)
    DOCPROC_ARTIFACTS             artifact store: a shared directory or s3://bucket/prefix
    DOCPROC_PAGES_PER_TASK        pages per fan-out task of a long document (8)
    DOCPROC_MAX_ATTEMPTS          attempt cap per job (3)
    DOCPROC_TIME_LIMITS           per-step soft:hard seconds, "open=60:90,pages=600:660,read=300:360"
    DOCPROC_VISIBILITY_TIMEOUT_S  broker redelivery of unacked messages (2 x longest hard limit)
    DOCPROC_DEADLINE_MARGIN_S     a running step is stuck at hard limit + margin (60)
    DOCPROC_QUEUE_DEADLINE_S      a job waiting this long for a worker is re-sent (3600)
    DOCPROC_RECONCILE_INTERVAL_S  beat period of the reconciler (60)
    DOCPROC_WARM_OPTIONS          PipelineOptions JSON whose models a worker loads at start

Test-only hooks (inactive unless set): DOCPROC_TEST_CRASH_SHA256 makes a worker process
exit abruptly whenever it processes the document with that content hash;
DOCPROC_TEST_SLEEP_S makes every page step sleep that long (to have time to kill it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

STEPS = ("open", "pages", "read", "reconcile")
DEFAULT_LIMITS = {"open": (60.0, 90.0), "pages": (600.0, 660.0), "read": (300.0, 360.0),
                  "reconcile": (60.0, 90.0)}
QUEUES = ("cpu", "gpu")
GPU_READERS = ("vlm", "hybrid")  # reader kinds that need the GPU queue


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TimeLimit:
    soft: float
    hard: float


def _default_home() -> Path:
    return Path(os.environ.get("DOCPROC_HOME", "~/.docproc")).expanduser()


def parse_time_limits(text: str | None) -> dict[str, TimeLimit]:
    limits = {k: TimeLimit(*v) for k, v in DEFAULT_LIMITS.items()}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        try:
            name, spec = part.split("=")
            soft, hard = (float(x) for x in spec.split(":"))
        except ValueError:
            raise ConfigError(f"DOCPROC_TIME_LIMITS: cannot parse {part!r} (want step=soft:hard)") from None
        if name not in DEFAULT_LIMITS or not 0 < soft < hard:
            raise ConfigError(f"DOCPROC_TIME_LIMITS: bad entry {part!r}")
        limits[name] = TimeLimit(soft, hard)
    return limits


@dataclass(frozen=True)
class ClusterConfig:
    broker_url: str = "redis://localhost:6379/0"
    database_url: str = field(default_factory=lambda: f"sqlite:///{_default_home() / 'ledger.sqlite3'}")
    artifact_url: str = field(default_factory=lambda: str(_default_home() / "artifacts"))
    pages_per_task: int = 8
    max_attempts: int = 3
    time_limits: dict[str, TimeLimit] = field(default_factory=lambda: parse_time_limits(None))
    visibility_timeout_s: float | None = None
    deadline_margin_s: float = 60.0
    queue_deadline_s: float = 3600.0
    reconcile_interval_s: float = 60.0
    warm_options: str | None = None
    test_crash_sha256: str | None = None
    test_sleep_s: float = 0.0

    def __post_init__(self) -> None:
        if self.visibility_timeout_s is None:
            object.__setattr__(self, "visibility_timeout_s", 2 * self.longest_hard_limit)
        if self.visibility_timeout_s <= self.longest_hard_limit:
            # Otherwise Redis hands a still-running task to a second worker.
            raise ConfigError("visibility timeout must exceed the longest hard time limit")
        if self.pages_per_task < 1 or self.max_attempts < 1:
            raise ConfigError("pages_per_task and max_attempts must be at least 1")

    @property
    def longest_hard_limit(self) -> float:
        return max(t.hard for t in self.time_limits.values())

    def step_deadline_s(self, step: str) -> float:
        """How long a started step may run before the reconciler treats it as stuck."""
        return self.time_limits[step].hard + self.deadline_margin_s

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ClusterConfig":
        env = os.environ if env is None else env
        kwargs: dict = {}
        for name, var, cast in (
            ("broker_url", "DOCPROC_BROKER_URL", str),
            ("database_url", "DOCPROC_DATABASE_URL", str),
            ("artifact_url", "DOCPROC_ARTIFACTS", str),
            ("pages_per_task", "DOCPROC_PAGES_PER_TASK", int),
            ("max_attempts", "DOCPROC_MAX_ATTEMPTS", int),
            ("visibility_timeout_s", "DOCPROC_VISIBILITY_TIMEOUT_S", float),
            ("deadline_margin_s", "DOCPROC_DEADLINE_MARGIN_S", float),
            ("queue_deadline_s", "DOCPROC_QUEUE_DEADLINE_S", float),
            ("reconcile_interval_s", "DOCPROC_RECONCILE_INTERVAL_S", float),
            ("warm_options", "DOCPROC_WARM_OPTIONS", str),
            ("test_crash_sha256", "DOCPROC_TEST_CRASH_SHA256", str),
            ("test_sleep_s", "DOCPROC_TEST_SLEEP_S", float),
        ):
            if env.get(var):
                try:
                    kwargs[name] = cast(env[var])
                except ValueError:
                    raise ConfigError(f"{var}: not a valid {cast.__name__}") from None
        kwargs["time_limits"] = parse_time_limits(env.get("DOCPROC_TIME_LIMITS"))
        return cls(**kwargs)


def queue_for_reader(reader_kind: str) -> str:
    return "gpu" if reader_kind in GPU_READERS else "cpu"


def celery_settings(cfg: ClusterConfig) -> dict:
    """Celery settings from DESIGN §4: at-least-once delivery made safe by the ledger."""
    from kombu import Queue

    return {
        "broker_url": cfg.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # ride out a broker restart
        "broker_transport_options": {"visibility_timeout": cfg.visibility_timeout_s},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "task_ignore_result": True,  # state lives in the ledger; no result backend
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,  # a timeout is recorded in the ledger instead
        "worker_prefetch_multiplier": 1,
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 30, "interval_start": 0.2, "interval_step": 0.5,
                                      "interval_max": 2.0},
        "task_queues": [Queue(q, routing_key=q) for q in QUEUES],
        "task_default_queue": "cpu",
        "task_create_missing_queues": False,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "worker_max_tasks_per_child": 500,
        "worker_proc_alive_timeout": 120.0,  # a pool child warms its models before it reports up  # bounds slow leaks in native OCR/render code
        "beat_schedule": {
            "reconcile": {"task": "docproc.reconcile", "schedule": cfg.reconcile_interval_s,
                          "options": {"queue": "cpu", "expires": cfg.reconcile_interval_s}},
        },
    }


def route_task(name, args, kwargs, options, task=None, **_kw):  # noqa: ANN001 - Celery router signature
    """`docproc.read` goes to the GPU queue when the job's reader needs a GPU; the rest to cpu."""
    if name == "docproc.read":
        job_options = (args[2] if args and len(args) > 2 else kwargs.get("options")) or {}
        return {"queue": queue_for_reader(job_options.get("reader", {}).get("kind", "rules"))}
    return {"queue": "cpu"}
