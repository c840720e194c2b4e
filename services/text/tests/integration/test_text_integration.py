"""The text service through the stack under test: `stratus dev` (the `stratus_cloud` fixture), or a deployed
stack (`stratus test --against URL`; `--client ID:SECRET` of a machine client holding `texts:write` for the
writes). Behind `auth = "token"`; `POST /` and `POST /generate` need the `texts:write` scope."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from stratus.testing import StratusCloud


@pytest.fixture
def api(stratus_cloud: StratusCloud) -> Iterator[httpx.Client]:
    with stratus_cloud.client("/texts", token=stratus_cloud.token()) as client:
        yield client


@pytest.mark.smoke
def test_health(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["service"]) == ("healthy", "text")


@pytest.mark.smoke
def test_a_random_text(api: httpx.Client) -> None:
    # GIVEN the stack is up (a fresh one seeds the difficulty on first use)
    # WHEN a random easy text is asked for
    response = api.get("/random", params={"difficulty": "easy"})
    # THEN one comes back, of that difficulty, and reads back by its id
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["difficulty"] == "easy" and body["content"]
    assert api.get(f"/{body['text_id']}").json() == body


def test_an_unknown_difficulty_is_a_422(api: httpx.Client) -> None:
    response = api.get("/random", params={"difficulty": "impossible"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.difficulty"


def test_a_client_with_the_scope_generates_a_text_and_a_player_may_not(
    stratus_cloud: StratusCloud, api: httpx.Client
) -> None:
    # GIVEN a machine client holding texts:write (Bedrock in AWS; the local cloud's offline model locally)
    with stratus_cloud.client("/texts", token=stratus_cloud.token("texts:write")) as writer:
        generated = writer.post("/generate", json={"difficulty": "hard", "topic": "rivers"})
        assert generated.status_code == 201, generated.text
        body = generated.json()
        assert (body["source"], body["difficulty"]) == ("generated", "hard")
        assert len(body["content"]) >= 20
    # THEN any signed-in player reads it
    assert api.get(f"/{body['text_id']}").json()["content"] == body["content"]
    # AND a player without the scope is refused by the authorizer (the route's scopes in stratus.toml)
    refused = api.post("/generate", json={"difficulty": "hard"})
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})


def test_generating_is_rate_limited_per_caller_by_the_authorizer(stratus_cloud: StratusCloud) -> None:
    # "POST /generate" = { rate_limit = 10/60 }: counted per caller before the service runs. A Lambda authorizer can
    # only deny, so past the limit API Gateway answers 403 (bad bodies: no model is called while counting).
    if stratus_cloud.stack is not None:
        limit = stratus_cloud.stack.services["text"].routes["POST /generate"].rate_limit
        assert limit is not None and limit.requests == 10
    statuses: list[int] = []
    with stratus_cloud.client("/texts", token=stratus_cloud.token("texts:write")) as writer:
        while len(statuses) < 12 and 403 not in statuses:
            statuses.append(writer.post("/generate", json={"difficulty": "not-a-difficulty"}).status_code)
        # the caller's earlier calls this minute count too: at most 10 get through, then each is refused
        assert 403 in statuses and set(statuses[:-1]) <= {422} and len(statuses) <= 11, statuses
        again = writer.post("/generate", json={"difficulty": "hard"})
    assert (again.status_code, again.json()) == (403, {"message": "Forbidden"})


def test_a_direct_invocation_answers_as_the_source_documents_say(stratus_cloud: StratusCloud) -> None:
    # `aws lambda invoke --function-name <text> --payload '{"action":"get_random_text","difficulty":"easy"}'`
    answer = stratus_cloud.invoke("text", {"action": "get_random_text", "difficulty": "easy"})
    assert answer.function_error is None, answer.payload
    text = answer.json()
    assert text["difficulty"] == "easy" and text["content"]
