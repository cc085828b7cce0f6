"""Property-based tests generated from the served OpenAPI spec (schemathesis): whatever the
input, the server never answers 5xx, and its answers match the spec it publishes.

Each operation's hypothesis strategy is driven directly (schemathesis' own pytest plugin does
not load under this pytest version)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from tests.api.conftest import auth

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def operations(server):
    base, _ = server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


def test_spec_lists_every_route(operations):
    assert set(operations) == {
        "POST /v1/documents", "GET /v1/jobs/{job_id}", "GET /v1/jobs/{job_id}/result", "GET /v1/schemas",
        "GET /healthz", "GET /metrics"}


@pytest.mark.parametrize("label", ["POST /v1/documents", "GET /v1/jobs/{job_id}", "GET /v1/jobs/{job_id}/result",
                                   "GET /v1/schemas", "GET /healthz"])
def test_no_server_errors_and_responses_match_the_spec(operations, label):
    @given(case=operations[label].as_strategy())
    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=auth(), timeout=20, checks=CHECKS)

    check()
