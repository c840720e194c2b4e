"""Schemathesis over the players' OpenAPI schema: whatever it generates (valid, invalid, odd unicode, huge numbers),
the API never answers with a 5xx, and every answer matches the schema it documents (errors included).

The requests arrive signed in as user ``fuzzer``, as the gateway's authorizer would pass them, with the fuzzer's
profile already there, so the ownership and version paths are reached as well as the 401-free ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from stratus_common.testing import SignedIn

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient
    from schemathesis.schemas import BaseSchema

    from .conftest import Cloud


@pytest.fixture
def players_schema(cloud: Cloud, caller: Callable[..., TestClient]) -> BaseSchema:
    """The app's schema, loaded from the app itself, whose requests come from the signed-in user ``fuzzer``."""
    from players.main import app

    assert caller("fuzzer").post("/", json={"display_name": "Fuzzer"}).status_code == 201
    return schemathesis.openapi.from_asgi("/openapi.json", SignedIn(app, "fuzzer"))


schema = schemathesis.pytest.from_fixture("players_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_gets_a_server_error_or_an_undocumented_answer(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
