"""The gateway through the stack under test: `stratus dev` (the `stratus_cloud` fixture), or a deployed stack
(`stratus test --against URL`), unchanged.

The gateway serves `/` (health, sessions) and its authorizer guards every protected route: the protection modes
of the manifest (none, api_key, token) are checked here through the routes of the reference stack.
"""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from stratus.testing import StratusCloud

API_KEY_ROUTE = "/worker/health"  # auth = "api_key"
TOKEN_ROUTE = "/players"  # auth = "token"
FORGED_KEY = "stk_0000000000000000_" + "A" * 43


@pytest.mark.smoke
def test_health(stratus_cloud: StratusCloud) -> None:
    body = stratus_cloud.http.get("/health").json()
    assert body["status"] == "healthy"
    assert {"environment", "version"} <= set(body)
    assert stratus_cloud.http.get("/health/live").json() == {"status": "alive"}


@pytest.mark.smoke
def test_ready(stratus_cloud: StratusCloud) -> None:
    response = stratus_cloud.http.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_an_unknown_path_is_a_json_404(stratus_cloud: StratusCloud) -> None:
    # the gateway takes $default (it is on "/"): its 404 is a JSON error, with API Gateway's request id
    response = stratus_cloud.http.get("/no-such-service/x/y")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["apigw-requestid"]


def test_its_own_routes_carry_rate_limit_headers(stratus_cloud: StratusCloud) -> None:
    with stratus_cloud.client(source=stratus_cloud.source_address()) as http:
        response = http.get("/sessions/current")
    assert response.status_code == 401
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers)


def test_sign_out_revokes_the_token_at_once(stratus_cloud: StratusCloud) -> None:
    user = stratus_cloud.user()
    with stratus_cloud.client(token=user.access_token) as http:
        assert http.get("/sessions/current").status_code == 200
        assert http.delete("/sessions/current").status_code == 204
        assert http.get("/sessions/current").status_code == 401
        assert http.get("/auth/userinfo").status_code == 401
        # the authorizer reads the session: a revoked token is refused on every protected route
        assert http.get(TOKEN_ROUTE).json() == {"message": "Forbidden"}


@pytest.mark.smoke
def test_a_token_route(stratus_cloud: StratusCloud) -> None:
    http = stratus_cloud.http
    # no identity source: API Gateway answers 401 without calling the authorizer
    assert (http.get(TOKEN_ROUTE).status_code, http.get(TOKEN_ROUTE).json()) == (401, {"message": "Unauthorized"})
    forged = http.get(TOKEN_ROUTE, headers={"authorization": "Bearer x.y.z"})
    assert (forged.status_code, forged.json()) == (403, {"message": "Forbidden"})
    token = stratus_cloud.token()
    assert http.get(TOKEN_ROUTE, headers={"authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.smoke
def test_an_api_key_route(stratus_cloud: StratusCloud) -> None:
    http = stratus_cloud.http
    assert http.get(API_KEY_ROUTE).status_code == 401
    forged = http.get(API_KEY_ROUTE, headers={"x-api-key": FORGED_KEY})
    assert (forged.status_code, forged.json()) == (403, {"message": "Forbidden"})
    key = stratus_cloud.api_key()
    assert http.get(API_KEY_ROUTE, headers={"x-api-key": key}).status_code == 200


@pytest.mark.parametrize(
    "trick",
    ["/auth/../worker/health", "/auth/%2e%2e/worker/health", "//worker/health", "/WORKER/health",
     "/worker./health", "/auth/..%2fworker/health"],
)  # fmt: skip
def test_no_spelling_of_a_protected_path_reaches_it_unauthenticated(stratus_cloud: StratusCloud, trick: str) -> None:
    status, body = _raw_get(stratus_cloud.url, trick)
    assert status in (400, 401, 403, 404), (trick, status)
    assert b'"service":"worker"' not in body.replace(b" ", b"")


def test_cors_preflights_follow_the_environments_origins(stratus_cloud: StratusCloud) -> None:
    if stratus_cloud.stack is None:
        pytest.skip("needs the stack's stratus.toml, for the origins it allows")
    origins = stratus_cloud.stack.cors_origins
    request = {"access-control-request-method": "GET", "access-control-request-headers": "authorization"}
    stranger = stratus_cloud.http.options(TOKEN_ROUTE, headers={"origin": "https://evil.example", **request})
    assert "access-control-allow-origin" not in stranger.headers
    if not origins:
        return
    allowed = stratus_cloud.http.options(TOKEN_ROUTE, headers={"origin": origins[0], **request})
    assert allowed.status_code == 204, allowed.text
    assert allowed.headers["access-control-allow-origin"] == origins[0]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    # and an answer to the origin's real request carries it too
    simple = stratus_cloud.http.get("/health", headers={"origin": origins[0]})
    assert simple.headers["access-control-allow-origin"] == origins[0]


def _raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` byte for byte: httpx would resolve ``..`` and read ``//x`` as a host before sending."""
    parts = urlsplit(url)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
