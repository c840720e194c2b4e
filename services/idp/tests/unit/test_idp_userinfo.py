"""GET /auth/userinfo (the shared token verification, as the idp answers it), the JWKS and the metadata."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from idp import main
from stratus_common import tokens

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Cloud
    from fastapi.testclient import TestClient

SECRET = "idp-unit-test-signing-secret-0123456789abc"


@pytest.fixture
def access_token(alice: str, login: Callable[..., Any]) -> str:
    token: str = login().json()["access_token"]
    return token


def test_userinfo_returns_the_claims(client: TestClient, access_token: str) -> None:
    response = client.get("/userinfo", headers={"authorization": f"Bearer {access_token}"})
    assert response.status_code == 200
    body = response.json()
    assert (body["preferred_username"], body["kind"], body["scope"]) == ("alice", "user", "profile")
    assert set(body) >= {"sub", "sid", "iss", "iat", "exp"}
    assert "jti" not in body and "aud" not in body


def test_no_token_is_a_401_with_a_bearer_challenge(cloud: Cloud, client: TestClient) -> None:
    response = client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="stratus"'  # RFC 6750 §3.1: no error code
    assert response.json()["error"]["code"] == "unauthorized"


def test_an_invalid_token_is_a_401_invalid_token(cloud: Cloud, client: TestClient) -> None:
    response = client.get("/userinfo", headers={"authorization": "Bearer abc.def.ghi"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_revoked_sessions_token_is_refused_at_once(client: TestClient, access_token: str) -> None:
    headers = {"authorization": f"Bearer {access_token}"}
    assert client.get("/userinfo", headers=headers).status_code == 200
    sid = tokens.verify_access_token(access_token)["sid"]
    main.get_sessions().revoke(sid, reason="logout")
    refused = client.get("/userinfo", headers=headers)
    assert refused.status_code == 401
    assert "session has ended" in refused.json()["error"]["message"]


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": tokens.issuer(),
        "aud": tokens.audience(),
        "sub": "u1",
        "sid": "s1",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(claims: dict[str, Any], secret: str = SECRET, **header: Any) -> str:
    headers = {"typ": "at+jwt", "kid": tokens.key_id(SECRET.encode()), **header}
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def _none(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = {"alg": "none", "typ": "at+jwt", "kid": tokens.key_id(SECRET.encode())}
    return f"{part(header)}.{part(claims)}."


def _now() -> int:
    return int(time.time())


BAD_TOKENS = {
    "forged": lambda: _sign(_claims(), secret="forged-secret-forged-secret-forged-secret"),
    "expired": lambda: _sign(_claims(iat=_now() - 900, nbf=_now() - 900, exp=_now() - 60)),
    "not yet valid": lambda: _sign(_claims(nbf=_now() + 600)),
    "wrong issuer": lambda: _sign(_claims(iss="https://evil.example")),
    "wrong audience": lambda: _sign(_claims(aud="urn:other")),
    "alg none": lambda: _none(_claims()),
    "no sid": lambda: _sign(_claims(sid=None)),
    "id token typ": lambda: _sign(_claims(), typ="JWT"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_userinfo_refuses_bad_tokens_before_looking_at_the_session(case: str, client: TestClient) -> None:
    # GIVEN a token that fails verification (the gateway verifies with the same stratus_common.tokens)
    token = BAD_TOKENS[case]()
    with pytest.raises(tokens.InvalidToken) as raised:
        tokens.verify_access_token(token)
    # WHEN it is presented to /userinfo
    response = client.get("/userinfo", headers={"authorization": f"Bearer {token}"})
    # THEN it is a 401 invalid_token, saying what verification said
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.json()["error"]["message"] == f"The access token is not valid: {raised.value}"


def test_the_jwks_is_empty_because_the_key_is_symmetric(client: TestClient) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.json() == {"keys": []}
    assert SECRET not in response.text


def test_the_metadata_points_at_the_endpoints(client: TestClient) -> None:
    body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == tokens.issuer()
    assert body["token_endpoint"].endswith("/token")
    assert set(body["grant_types_supported"]) == {"password", "client_credentials", "refresh_token"}


def test_the_start_up_check_refuses_a_short_secret() -> None:
    with pytest.raises(main.ConfigurationError, match="at least 32"):
        tokens.check_configuration({"TOKEN_SIGNING_SECRET": "too-short"})
