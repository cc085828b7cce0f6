"""Cluster settings: the reliability invariants the config enforces, routing, page ranges."""

import pytest

from workers.config import ClusterConfig, ConfigError, celery_settings, route_task
from workers.steps import page_ranges, parse_range_step, range_step


def test_visibility_timeout_must_exceed_the_longest_hard_limit():
    cfg = ClusterConfig.from_env({"DOCPROC_TIME_LIMITS": "pages=100:120"})  # read stays 300:360
    assert cfg.visibility_timeout_s > cfg.longest_hard_limit
    with pytest.raises(ConfigError):
        ClusterConfig.from_env({"DOCPROC_TIME_LIMITS": "pages=100:120", "DOCPROC_VISIBILITY_TIMEOUT_S": "300"})
    with pytest.raises(ConfigError):
        ClusterConfig.from_env({"DOCPROC_TIME_LIMITS": "pages=120:100"})  # soft above hard


def test_celery_settings_are_the_safe_ones():
    s = celery_settings(ClusterConfig.from_env({}))
    assert s["task_acks_late"] and s["task_reject_on_worker_lost"]
    assert s["worker_prefetch_multiplier"] == 1
    assert s["accept_content"] == ["json"] and s["task_serializer"] == "json"
    assert s["broker_transport_options"]["visibility_timeout"] > 660


def test_read_step_goes_to_the_gpu_queue_for_gpu_readers():
    assert route_task("docproc.read", ("j", 0, {"reader": {"kind": "vlm"}}), {}, {}) == {"queue": "gpu"}
    assert route_task("docproc.read", ("j", 0, {"reader": {"kind": "rules"}}), {}, {}) == {"queue": "cpu"}
    assert route_task("docproc.pages", ("j", 0, 1, 8, {"reader": {"kind": "vlm"}}), {}, {}) == {"queue": "cpu"}


def test_page_ranges_cover_every_page_once():
    assert page_ranges(17, 8) == [(1, 8), (9, 16), (17, 17)]
    assert page_ranges(1, 8) == [(1, 1)]
    assert parse_range_step(range_step(9, 16)) == (9, 16) and parse_range_step("read") is None
