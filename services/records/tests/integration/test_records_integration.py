"""The records service, and the game's whole flow, through the stack under test: `stratus dev` (the
`stratus_cloud` fixture), or a deployed stack (`stratus test --against URL`), unchanged.

A player signs up (idp), makes a profile (players), gets a text (text), plays: the record is stored (records, in
PostgreSQL), ranked on the public leaderboard, and counted in the player's stats through the `record-events`
queue and the players' consumer (SQS to consumer to result)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from stratus.testing import StratusCloud


@pytest.mark.smoke
def test_health(stratus_cloud: StratusCloud) -> None:
    with stratus_cloud.client("/records", token=stratus_cloud.token()) as api:
        response = api.get("/health")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["service"]) == ("healthy", "records")


@pytest.mark.smoke
def test_the_leaderboard_is_public_and_storing_needs_a_token(stratus_cloud: StratusCloud) -> None:
    http = stratus_cloud.http
    board = http.get("/records/leaderboard", params={"difficulty": "easy", "period": "week"})
    assert board.status_code == 200, board.text
    assert isinstance(board.json(), list)
    refused = http.post("/records", json={})
    assert (refused.status_code, refused.json()) == (401, {"message": "Unauthorized"})


def test_a_game_is_recorded_ranked_and_counted_in_the_players_stats(stratus_cloud: StratusCloud) -> None:
    user = stratus_cloud.user()
    with stratus_cloud.client(token=user.access_token) as client:
        created = client.post("/players", json={"display_name": "Grace"})
        assert created.status_code == 201, created.text
        sub = created.json()["player_id"]
        # WHEN the player gets a random easy text
        text = client.get("/texts/random", params={"difficulty": "easy"})
        assert text.status_code == 200, text.text
        # AND submits a game on it
        record = client.post("/records", json={"player_id": sub, "text_id": text.json()["text_id"], "wpm": 87.5,
                                               "accuracy": 98.2, "duration_seconds": 41.3})  # fmt: skip
        assert record.status_code == 201, record.text
        # THEN today's leaderboard of that difficulty shows it, to anyone
        board = stratus_cloud.http.get("/records/leaderboard", params={"difficulty": "easy", "period": "day"})
        assert board.status_code == 200, board.text
        assert any(row["player_id"] == sub and float(row["wpm"]) == 87.5 for row in board.json()), board.json()
        # AND the player's stats follow, through the record-events queue and the players' consumer
        deadline = time.monotonic() + 60
        while (stats := client.get(f"/players/{sub}/stats").json())["games_played"] == 0:
            assert time.monotonic() < deadline, stats
            time.sleep(0.25)
    assert stats["games_played"] == 1, stats
    assert float(stats["best_wpm"]) == 87.5 and float(stats["average_accuracy"]) == 98.2


def test_a_record_of_another_player_is_refused(stratus_cloud: StratusCloud) -> None:
    with stratus_cloud.client(token=stratus_cloud.token()) as api:
        text_id = api.get("/texts/random", params={"difficulty": "easy"}).json()["text_id"]
        response = api.post("/records", json={"player_id": "someone-else", "text_id": text_id, "wpm": 50,
                                              "accuracy": 90, "duration_seconds": 30})  # fmt: skip
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "not_the_player"


def test_a_bad_leaderboard_query_is_a_422_naming_the_field(stratus_cloud: StratusCloud) -> None:
    response = stratus_cloud.http.get("/records/leaderboard", params={"difficulty": "easy", "period": "century"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.period"


def test_a_direct_invocation_reaches_the_database(stratus_cloud: StratusCloud) -> None:
    # `aws lambda invoke --function-name <records> --payload '{"action":"health"}'`
    answer = stratus_cloud.invoke("records", {"action": "health"})
    assert answer.function_error is None, answer.payload
    assert answer.json() == {**answer.json(), "status": "healthy", "database": "reachable"}
