"""Property-based checks of every operation of the OpenAPI schema with schemathesis: whatever the input, no 5xx,
and every answer matches the schema (its status documented, its body of the documented shape).

The caller is signed in with ``texts:write`` (as the gateway's authorizer would say), so the write operations get
past the scope check and their bodies are exercised. ``POST /generate`` is included, with Bedrock stubbed: a fake
``bedrock-runtime`` client whose ``converse`` answers with a realistic response, so a valid request stores a text
and the model's side of the contract is covered by ``test_text_generate.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from stratus_common.testing import SignedIn
from text.generate import TextGenerator
from text.main import app, get_generator

from .conftest import MODEL_ID, authorizer_context, converse_response

if TYPE_CHECKING:
    from .conftest import Cloud

PASSAGE = "The river ran fast after the storm, and the old bridge shook as the water rose. Nobody crossed it."

schema = schemathesis.openapi.from_asgi("/openapi.json", SignedIn(app, authorizer_context()))
schema.config.generation.update(max_examples=25, database="none")


class FakeBedrock:
    """A bedrock-runtime client whose Converse always writes :data:`PASSAGE`."""

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        return converse_response(PASSAGE)


@pytest.fixture
def stubbed_bedrock(cloud: Cloud) -> None:
    app.dependency_overrides[get_generator] = lambda: TextGenerator(bedrock=FakeBedrock(), model_id=MODEL_ID)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_is_a_server_error_and_every_answer_fits_the_schema(case: Any, stubbed_bedrock: None) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, response_schema_conformance])
