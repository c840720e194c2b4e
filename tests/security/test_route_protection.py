"""Protection per route, attacked through `stratus dev` as a client would attack the deployed API: the scopes
stratus.toml declares per route, a public route inside a protected service, rate limits on anonymous routes, and
path spellings that try to reach a scoped handler through its service's less demanding route.

Each test runs against the reference stack (tests/conftest.py), from a source address of its own (127.0.0.x), so
the per-IP limits of one test never touch another's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
FORBIDDEN = {"message": "Forbidden"}  # API Gateway's answer when a Lambda authorizer denies


def client_from(stack: DevStack, address: str, **headers: str) -> httpx.Client:
    """A client whose requests come from ``address`` (the HTTP API's sourceIp)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=stack.url, transport=transport, headers=headers, timeout=30)


def token_for(stack: DevStack, address: str, *, scope: str | None = None) -> str:
    """Register a fresh account and sign in, optionally asking for fewer scopes than the account holds."""
    username = f"sec-{uuid.uuid4().hex[:12]}"
    with client_from(stack, address) as anonymous:
        registered = anonymous.post("/auth/register", json={"username": username, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        form = {"grant_type": "password", "username": username, "password": PASSWORD}
        signed_in = anonymous.post("/auth/token", data=form | ({"scope": scope} if scope else {}))
    assert signed_in.status_code == 200, signed_in.text
    return str(signed_in.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(repo_stack: DevStack) -> Iterator[dict[str, str]]:
    address = "127.0.0.61"
    yield {
        "writer": token_for(repo_stack, address),  # a player: the default scopes include records:write
        "reader": token_for(repo_stack, address, scope="profile"),
    }


GAME = {"player_id": "nobody", "text_id": "text-1", "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3}


def test_a_token_without_the_routes_scope_is_refused_before_the_service(
    repo_stack: DevStack, tokens: dict[str, str]
) -> None:
    with client_from(repo_stack, "127.0.0.62", authorization=f"Bearer {tokens['reader']}") as reader:
        # WHEN a signed-in caller without records:write stores a record
        refused = reader.post("/records", json=GAME)
        # THEN the HTTP API refuses it as AWS does when the authorizer denies
        assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
        # AND the same token still reads what needs no scope
        assert reader.get("/players").status_code == 200
    with client_from(repo_stack, "127.0.0.62", authorization=f"Bearer {tokens['writer']}") as writer:
        # AND a caller with the scope gets past the authorizer: the service itself judges the body (its error shape)
        passed = writer.post("/records", json=GAME)
        assert passed.json() != FORBIDDEN and "code" in passed.json()["error"], passed.text


@pytest.mark.parametrize(
    "path",
    ["/records/", "/records//", "//records", "/records/.", "/records/%2e", "/Records", "/records%2F", "/records/..%2F"],
)
def test_no_spelling_of_a_scoped_route_reaches_its_handler_without_the_scope(
    repo_stack: DevStack, tokens: dict[str, str], path: str
) -> None:
    with client_from(repo_stack, "127.0.0.63", authorization=f"Bearer {tokens['reader']}") as reader:
        response = reader.post(path, json=GAME)
    # THEN the request is refused (403 by the authorizer, or 404/400 for a path no route takes), never stored
    assert response.status_code in (400, 403, 404), (path, response.status_code, response.text)


def test_the_leaderboard_is_public_inside_a_protected_service(repo_stack: DevStack) -> None:
    with client_from(repo_stack, "127.0.0.64") as anonymous:
        # WHEN nobody signed in reads the leaderboard
        board = anonymous.get("/records/leaderboard", params={"difficulty": "easy"})
        assert board.status_code == 200, board.text
        assert isinstance(board.json(), list)
        # THEN the rest of the service still needs a token (no identity source: API Gateway's 401)
        assert anonymous.get("/records/players/someone").status_code == 401
        assert anonymous.post("/records", json=GAME).status_code == 401


def test_an_anonymous_routes_rate_limit_holds_per_source_ip(repo_stack: DevStack) -> None:
    # GIVEN the leaderboard allows 120 requests a minute per caller (stratus.toml); one address spends them
    # (a minute's window may turn over during the test: then the count restarts, so allow one more window)
    limited = None
    with client_from(repo_stack, "127.0.0.65") as spender:
        for count in range(1, 2 * 120 + 2):
            response = spender.get("/records/leaderboard", params={"difficulty": "easy", "limit": 1})
            if response.status_code != 200:
                limited = (count, response.status_code, response.json())
                break
    # THEN it is refused past the limit, with the answer AWS gives when an authorizer denies
    assert limited is not None and limited[1:] == (403, FORBIDDEN)
    assert limited[0] > 120
    # AND another address is served at once
    with client_from(repo_stack, "127.0.0.66") as other:
        assert other.get("/records/leaderboard", params={"difficulty": "easy", "limit": 1}).status_code == 200


def test_generating_a_text_needs_texts_write(repo_stack: DevStack, tokens: dict[str, str]) -> None:
    with client_from(repo_stack, "127.0.0.67", authorization=f"Bearer {tokens['writer']}") as player:
        refused = player.post("/texts/generate", json={"difficulty": "easy"})
        assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
        assert player.post("/texts", json={"difficulty": "easy", "content": "x" * 40}).status_code == 403
        assert player.get("/texts/random", params={"difficulty": "easy"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/users", "token"),  # an api_key route: a valid token is not a key
        ("/players", "api_key"),  # a token route: a valid key is not a token
    ],
)
def test_a_credential_never_chooses_the_mode(
    repo_stack: DevStack, tokens: dict[str, str], path: str, headers: str
) -> None:
    sent = (
        {"authorization": f"Bearer {tokens['writer']}"} if headers == "token" else {"x-api-key": repo_stack.api_key}  # type: ignore[attr-defined]
    )
    with client_from(repo_stack, "127.0.0.68", **sent) as caller:
        assert caller.get(path).status_code == 401  # the route's own identity source is missing
