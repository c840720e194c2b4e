"""Path spellings that try to reach the API-key-protected worker (`/worker`, auth "api_key") or the token-protected
players (`/players`, auth "token") without credentials, or to climb out of a public prefix into a protected one,
sent through `stratus dev` byte for byte over a socket (an HTTP client would normalise most of them away).

The route table (src/stratus/local/httpapi/routes.py) decodes the path once and refuses to route a path with a dot
segment, an empty segment, a control character, a "?" or invalid UTF-8; case and look-alike characters make another
literal, which only `$default` (the gateway service) takes. So every spelling below must be answered with a 4xx:
401/403 by the HTTP API when it routed the request into the protected service (its authorizer held), 404/400 when
it routed it nowhere or to the gateway. Never 2xx, never 5xx, and never a body written by the worker itself (its
bodies name it: `"service": "worker"`; the HTTP API's refusals are `{"message": ...}`).

Requests come from 127.0.0.84, an address of this module's own.
"""

from __future__ import annotations

import pytest

from tests.e2e.devstack import DevStack
from tests.security.attack import FORBIDDEN, UNAUTHORIZED, api_key, exchange, request

pytestmark = pytest.mark.e2e

SOURCE = "127.0.0.84"

# Each a request target (sent as is; "{authority}" is the stack's host:port, "{key}" its API key) without credentials.
VARIANTS = [
    # --- the plain spellings: routed into the worker, where its authorizer must hold
    "/worker",
    "/worker/",
    "/worker/jobs",
    # the key in the query string: the route's identity source is the x-api-key header, nothing else
    "/worker/health?x-api-key={key}",
    # --- dot segments, however spelled: never routed (a backend might resolve them differently)
    "/worker/../auth",
    "/auth/../worker/health",
    "/auth/..%2fworker/jobs",
    "/auth/%2e%2e/worker/health",
    "/auth/%2e%2e%2fworker%2fhealth",
    "/%2e%2e/worker/health",
    "/.%2e/worker/health",
    "/./worker/health",
    "/worker/./health",
    "/health/..%2f..%2fworker/health",
    # out of a public route inside a protected service (the leaderboard needs no token)
    "/records/leaderboard/..%2f..%2fworker/health",
    # --- double encoding: decoded once, so %252e is the text "%2e", a literal segment
    "/worker%252fhealth",
    "/auth/%252e%252e/worker/health",
    # --- empty segments
    "//worker/health",
    "/worker//health",
    "/%2fworker/health",
    # --- case: routes are case-sensitive, /WORKER is another literal that only $default takes
    "/WORKER/health",
    "/Worker/health",
    # --- an encoded slash is a separator: routed into the worker, guarded like /worker/health
    "/worker%2Fhealth",
    "/%77orker/health",
    # --- semicolon path parameters (Tomcat-style ..;/)
    "/worker;x/health",
    "/worker..;/health",
    "/worker/..;/health",
    # --- NUL and control characters, and CRLF trying to inject the key as a header
    "/worker%00/health",
    "/worker/health%00",
    "/worker%0d%0ax-api-key:%20{key}/health",
    # --- trailing dots and spaces (Windows-style equivalence): other literals
    "/worker./health",
    "/worker%2e/health",
    "/worker%20/health",
    "/worker%09/health",
    "/worker.",
    # --- backslashes
    "/worker\\health",
    "/worker%5chealth",
    "/auth\\..\\worker/health",
    "/auth/..%5cworker/health",
    # --- unicode look-alikes: fullwidth w, Cyrillic o, Kelvin sign K, fullwidth solidus, zero-width space
    "/%EF%BD%97orker/health",
    "/w%D0%BErker/health",
    "/wor%E2%84%AAer/health",
    "/worker%EF%BC%8Fhealth",
    "/%E2%80%8Bworker/health",
    # raw UTF-8 in the request line
    "/\uff57orker/health",
    # --- overlong UTF-8 for "/" and ".": invalid UTF-8, never routed
    "/worker%c0%afhealth",
    "/worker%e0%80%afhealth",
    "/auth/%c0%ae%c0%ae/worker/health",
    # --- invalid percent-encoding
    "/worker%zz/health",
    "/worker%u002fhealth",
    # --- "?" and "#" smuggled into the path
    "/worker%3F/health",
    "/worker%23/health",
    # --- absolute-form and network-path request targets
    "http://{authority}/worker/health",
    "HTTP://{authority}/worker/health",
    "http://{authority}/auth/..%2fworker/health",
    "//{authority}/worker/health",
    "*",
    # --- the token route, without a token
    "/players",
    "/Players",
    "//players",
    "/players/..%2F",
    "/players%00",
    "/auth/..%2fplayers",
    "/records/leaderboard%2F..%2F..%2Fplayers",
]


def _target(stack: DevStack, variant: str) -> bytes:
    authority = f"127.0.0.1:{stack.port}"
    return variant.replace("{authority}", authority).replace("{key}", api_key(stack)).encode()


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_spelling_reaches_a_protected_service_without_credentials(repo_stack: DevStack, variant: str) -> None:
    result = exchange(repo_stack, request(_target(repo_stack, variant)), source=SOURCE, until=1)
    # THEN it is refused: answered with a 4xx (or the connection closed unanswered), never served by the worker
    assert result.responses or result.closed, result
    for response in result.responses:
        assert 400 <= response.status < 500, (variant, str(response))
        assert not response.is_worker(), (variant, str(response))
        if response.status in (401, 403):  # refused by the HTTP API in front of the service, not by the service
            assert response.json() == (UNAUTHORIZED if response.status == 401 else FORBIDDEN), str(response)


@pytest.mark.parametrize("variant", ["/worker/health", "/worker%2Fhealth", "/%77orker/health"])
def test_with_the_key_the_same_spellings_reach_the_worker(repo_stack: DevStack, variant: str) -> None:
    """The positive control: the worker is up and its key works, also through the encoded spellings the router
    decodes, so the refusals above are the router's and the authorizer's doing."""
    sent = request(variant, f"x-api-key: {api_key(repo_stack)}")
    result = exchange(repo_stack, sent, source=SOURCE, until=1)
    assert result.statuses == [200], result
    assert result.responses[0].is_worker(), str(result.responses[0])


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/worker/health", ()),
        ("/worker/jobs", ("content-type: application/json", "content-length: 2")),
        ("/players", ("Origin: http://localhost:8080",)),  # an Origin, but no Access-Control-Request-Method
    ],
)
def test_an_options_request_without_credentials_never_runs_a_protected_services_code(
    repo_stack: DevStack, target: str, headers: tuple[str, ...]
) -> None:
    body = b"{}" if any(line.startswith("content-length") for line in headers) else b""
    result = exchange(repo_stack, request(target, *headers, method=b"OPTIONS", body=body), source=SOURCE, until=1)
    assert len(result.responses) == 1, result
    response = result.responses[0]
    # never a success or a server error
    assert 400 <= response.status < 500 or response.status == 204, str(response)
    # AND the answer is the HTTP API's own ({"message": ...}) or the empty 204 that stratus_common answers every
    # OPTIONS with before any code of the service runs (the OPTIONS routes of a protected service have no
    # authorizer, so browsers' preflights pass): never the service's own answer
    assert response.body == b"" or set(response.json()) == {"message"}, str(response)
    assert not response.is_worker(), str(response)
