"""Schemathesis over the app's own OpenAPI document: no input gives a 5xx, and every answer matches its schema.

The requests come from a signed-in player (``fuzzer``, who has a profile) against the real PostgreSQL and moto; half of
the generated game bodies are made that player's games on a known text, so that the 201 path is fuzzed too
(its numbers stay as generated).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from stratus_common.testing import SignedIn

PLAYER = "fuzzer"
_turns = itertools.count()


@pytest.fixture
def api_schema(game: Any) -> Any:
    from records.main import app

    game.add_player(PLAYER)
    return schemathesis.openapi.from_asgi("/openapi.json", SignedIn(app, PLAYER))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_is_a_server_error_and_every_answer_matches_the_schema(case: Any) -> None:
    if case.method == "POST" and isinstance(case.body, dict) and next(_turns) % 2 == 0:
        case.body = {**case.body, "player_id": PLAYER, "text_id": "text-1"}
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
