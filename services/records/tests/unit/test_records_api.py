"""POST / and GET /{record_id}: a finished game is stored with its outbox row and its record-events message."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Caller = Callable[..., "TestClient"]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
GAME = {"player_id": "alice", "text_id": "text-1", "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3}


def fields(body: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in body["error"].get("details") or []]


def count(sql: psycopg.Connection[Any], table: str) -> int:
    row = sql.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return int(row["n"])


def test_a_game_is_stored_with_its_outbox_row_and_its_message(caller: Caller, game: Any, sql: Any) -> None:
    # GIVEN alice, signed in, with a profile, and a medium text
    # WHEN she posts a finished game
    response = caller("alice").post("/", json=GAME)
    # THEN it is stored, with the text's difficulty, and its place is in Location
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["player_id"] == "alice"
    assert (record["text_id"], record["difficulty"]) == ("text-1", "medium")
    assert (record["wpm"], record["accuracy"], record["duration_seconds"]) == (72.5, 97.1, 41.3)
    assert ISO_UTC.match(record["created_at"])
    assert response.headers["location"] == f"/{record['record_id']}"
    row = sql.execute("SELECT * FROM records").fetchone()
    assert str(row["record_id"]) == record["record_id"]
    assert str(row["wpm"]) == "72.50"
    # AND its outbox row was written and, once SQS took the message, marked sent
    outbox = sql.execute("SELECT * FROM record_outbox").fetchone()
    assert str(outbox["record_id"]) == record["record_id"]
    assert outbox["sent_at"] is not None and outbox["attempts"] == 1
    # AND the message is the contract's body, numbers as JSON numbers
    (message,) = game.messages()
    assert message == {
        "record_id": record["record_id"],
        "player_id": "alice",
        "text_id": "text-1",
        "difficulty": "medium",
        "wpm": 72.5,
        "accuracy": 97.1,
        "duration_seconds": 41.3,
        "created_at": record["created_at"],
    }
    assert outbox["payload"] == message


def test_the_record_is_found_at_its_location(caller: Caller, game: Any) -> None:
    alice = caller("alice")
    created = alice.post("/", json={**GAME, "text_id": "text-hard"})
    response = alice.get(created.headers["location"])
    assert response.status_code == 200
    assert response.json() == created.json()
    assert response.json()["difficulty"] == "hard"


def test_an_unknown_record_is_a_404(caller: Caller, database: str) -> None:
    response = caller("alice").get("/0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_values_are_rounded_to_the_columns_precision(caller: Caller, game: Any) -> None:
    response = caller("alice").post("/", json={**GAME, "wpm": 72.455, "accuracy": 99.999, "duration_seconds": 12.34567})
    assert response.status_code == 201
    assert (response.json()["wpm"], response.json()["accuracy"]) == (72.46, 100.0)
    assert response.json()["duration_seconds"] == 12.346


def test_whole_numbers_are_numbers_too(caller: Caller, game: Any) -> None:
    response = caller("alice").post("/", json={**GAME, "wpm": 80, "accuracy": 100, "duration_seconds": 60})
    assert response.status_code == 201
    assert (response.json()["wpm"], response.json()["accuracy"]) == (80.0, 100.0)


def test_a_record_for_another_player_is_403(caller: Caller, game: Any, sql: Any) -> None:
    # WHEN bob posts a game as alice
    response = caller("bob").post("/", json=GAME)
    # THEN he is refused, and nothing is written
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_the_player"
    assert fields(response.json()) == ["body.player_id"]
    assert count(sql, "records") == 0


def test_a_machine_client_cannot_post_a_game(caller: Caller, game: Any) -> None:
    response = caller("alice", kind="client").post("/", json=GAME)
    assert response.status_code == 403


def test_no_caller_is_401_but_the_leaderboard_is_public(caller: Caller, game: Any) -> None:
    assert caller(None).post("/", json=GAME).status_code == 401
    assert caller(None).get("/leaderboard?difficulty=easy").status_code == 200


def test_a_player_without_a_profile_is_422_naming_player_id(caller: Caller, game: Any, sql: Any) -> None:
    # GIVEN carol is signed in but never created her profile
    response = caller("carol").post("/", json={**GAME, "player_id": "carol"})
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert detail["field"] == "body.player_id"
    assert detail["message"] == "no player profile; create one with POST /players"
    assert count(sql, "records") == 0
    assert count(sql, "record_outbox") == 0
    assert game.messages() == []


def test_an_unknown_text_is_422_naming_text_id(caller: Caller, game: Any, sql: Any) -> None:
    response = caller("alice").post("/", json={**GAME, "text_id": "no-such-text"})
    assert response.status_code == 422
    assert fields(response.json()) == ["body.text_id"]
    assert count(sql, "records") == 0


def test_an_unknown_player_and_text_are_both_named(caller: Caller, game: Any) -> None:
    response = caller("carol").post("/", json={**GAME, "player_id": "carol", "text_id": "nope"})
    assert response.status_code == 422
    assert fields(response.json()) == ["body.player_id", "body.text_id"]


def test_a_text_without_a_known_difficulty_is_422(caller: Caller, game: Any) -> None:
    game.add_text("odd", "impossible")
    response = caller("alice").post("/", json={**GAME, "text_id": "odd"})
    assert response.status_code == 422
    assert fields(response.json()) == ["body.text_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"wpm": -5}, "body.wpm"),
        ({"wpm": 0}, "body.wpm"),
        ({"wpm": 0.001}, "body.wpm"),
        ({"wpm": 300.5}, "body.wpm"),
        ({"wpm": "72"}, "body.wpm"),
        ({"wpm": True}, "body.wpm"),
        ({"wpm": None}, "body.wpm"),
        ({"accuracy": -0.1}, "body.accuracy"),
        ({"accuracy": 100.01}, "body.accuracy"),
        ({"duration_seconds": 0}, "body.duration_seconds"),
        ({"duration_seconds": -1}, "body.duration_seconds"),
        ({"duration_seconds": 3600.5}, "body.duration_seconds"),
        ({"player_id": ""}, "body.player_id"),
        ({"player_id": "a b"}, "body.player_id"),
        ({"text_id": "x" * 129}, "body.text_id"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_bad_values_are_422_naming_the_field(
    caller: Caller, game: Any, sql: Any, change: dict[str, Any], field: str
) -> None:
    response = caller("alice").post("/", json={**GAME, **change})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert fields(response.json()) == [field]
    assert count(sql, "records") == 0


def test_a_missing_field_is_named(caller: Caller, game: Any) -> None:
    body = {key: value for key, value in GAME.items() if key != "duration_seconds"}
    response = caller("alice").post("/", json=body)
    assert response.status_code == 422
    assert fields(response.json()) == ["body.duration_seconds"]


def test_nan_and_infinity_are_refused(caller: Caller, game: Any) -> None:
    for raw in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = b'{"player_id":"alice","text_id":"text-1","wpm":' + raw + b',"accuracy":90,"duration_seconds":10}'
        response = caller("alice").post("/", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, raw
        assert fields(response.json()) == ["body.wpm"]


def test_a_megabyte_body_is_refused_naming_the_field(caller: Caller, game: Any, sql: Any) -> None:
    alice = caller("alice")
    padded = alice.post("/", json={**GAME, "padding": "x" * 1_000_000})
    assert padded.status_code == 422
    assert fields(padded.json()) == ["body.padding"]
    long_id = alice.post("/", json={**GAME, "text_id": "t" * 1_000_000})
    assert long_id.status_code == 422
    assert fields(long_id.json()) == ["body.text_id"]
    assert count(sql, "records") == 0


def test_a_body_that_is_not_json_is_400(caller: Caller, game: Any) -> None:
    response = caller("alice").post("/", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_body_that_is_not_an_object_is_422(caller: Caller, game: Any) -> None:
    response = caller("alice").post("/", json=[1, 2, 3])
    assert response.status_code == 422
    assert fields(response.json()) == ["body"]
