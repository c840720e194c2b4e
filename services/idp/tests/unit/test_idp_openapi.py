"""The OpenAPI document says what the service does: every status an operation answers, with its body schema, the
rules of the bodies (lengths, pattern, required parameters, both media types of the token endpoint), and a method a
path does not have is a 405."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from idp import main
from idp.passwords import REPETITIVE_PATTERN

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SCHEMAS = "#/components/schemas/"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return main.app.openapi()


def _schema_ref(response: dict[str, Any]) -> str:
    return str(response["content"]["application/json"]["schema"]["$ref"])


@pytest.mark.parametrize(
    ("path", "statuses", "error_schema"),
    [
        ("/token", {"200", "400", "401", "413", "415", "429", "503"}, "OAuthErrorBody"),
        ("/refresh", {"200", "400", "413", "415", "503"}, "OAuthErrorBody"),
        ("/register", {"201", "400", "403", "409", "413", "415", "422", "429", "503"}, "ErrorResponse"),
        ("/userinfo", {"200", "401", "503"}, "ErrorResponse"),
    ],
)
def test_every_status_is_documented_with_its_body(
    document: dict[str, Any], path: str, statuses: set[str], error_schema: str
) -> None:
    [operation] = document["paths"][path].values()
    responses = operation["responses"]
    assert set(responses) == statuses
    for status in statuses - {"200", "201"}:
        assert _schema_ref(responses[status]) == SCHEMAS + error_schema
    for status in {"429", "503"} & statuses:
        assert "Retry-After" in responses[status]["headers"]


def test_the_token_endpoints_bodies_are_described(document: dict[str, Any]) -> None:
    body = document["paths"]["/token"]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"application/x-www-form-urlencoded", "application/json"}
    schema = body["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "grant_type"
    schemas = document["components"]["schemas"]
    password = schemas["PasswordGrant"]
    assert password["required"] == ["grant_type", "username", "password"]
    assert password["properties"]["username"]["maxLength"] == 256
    assert schemas["RefreshTokenGrant"]["required"] == ["grant_type", "refresh_token"]
    assert schemas["ClientCredentialsGrant"]["properties"]["client_id"]["maxLength"] == 64
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["password"]["tokenUrl"] == flows["clientCredentials"]["tokenUrl"] == "token"


def test_the_registration_rules_are_in_the_schema(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["RegisterRequest"]
    username, password = schema["properties"]["username"], schema["properties"]["password"]
    assert (username["minLength"], username["maxLength"]) == (3, 32)
    assert re.match(username["pattern"], "Ada.L-1") and not re.match(username["pattern"], " ada")
    assert (password["minLength"], password["maxLength"]) == (12, 128)
    assert password["not"] == {"pattern": REPETITIVE_PATTERN}
    assert "invite" in schema["properties"] and schema["additionalProperties"] is False
    assert schema["required"] == ["username", "password"]


@pytest.mark.parametrize(("method", "path"), [("PUT", "/token"), ("GET", "/register"), ("DELETE", "/refresh")])
def test_an_undeclared_method_is_a_405(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
