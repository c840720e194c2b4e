"""POST /auth/token: the password and client-credentials grants, and what bad input gets back."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from idp import main
from stratus_common import tokens
from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


def test_password_grant_gives_oauth2_tokens(alice: str, login: Callable[..., Any], cloud: Cloud) -> None:
    # WHEN alice logs in with her password (form-encoded)
    response = login()
    # THEN she gets OAuth 2.0 tokens, never cached
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 900, "profile")
    assert response.headers["cache-control"] == "no-store"
    # AND the access token is one the gateway accepts, carrying her session
    claims = tokens.verify_access_token(body["access_token"])
    assert claims["preferred_username"] == "alice"
    assert claims["kind"] == "user"
    assert claims["exp"] - claims["iat"] == 900
    session = cloud.item("sessions", "session_id", claims["sid"])
    assert session is not None and session["status"]["S"] == "active"
    assert session["subject"]["S"] == claims["sub"]


def test_password_grant_accepts_json_too(alice: str, client: TestClient) -> None:
    response = client.post("/token", json={"grant_type": "password", "username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_usernames_are_case_insensitive(alice: str, login: Callable[..., Any]) -> None:
    assert login(username="Alice").status_code == 200


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong password!!"), ("nobody", PASSWORD)])
def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    alice: str, login: Callable[..., Any], username: str, password: str
) -> None:
    response = login(username=username, password=password)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": main._INVALID_LOGIN}


def test_scope_can_be_narrowed_not_widened(alice: str, login: Callable[..., Any]) -> None:
    assert login(scope="profile").json()["scope"] == "profile"
    refused = login(scope="profile admin")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


# ------------------------------------------------------------------------------------------- client credentials


@pytest.fixture
def machine(cloud: Cloud) -> tuple[str, str]:
    created = main.get_accounts().create_client("reporting", scopes=["api", "reports:read"])
    return created.client.client_id, created.secret


def test_client_credentials_with_http_basic(machine: tuple[str, str], client: TestClient) -> None:
    client_id, secret = machine
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers={"authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    assert body["scope"] == "api reports:read"
    claims = tokens.verify_access_token(body["access_token"])
    assert (claims["kind"], claims["client_id"], claims["sub"]) == ("client", "reporting", "reporting")


def test_client_credentials_in_the_body_with_a_narrower_scope(machine: tuple[str, str], client: TestClient) -> None:
    client_id, secret = machine
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "api"},
    )
    assert response.json()["scope"] == "api"


@pytest.mark.parametrize("how", ["basic", "body"])
def test_a_wrong_client_secret_is_invalid_client(machine: tuple[str, str], client: TestClient, how: str) -> None:
    client_id, _ = machine
    if how == "basic":
        basic = base64.b64encode(f"{client_id}:nope".encode()).decode()
        response = client.post(
            "/token", data={"grant_type": "client_credentials"}, headers={"authorization": f"Basic {basic}"}
        )
        assert response.headers["www-authenticate"].startswith("Basic")
    else:
        response = client.post(
            "/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"}
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_authentication_both_ways_at_once_is_refused(machine: tuple[str, str], client: TestClient) -> None:
    client_id, secret = machine
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        headers={"authorization": f"Basic {basic}"},
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_client_secrets_are_stored_hashed(machine: tuple[str, str], cloud: Cloud) -> None:
    _, secret = machine
    item = cloud.item("accounts", "account_id", "client#reporting")
    assert item is not None
    assert secret not in json.dumps(item)


# ------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "grant_type"),
        ({"grant_type": ""}, "grant_type"),
        ({"grant_type": "password", "password": PASSWORD}, "username"),
        ({"grant_type": "password", "username": "alice"}, "password"),
        ({"grant_type": "password", "username": "alice", "password": ""}, "password"),
        ({"grant_type": "client_credentials", "client_secret": "x"}, "client_id"),
        ({"grant_type": "refresh_token"}, "refresh_token"),
        ({"grant_type": "password", "username": "a" * 300, "password": "x"}, "username"),
    ],
)
def test_missing_fields_are_named(cloud: Cloud, client: TestClient, data: dict[str, str], field: str) -> None:
    from urllib.parse import urlencode

    response = client.post(
        "/token", content=urlencode(data).encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert field in body["error_description"]


def test_an_unknown_grant_type(client: TestClient) -> None:
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x"})
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


def test_a_repeated_parameter_is_refused(client: TestClient) -> None:
    response = client.post(
        "/token",
        content=b"grant_type=password&username=alice&username=bob&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "username" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "needle"),
    [
        (b'{"grant_type": "password", "username": ', "application/json", 400, "JSON"),
        (b"[1, 2]", "application/json", 400, "object"),
        (b'{"grant_type": "password", "username": 7, "password": "x"}', "application/json", 400, "username"),
        (b"grant_type=password", "text/plain", 415, "Content-Type"),
        (b"grant_type=password", "", 415, "Content-Type"),
        (b"<xml/>", "application/xml", 415, "Content-Type"),
        (b"grant_type=\xff\xfe", "application/x-www-form-urlencoded", 400, "UTF-8"),
    ],
    ids=["truncated-json", "json-array", "json-number", "text", "none", "xml", "not-utf8"],
)
def test_bad_bodies_get_4xx_json(
    client: TestClient, content: bytes, content_type: str, status: int, needle: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/token", content=content, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == "invalid_request"
    assert needle in body["error_description"]


def test_an_oversize_body_is_a_413(client: TestClient) -> None:
    big = b"grant_type=password&username=alice&password=" + b"x" * main.MAX_BODY_BYTES
    response = client.post("/token", content=big, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_an_oversize_body_without_content_length_is_a_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 1024

    response = client.post("/token", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_the_token_endpoint_through_the_lambda_handler(
    alice: str,
    http_event: Callable[..., dict[str, Any]],
    as_json: Callable[[dict[str, Any]], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRATUS_BASE_PATH", "/auth")  # as the local cloud and Terraform set it
    get_settings.cache_clear()
    # GIVEN the event API Gateway sends for a form POST to /auth/token (a base64 body, as AWS encodes forms)
    body = f"grant_type=password&username=alice&password={PASSWORD.replace(' ', '+')}".encode()
    event = http_event("POST", "/auth/token", body=body, headers={"content-type": "application/x-www-form-urlencoded"})
    # WHEN the handler runs
    response = main.handler(event, None)
    # THEN tokens come back
    assert response["statusCode"] == 200, response
    assert as_json(response)["token_type"] == "Bearer"
