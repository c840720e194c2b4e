"""The typing game's services through `stratus dev`, as a player's client uses them: idp, players, text, records,
and the users API. Everything goes through the HTTP API and the gateway's authorizer, as in AWS."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import httpx
import pytest

from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e


@contextmanager
def sign_up(stack: DevStack) -> Iterator[tuple[httpx.Client, str]]:
    """Register a new account through the idp, sign in, and give a client carrying its token, and its sub."""
    username = f"player-{uuid.uuid4().hex[:10]}"
    password = "a long enough passphrase"
    registered = httpx.post(f"{stack.url}/auth/register", json={"username": username, "password": password})
    assert registered.status_code == 201, registered.text
    token = httpx.post(
        f"{stack.url}/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )
    assert token.status_code == 200, token.text
    headers = {"authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=stack.url, timeout=30, headers=headers) as client:
        yield client, registered.json()["sub"]


def test_a_player_creates_updates_and_a_stale_update_is_refused(repo_stack: DevStack) -> None:
    with sign_up(repo_stack) as (client, sub), sign_up(repo_stack) as (other, _):
        a_player_creates_updates_and_a_stale_update_is_refused(repo_stack, client, sub, other)


def a_player_creates_updates_and_a_stale_update_is_refused(
    repo_stack: DevStack, client: httpx.Client, sub: str, other: httpx.Client
) -> None:
    # WHEN the signed-in account creates its player profile
    created = client.post("/players", json={"display_name": "Ada", "country": "GB", "preferred_difficulty": "easy"})
    assert created.status_code == 201, created.text
    player = created.json()
    assert player["player_id"] == sub and player["version"] == 1
    # THEN it updates it with the version it read
    updated = client.put(f"/players/{sub}", json={"display_name": "Ada L.", "country": "GB",
                                                  "preferred_difficulty": "hard", "version": 1})  # fmt: skip
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["display_name"] == "Ada L."
    # AND an update from the old version is a conflict, not a silent overwrite
    stale = client.put(f"/players/{sub}", json={"display_name": "Mallory", "country": "GB",
                                                "preferred_difficulty": "easy", "version": 1})  # fmt: skip
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "version_conflict"
    assert client.get(f"/players/{sub}").json()["display_name"] == "Ada L."
    # AND a new player has played no games
    stats = client.get(f"/players/{sub}/stats")
    assert stats.status_code == 200, stats.text
    assert stats.json()["games_played"] == 0
    # AND another account may read it but not change it; without a token the gateway answers 401
    assert other.get(f"/players/{sub}").status_code == 200
    assert other.delete(f"/players/{sub}", params={"version": 2}).status_code == 403
    assert httpx.get(f"{repo_stack.url}/players/{sub}").status_code == 401


def test_a_game_is_recorded_ranked_and_counted_in_the_players_stats(repo_stack: DevStack) -> None:
    with sign_up(repo_stack) as (client, sub):
        a_game_is_recorded_ranked_and_counted(client, sub)


def a_game_is_recorded_ranked_and_counted(client: httpx.Client, sub: str) -> None:
    assert client.post("/players", json={"display_name": "Grace"}).status_code == 201
    # WHEN the player gets a random easy text (the stack starts with seeded texts)
    text = client.get("/texts/random", params={"difficulty": "easy"})
    assert text.status_code == 200, text.text
    assert text.json()["difficulty"] == "easy" and text.json()["content"]
    # AND submits a game on it
    record = client.post("/records", json={"player_id": sub, "text_id": text.json()["text_id"], "wpm": 87.5,
                                           "accuracy": 98.2, "duration_seconds": 41.3})  # fmt: skip
    assert record.status_code == 201, record.text
    # THEN today's leaderboard of that difficulty shows it
    board = client.get("/records/leaderboard", params={"difficulty": "easy", "period": "day"})
    assert board.status_code == 200, board.text
    assert any(row["player_id"] == sub and float(row["wpm"]) == 87.5 for row in board.json()), board.json()
    # AND the player's stats follow, through the record-events queue and the players' consumer
    deadline = time.monotonic() + 30
    while (stats := client.get(f"/players/{sub}/stats").json())["games_played"] == 0 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert stats["games_played"] == 1, stats
    assert float(stats["best_wpm"]) == 87.5 and float(stats["average_accuracy"]) == 98.2


def test_the_users_api_keeps_emails_unique(repo_stack: DevStack) -> None:
    client = repo_stack.client  # carries the stack's API key: the users API is `auth = "api_key"`
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    first = client.post("/users", json={"name": "Ada", "email": email})
    assert first.status_code == 201, first.text
    again = client.post("/users", json={"name": "Other", "email": email.upper()})
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"
    user_id = first.json()["user_id"]
    assert client.get(f"/users/{user_id}").json()["email"] == email
    deadline = time.monotonic() + 10  # the e-mail index is eventually consistent, as in AWS
    while not (found := client.get("/users", params={"email": email}).json()["items"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [u["user_id"] for u in found] == [user_id]
    assert httpx.get(f"{repo_stack.url}/users/{user_id}").status_code == 401


def invoke(stack: DevStack, function: str, payload: dict[str, object]) -> dict[str, object]:
    """A direct invocation through the local Lambda Invoke API, as `aws lambda invoke` does in AWS."""
    client = boto3.client(
        "lambda", endpoint_url=stack.invoke_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    answer = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def test_the_source_documents_direct_invocations_answer(repo_stack: DevStack) -> None:
    # `aws lambda invoke --function-name <text> --payload '{"action":"get_random_text","difficulty":"easy"}'`
    text = invoke(repo_stack, "stratus-dev-text", {"action": "get_random_text", "difficulty": "easy"})
    assert text["difficulty"] == "easy" and text["content"]
    # `aws lambda invoke --function-name <records> --payload '{"action":"health"}'`: the database answers
    health = invoke(repo_stack, "stratus-dev-records", {"action": "health"})
    assert health["status"] == "healthy" and health["database"] == "reachable"


def test_a_client_with_the_scope_generates_a_text_with_the_local_bedrock(repo_stack: DevStack) -> None:
    # the demo machine client holds texts:write; the local cloud's Bedrock answers offline
    token = httpx.post(f"{repo_stack.url}/auth/token", data={"grant_type": "client_credentials"},
                       auth=("demo-client", "stratus-demo-client-secret"))  # fmt: skip
    assert token.status_code == 200, token.text
    headers = {"authorization": f"Bearer {token.json()['access_token']}"}
    generated = httpx.post(f"{repo_stack.url}/texts/generate", json={"difficulty": "hard", "topic": "rivers"},
                           headers=headers, timeout=30)  # fmt: skip
    assert generated.status_code == 201, generated.text
    body = generated.json()
    assert body["source"] == "generated" and body["difficulty"] == "hard" and len(body["content"]) >= 20
    assert httpx.get(f"{repo_stack.url}/texts/{body['text_id']}", headers=headers).json()["content"] == body["content"]
    # AND a signed-in player without the scope may not
    with sign_up(repo_stack) as (client, _):
        refused = client.post("/texts/generate", json={"difficulty": "hard"})
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})  # the authorizer's (stratus.toml)
