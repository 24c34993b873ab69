"""Schemathesis drives openapi/*.yaml against a running sandbox.

Every generated request, valid or not, must get an answer the spec documents: never a 5xx, a
status the operation lists, the declared content type, and a body that fits the response schema.
Bounded in examples per operation so that it stays a few seconds in `make check`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from session_analytics.sandbox import Sandbox

SPECS = Path(__file__).resolve().parents[2] / "openapi"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES_PER_OPERATION = 30

fullstory = schemathesis.openapi.from_path(SPECS / "fullstory.yaml")
smartlook = schemathesis.openapi.from_path(SPECS / "smartlook.yaml")


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(job_delay=0) as sandbox:
        yield sandbox


@fullstory.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_fullstory_answers_as_documented(case: schemathesis.Case, server: Sandbox) -> None:
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Basic {server.api_key}"},
        checks=CHECKS,
    )


@smartlook.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_smartlook_answers_as_documented(case: schemathesis.Case, server: Sandbox) -> None:
    case.call_and_validate(base_url=server.url, checks=CHECKS)
