"""Prometheus metrics on a registry of their own: jobs by status (read from the ledger at
scrape time), pages processed, per-stage latency, webhook outcomes, rejected requests."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

_STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _JobsCollector:
    def __init__(self, counts: Callable[[], dict[str, int]]):
        self._counts = counts

    def collect(self):
        family = GaugeMetricFamily("docproc_jobs", "Jobs in the ledger by status", labels=["status"])
        for status, n in sorted(self._counts().items()):
            family.add_metric([status], n)
        yield family


class Metrics:
    def __init__(self, job_counts: Callable[[], dict[str, int]]):
        self.registry = CollectorRegistry()
        self.pages = Counter("docproc_pages_processed", "Pages processed", registry=self.registry)
        self.finished = Counter("docproc_jobs_finished", "Jobs finished, by result status", ["status"],
                                registry=self.registry)
        self.stage = Histogram("docproc_stage_seconds", "Per-document time spent in each stage", ["stage"],
                               buckets=_STAGE_BUCKETS, registry=self.registry)
        self.webhooks = Counter("docproc_webhook_deliveries", "Webhook delivery attempts by outcome",
                                ["outcome"], registry=self.registry)
        self.rejected = Counter("docproc_requests_rejected", "Requests refused by a limit", ["reason"],
                                registry=self.registry)
        self.registry.register(_JobsCollector(job_counts))

    def observe_result(self, result: dict) -> None:
        self.finished.labels(result.get("status", "error")).inc()
        self.pages.inc(result.get("document", {}).get("pages", 0) or 0)
        for stage, seconds in (result.get("timings") or {}).items():
            self.stage.labels(stage).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
