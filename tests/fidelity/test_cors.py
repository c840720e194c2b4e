"""CORS preflights of an HTTP API: who answers them, and with which headers.

Route selection comes first, for a preflight too. A preflight that a route takes (an ``OPTIONS`` route, an ``ANY``
route, ``$default``) goes to that route's authorizer and integration; the API answers itself only the preflights
that no route takes, and puts the configured CORS headers on the integration's answer. The stack's services answer
every OPTIONS ``204`` with an empty body (stratus_common.preflight), so a browser's preflight passes through them.

The lab (tests/e2e/lab.py) allows ``https://good.example``, GET and POST, ``content-type``, max age 60; its
handler echoes the event it received on ``/lab/echo``. The auth lab has ``/keyed`` (api_key) and ``/tokened``
(token) behind an authorizer that logs its calls, and an open service on ``$default``. The repository's own stack
allows ``http://localhost:8080``, GET/POST/PUT/DELETE, ``authorization``, ``content-type`` and ``x-api-key``, max
age 300.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stratus.testing.launcher import DevStack

pytestmark = pytest.mark.e2e

DOC = "DOC https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html"
FORWARDED = "OBS aws/serverless-application-model#1603 (ANY route + CORS: 'Lambda receives the OPTIONS request')"
AUTHORIZED = "OBS anomalyco/sst#5493 (2025: ANY route with an authorizer fails the preflight; OPTIONS route fixes it)"

GOOD, EVIL = "https://good.example", "https://evil.example"
SITE = "http://localhost:8080"  # an origin the repository's stratus.toml allows


def preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict[str, str]:
    return {"origin": origin, "access-control-request-method": method, "access-control-request-headers": headers}


def cors(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-") or k == "vary"}


def echoed(response: httpx.Response) -> dict[str, Any]:
    event: dict[str, Any] = response.json()["event"]
    return event


# --- the lab: ANY routes, no authorizer ------------------------------------------------------------


@pytest.mark.aws(FORWARDED)
def test_a_preflight_an_any_route_takes_is_sent_to_its_integration(lab: DevStack) -> None:
    response = lab.client.options("/lab/echo", headers=preflight(GOOD))
    assert response.status_code == 200  # the function's own status
    event = echoed(response)
    assert (event["routeKey"], event["requestContext"]["http"]["method"]) == ("ANY /lab/{proxy+}", "OPTIONS")
    assert event["headers"]["access-control-request-method"] == "POST"


@pytest.mark.aws(DOC + " ('For a CORS request, API Gateway adds the configured CORS headers to the response')")
def test_the_api_puts_the_configured_preflight_headers_on_the_integrations_answer(lab: DevStack) -> None:
    response = lab.client.options("/lab/echo", headers=preflight(GOOD))
    assert cors(response) == {
        "access-control-allow-origin": GOOD,
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "60",
        "vary": "origin",
    }


@pytest.mark.aws(DOC + " (allowOrigins: only the origins listed get CORS headers)")
def test_a_preflight_from_an_origin_not_allowed_is_still_forwarded_but_gets_no_cors_headers(lab: DevStack) -> None:
    response = lab.client.options("/lab/echo", headers=preflight(EVIL))
    assert echoed(response)["requestContext"]["http"]["method"] == "OPTIONS"
    assert cors(response) == {}


@pytest.mark.aws(
    DOC + " ('automatically sends a response to preflight OPTIONS requests, even if there isn't an OPTIONS route')"
)
def test_a_preflight_no_route_takes_is_answered_by_the_api_itself(lab: DevStack) -> None:
    response = lab.client.options("/nowhere/at/all", headers=preflight(GOOD))
    assert (response.status_code, response.content) == (204, b"")
    assert cors(response)["access-control-allow-origin"] == GOOD
    assert cors(response)["access-control-allow-methods"] == "GET,POST"


@pytest.mark.aws(
    DOC + " ('For the OPTIONS method, your request must contain an origin header and an Access-Control-Request-Method"
    " header')"
)
def test_an_options_request_that_is_not_a_preflight_and_no_route_takes_is_a_404(lab: DevStack) -> None:
    response = lab.client.options("/nowhere/at/all", headers={"origin": GOOD})
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


@pytest.mark.aws(DOC + " (an actual CORS request: allow-origin, expose-headers, credentials; no allow-methods)")
def test_an_actual_request_gets_the_response_headers_not_the_preflight_ones(lab: DevStack) -> None:
    response = lab.client.get("/lab/echo", headers={"origin": GOOD})
    assert response.status_code == 200
    assert cors(response) == {"access-control-allow-origin": GOOD, "vary": "origin"}


# --- the auth lab: protected services, an open $default ----------------------------------------------


def _authorizer_calls(stack: DevStack) -> int:
    path = stack.root / "calls.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


@pytest.mark.aws(AUTHORIZED + "; " + DOC + " ($default note: an OPTIONS /{proxy+} route without authorization)")
def test_a_preflight_to_a_protected_service_takes_its_options_route_past_the_authorizer(auth_lab: DevStack) -> None:
    before = _authorizer_calls(auth_lab)
    for path, route in (("/keyed/echo", "OPTIONS /keyed/{proxy+}"), ("/tokened/echo", "OPTIONS /tokened/{proxy+}")):
        response = auth_lab.client.options(path, headers=preflight(GOOD))
        assert (response.status_code, echoed(response)["routeKey"]) == (200, route)
        assert cors(response)["access-control-allow-origin"] == GOOD
    assert _authorizer_calls(auth_lab) == before  # browsers send no credentials: the authorizer is not asked


@pytest.mark.aws(DOC + " ('The $default route catches requests for all methods and routes ... including OPTIONS')")
def test_a_preflight_the_default_route_takes_is_its_integrations(auth_lab: DevStack) -> None:
    response = auth_lab.client.options(
        "/open/echo", headers=preflight(GOOD, "GET")
    )  # the lab reads the path past its first segment
    assert (response.status_code, echoed(response)["routeKey"]) == (200, "$default")
    assert cors(response)["access-control-allow-methods"] == "GET,POST"


# --- the repository's stack: its real services answer the preflights the API sends them ------------


def _options(stack: DevStack, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.options(stack.url + path, headers=headers, timeout=30)  # no x-api-key: browsers send none


@pytest.mark.aws(AUTHORIZED + "; " + FORWARDED)
@pytest.mark.parametrize(
    "path",
    [
        "/worker/health",  # api_key: through OPTIONS /worker/{proxy+}, no authorizer
        "/players",  # token: through OPTIONS /players
        "/records/leaderboard",  # token service, a public GET override: through OPTIONS /records/{proxy+}
        "/auth/token",  # open: through ANY /auth/{proxy+}
        "/web/health",  # a container service: through its HTTP proxy integration
        "/health",  # the gateway, on $default
    ],
)
def test_a_browser_preflight_to_the_stacks_services_passes(repo_stack: DevStack, path: str) -> None:
    response = _options(repo_stack, path, preflight(SITE, "POST", "authorization, content-type"))
    assert (response.status_code, response.content) == (204, b"")
    assert cors(response) == {
        "access-control-allow-origin": SITE,
        "access-control-allow-methods": "GET,POST,PUT,DELETE",
        "access-control-allow-headers": "authorization,content-type,x-api-key",
        "access-control-max-age": "300",
        "vary": "origin",
    }


@pytest.mark.aws(DOC + " (allowOrigins)")
@pytest.mark.parametrize("path", ["/worker/health", "/auth/token", "/health"])
def test_a_preflight_from_an_origin_the_stack_does_not_allow_gets_no_cors_headers(
    repo_stack: DevStack, path: str
) -> None:
    response = _options(repo_stack, path, preflight(EVIL))
    assert response.status_code == 204
    assert cors(response) == {}  # so the browser refuses the actual request


@pytest.mark.aws(DOC + " ('API Gateway ignores CORS headers returned from your backend integration')")
def test_the_actual_request_after_the_preflight_carries_the_apis_headers(repo_stack: DevStack) -> None:
    response = httpx.get(repo_stack.url + "/health", headers={"origin": SITE}, timeout=30)
    assert response.status_code == 200
    assert json.loads(response.content)["status"] == "healthy"
    assert cors(response) == {"access-control-allow-origin": SITE, "vary": "origin"}
