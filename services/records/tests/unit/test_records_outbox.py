"""The outbox: a record whose message could not be sent is sent by the scheduled sweep (records.outbox.handler)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from botocore.exceptions import EndpointConnectionError
from records import outbox

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Caller = Callable[..., "TestClient"]
GAME = {"player_id": "alice", "text_id": "text-1", "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3}


class FailingSQS:
    """An SQS client whose sends fail: the network (``mode="raise"``) or SQS refusing entries (``"reject"``)."""

    def __init__(self, mode: str = "raise") -> None:
        self.mode = mode
        self.calls = 0

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.mode == "raise":
            raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
        return {
            "Successful": [],
            "Failed": [
                {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"} for entry in kwargs["Entries"]
            ],
        }


class SQSSwitch:
    """What ``records.outbox.sqs_client`` returns in a test: the real (moto) client, or :attr:`failing` when set."""

    def __init__(self, real: Callable[[], Any]) -> None:
        self.real = real
        self.failing: FailingSQS | None = None

    def __call__(self) -> Any:
        return self.failing if self.failing is not None else self.real()


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> SQSSwitch:
    switch = SQSSwitch(outbox.sqs_client)
    monkeypatch.setattr(outbox, "sqs_client", switch)
    return switch


def age_outbox(sql: psycopg.Connection[Any], seconds: int = 60) -> None:
    """Make every outbox row look *seconds* old."""
    sql.execute(f"UPDATE record_outbox SET created_at = now() - interval '{seconds} seconds'")


def unsent(sql: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return list(sql.execute("SELECT * FROM record_outbox WHERE sent_at IS NULL ORDER BY created_at").fetchall())


def test_a_failed_send_leaves_the_record_stored_and_its_row_unsent(
    caller: Caller, game: Any, sql: Any, sqs: SQSSwitch
) -> None:
    # WHEN SQS cannot be reached as alice posts a game
    sqs.failing = FailingSQS()
    response = caller("alice").post("/", json=GAME)
    # THEN the record is stored all the same, and its outbox row waits
    assert response.status_code == 201
    assert sqs.failing.calls == 1
    (row,) = unsent(sql)
    assert str(row["record_id"]) == response.json()["record_id"]
    assert game.messages() == []


def test_the_sweep_resends_rows_left_unsent(caller: Caller, game: Any, sql: Any, sqs: SQSSwitch) -> None:
    # GIVEN two records whose messages were not sent
    sqs.failing = FailingSQS()
    first = caller("alice").post("/", json=GAME).json()
    second = caller("bob").post("/", json={**GAME, "player_id": "bob", "wpm": 88}).json()
    sqs.failing = None  # SQS is back
    # WHEN the sweep runs before they are 30 s old, nothing is sent: the request may still be sending them
    assert outbox.handler({}, None)["sent"] == 0
    # WHEN it runs once they are older
    age_outbox(sql)
    result = outbox.handler({}, None)
    # THEN both are sent, with the contract's body, and marked sent
    assert result["sent"] == 2 and result["failed"] == 0
    messages = {m["record_id"]: m for m in game.messages()}
    assert set(messages) == {first["record_id"], second["record_id"]}
    assert messages[second["record_id"]]["wpm"] == 88.0
    assert messages[first["record_id"]]["created_at"] == first["created_at"]
    assert unsent(sql) == []
    # AND another sweep has nothing to do
    assert outbox.handler({}, None)["sent"] == 0


def test_a_failed_resend_is_counted_and_tried_again(caller: Caller, game: Any, sql: Any, sqs: SQSSwitch) -> None:
    sqs.failing = FailingSQS("reject")
    caller("alice").post("/", json=GAME)
    age_outbox(sql)
    result = outbox.handler({}, None)
    assert (result["sent"], result["failed"], result["errors"]) == (0, 1, {"InternalError": 1})
    (row,) = unsent(sql)
    assert (row["attempts"], row["last_error"]) == (1, "InternalError")
    # AND once SQS takes it, the row is sent
    sqs.failing = None
    assert outbox.handler({}, None)["sent"] == 1
    assert unsent(sql) == []


def test_rows_another_sweep_holds_are_skipped(
    caller: Caller, game: Any, sql: Any, database: str, sqs: SQSSwitch
) -> None:
    # GIVEN two unsent rows, one of them locked by a concurrent sweep
    sqs.failing = FailingSQS()
    held = caller("alice").post("/", json=GAME).json()["record_id"]
    free = caller("bob").post("/", json={**GAME, "player_id": "bob"}).json()["record_id"]
    sqs.failing = None
    age_outbox(sql)
    with psycopg.connect(database) as other:
        other.execute("SELECT 1 FROM record_outbox WHERE record_id = %s FOR UPDATE", (held,))
        # WHEN the sweep runs meanwhile: it does not wait for the lock, and sends only the other row
        result = outbox.handler({}, None)
        assert result["sent"] == 1
        assert [m["record_id"] for m in game.messages()] == [free]
        other.rollback()
    # THEN the held row is sent by the next sweep
    assert outbox.handler({}, None)["sent"] == 1
    assert [m["record_id"] for m in game.messages()] == [held]


def test_the_sweep_sends_in_batches_and_stops_at_the_deadline(
    caller: Caller, game: Any, sql: Any, sqs: SQSSwitch, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs.failing = FailingSQS()
    for _ in range(12):
        caller("alice").post("/", json=GAME)
    sqs.failing = None
    monkeypatch.setattr(outbox, "BATCH_ROWS", 5)
    age_outbox(sql)

    class Context:
        remaining = iter([60_000, 60_000, 1_000])

        def get_remaining_time_in_millis(self) -> int:
            return next(self.remaining)

    # two batches of 5, then too close to the deadline for a third
    assert outbox.handler({}, Context())["sent"] == 10
    assert len(unsent(sql)) == 2
    assert outbox.handler({}, None)["sent"] == 2
    assert len(game.messages()) == 12


def test_sent_rows_are_purged_after_a_week(caller: Caller, game: Any, sql: Any) -> None:
    caller("alice").post("/", json=GAME)
    caller("alice").post("/", json=GAME)
    sql.execute(
        "UPDATE record_outbox SET sent_at = now() - interval '8 days' WHERE record_id = "
        "(SELECT record_id FROM record_outbox LIMIT 1)"
    )
    assert outbox.handler({}, None)["purged"] == 1
    assert sql.execute("SELECT count(*) AS n FROM record_outbox").fetchone()["n"] == 1
    assert sql.execute("SELECT count(*) AS n FROM records").fetchone()["n"] == 2


def test_concurrent_posts_all_succeed_with_their_own_rows(caller: Caller, game: Any, sql: Any) -> None:
    # GIVEN eight players posting at once, each from its own thread
    players = [f"player-{i}" for i in range(8)]
    for player in players:
        game.add_player(player)
    statuses: dict[str, int] = {}
    barrier = threading.Barrier(len(players))

    def post(index: int, player: str) -> None:
        client = caller(player)
        barrier.wait()
        response = client.post("/", json={**GAME, "player_id": player, "wpm": 40 + index})
        statuses[player] = response.status_code

    threads = [threading.Thread(target=post, args=item) for item in enumerate(players)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # THEN every post was stored, once, with its own outbox row and message
    assert statuses == dict.fromkeys(players, 201)
    rows = sql.execute("SELECT player_id, record_id FROM records").fetchall()
    assert sorted(row["player_id"] for row in rows) == sorted(players)
    outbox_ids = {row["record_id"] for row in sql.execute("SELECT record_id FROM record_outbox").fetchall()}
    assert outbox_ids == {row["record_id"] for row in rows}
    assert unsent(sql) == []
    bodies = game.messages()
    assert sorted(json.dumps(b["player_id"]) for b in bodies) == sorted(json.dumps(p) for p in players)
