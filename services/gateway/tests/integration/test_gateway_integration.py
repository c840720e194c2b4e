"""The gateway through a running stack: set STRATUS_URL (the HTTP API's URL, e.g. of `stratus dev`) to run.

Optional, for the route-protection checks:
- STRATUS_API_KEY_PATH (e.g. /worker/health, a route with auth = "api_key") and STRATUS_API_KEY (a valid key);
- STRATUS_TOKEN_PATH (e.g. /players, a route with auth = "token").
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

STRATUS_URL = os.environ.get("STRATUS_URL", "").rstrip("/")
API_KEY_PATH = os.environ.get("STRATUS_API_KEY_PATH", "")
TOKEN_PATH = os.environ.get("STRATUS_TOKEN_PATH", "")

pytestmark = pytest.mark.skipif(not STRATUS_URL, reason="set STRATUS_URL to the HTTP API's URL to run")


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=STRATUS_URL, timeout=30) as client:
        yield client


@pytest.fixture
def logged_in(api: httpx.Client) -> dict[str, Any]:
    username, password = f"gw-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    registered = api.post("/auth/register", json={"username": username, "password": password})
    if registered.status_code == 403:
        pytest.skip("registration is closed on this stack")
    response = api.post("/auth/token", data={"grant_type": "password", "username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health(api: httpx.Client) -> None:
    body = api.get("/health").json()
    assert body["status"] == "healthy"
    assert {"environment", "version"} <= set(body)
    assert api.get("/health/live").json() == {"status": "alive"}


def test_ready(api: httpx.Client) -> None:
    response = api.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_rate_limit_headers(api: httpx.Client) -> None:
    response = api.get("/sessions/current")
    assert response.status_code in (401, 429)
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers)


def test_logout_revokes_the_token_at_once(api: httpx.Client, logged_in: dict[str, Any]) -> None:
    bearer = {"authorization": f"Bearer {logged_in['access_token']}"}
    assert api.get("/sessions/current", headers=bearer).status_code == 200
    assert api.delete("/sessions/current", headers=bearer).status_code == 204
    assert api.get("/sessions/current", headers=bearer).status_code == 401
    assert api.get("/auth/userinfo", headers=bearer).status_code == 401
    if TOKEN_PATH:
        assert api.get(TOKEN_PATH, headers=bearer).status_code == 403


@pytest.mark.skipif(not TOKEN_PATH, reason="set STRATUS_TOKEN_PATH to a token-protected path")
def test_a_token_route(api: httpx.Client, logged_in: dict[str, Any]) -> None:
    assert api.get(TOKEN_PATH).status_code == 401
    assert api.get(TOKEN_PATH, headers={"authorization": "Bearer x.y.z"}).status_code == 403
    assert api.get(TOKEN_PATH, headers={"authorization": f"Bearer {logged_in['access_token']}"}).status_code < 400


@pytest.mark.skipif(not API_KEY_PATH, reason="set STRATUS_API_KEY_PATH (and STRATUS_API_KEY) to an API-key route")
def test_an_api_key_route_and_path_tricks(api: httpx.Client) -> None:
    assert api.get(API_KEY_PATH).status_code == 401
    assert api.get(API_KEY_PATH, headers={"x-api-key": "stk_0000000000000000_" + "A" * 43}).status_code == 403
    if os.environ.get("STRATUS_API_KEY"):
        assert api.get(API_KEY_PATH, headers={"x-api-key": os.environ["STRATUS_API_KEY"]}).status_code < 400
    prefix = "/" + API_KEY_PATH.strip("/").split("/")[0]
    rest = API_KEY_PATH[len(prefix) :]
    for trick in (
        f"/auth/..{prefix}{rest}",
        f"/auth/%2e%2e{prefix}{rest}",
        f"/{prefix}{rest}",
        f"{prefix.upper()}{rest}",
        f"{prefix}.{rest}",
        f"/auth/..%2f{prefix.lstrip('/')}{rest}",
    ):
        status = _raw_status(trick)
        assert status in (400, 401, 403, 404), (trick, status)


def _raw_status(path: str) -> int:
    """GET ``path`` byte for byte: httpx would resolve ``..`` and read ``//x`` as a host before sending."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(STRATUS_URL)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()
