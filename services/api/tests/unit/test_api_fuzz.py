"""Fuzzing from the OpenAPI schema (schemathesis): whatever a client sends, no 5xx, and every answer has the
documented shape (errors included: ``{"error": {...}}`` for 400, 404, 409, 422 and 503)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import schemathesis
from api.main import app, get_user_store
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

if TYPE_CHECKING:
    from conftest import Cloud

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def seeded(cloud: Cloud) -> Cloud:
    """The moto tables with the users the schema's examples name (user-123, at version 1), so that reads,
    updates and deletes reach real items and not only 404s. They live for one operation's examples."""
    store = get_user_store()
    store.create("John Doe", "john@example.com", user_id="user-123")
    store.create("Jane Roe", "jane@example.com", user_id="user-456")
    return cloud


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_makes_a_server_error_or_an_undocumented_answer(case: schemathesis.Case, seeded: Cloud) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
