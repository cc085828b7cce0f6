"""Per-process resources of a worker (or a submitting client): config, ledger, artifact store.

Built lazily and keyed by pid, so a forked pool child never reuses its parent's database
connections. Models are warmed here once per worker process.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from docproc.artifacts import ArtifactStore, open_store
from docproc.ledger import Ledger
from workers.config import ClusterConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    config: ClusterConfig
    ledger: Ledger
    store: ArtifactStore
    worker: str  # host:pid, recorded on the job while one of its steps runs


_runtimes: dict[int, Runtime] = {}


def build_runtime(config: ClusterConfig) -> Runtime:
    return Runtime(
        config=config,
        ledger=Ledger(config.database_url),
        store=open_store(config.artifact_url),
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )


def get_runtime(config: ClusterConfig) -> Runtime:
    pid = os.getpid()
    if pid not in _runtimes:
        _runtimes.clear()  # entries of a parent process are unusable after fork
        _runtimes[pid] = build_runtime(config)
    return _runtimes[pid]


def warm_models(config: ClusterConfig) -> None:
    """Load OCR/layout/reader models once, before the first task of this process."""
    from docproc import pipeline
    from docproc.options import PipelineOptions

    options = (PipelineOptions.model_validate_json(config.warm_options) if config.warm_options
               else PipelineOptions())
    try:
        pipeline.warm_up(options)
        log.info("worker %s: models warm", os.getpid())
    except Exception as exc:  # noqa: BLE001 - the first task reports the real error per document
        log.error("worker %s: warm-up failed: %s", os.getpid(), type(exc).__name__)
