"""The Celery app. Start workers with

    celery -A workers.app worker -Q cpu --concurrency N          # render, OCR, layout, rules reader
    celery -A workers.app worker -Q gpu --pool solo               # VLM reader: no fork after CUDA init
    celery -A workers.app beat                                    # periodic reconciler (one per cluster)

All settings come from `workers.config` (environment variables); see there.
"""

from __future__ import annotations

from celery import Celery
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.signals import worker_init, worker_process_init

from workers.config import ClusterConfig, celery_settings, route_task
from workers.runtime import get_runtime, warm_models


def create_app(config: ClusterConfig) -> Celery:
    app = Celery("docproc", include=["workers.tasks"])
    app.conf.update(celery_settings(config))
    app.conf.task_routes = (route_task,)
    return app


config = ClusterConfig.from_env()
app = create_app(config)


@worker_process_init.connect
def _warm_pool_child(**_kwargs) -> None:
    """Prefork: each child process warms its own models (never the parent: no fork after load)."""
    get_runtime(config)
    warm_models(config)


@worker_init.connect
def _warm_in_process_pool(sender=None, **_kwargs) -> None:
    """solo/threads pools run tasks in the worker process itself: warm it once here."""
    pool_cls = getattr(sender, "pool_cls", None)
    if isinstance(pool_cls, type) and not issubclass(pool_cls, PreforkPool):
        get_runtime(config)
        warm_models(config)
