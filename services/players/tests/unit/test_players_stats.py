"""players.stats: record events counted exactly once in effect (duplicates, concurrent duplicates), partial batch
failures for what is not a record event, the dead-letter queue, and GET /players/{id}/stats over the result."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError
from players import stats
from players.stats import InvalidRecordEvent, RecordEvent, parse_record_event
from players.stats_store import MARKER_TTL, Stats, StatsContention, StatsStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient

    from .conftest import Cloud

    Caller = Callable[..., TestClient]
    SqsEvent = Callable[[list[dict[str, Any]]], dict[str, Any]]
    MakeRecordEvent = Callable[..., dict[str, Any]]


def _failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


@pytest.fixture
def store(cloud: Cloud) -> StatsStore:
    return StatsStore(cloud.dynamodb, cloud.stats_table)


def _deliver(cloud: Cloud, sqs_event: SqsEvent) -> dict[str, Any]:
    """Hand what is on the queue to the consumer, as the event source mapping does."""
    return stats.handler(sqs_event(cloud.receive()), None)


def test_a_record_event_is_counted(
    cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent, store: StatsStore
) -> None:
    # GIVEN a record event on the queue
    cloud.send(json.dumps(make_record_event("r1", "alice", wpm=72.5, accuracy=96.25)))
    before = datetime.now(UTC)
    # WHEN the consumer gets it
    response = _deliver(cloud, sqs_event)
    # THEN it succeeds, and alice's totals count the game
    assert response == {"batchItemFailures": []}
    assert store.get("alice") == Stats(
        games_played=1,
        total_wpm=Decimal("72.50"),
        best_wpm=Decimal("72.50"),
        total_accuracy=Decimal("96.25"),
        last_played_at="2026-03-10T12:00:00.000Z",
        version=1,
    )
    # AND a marker remembers the record for 30 days (the table's TTL attribute)
    markers = [item for item in cloud.stats_items("alice") if item["entry"]["S"].startswith("record#")]
    assert [item["entry"]["S"] for item in markers] == ["record#r1"]
    expires = datetime.fromtimestamp(int(markers[0]["expires_at"]["N"]), UTC)
    assert before + MARKER_TTL - timedelta(seconds=5) <= expires <= datetime.now(UTC) + MARKER_TTL


def test_a_redelivered_message_is_counted_once(
    cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent, store: StatsStore
) -> None:
    # GIVEN a record event that the records service sent twice (or SQS delivered twice)
    body = json.dumps(make_record_event("r1", "alice", wpm=80))
    cloud.send(body)
    assert _deliver(cloud, sqs_event) == {"batchItemFailures": []}
    cloud.send(body)
    # WHEN the second copy arrives, and then both in one batch
    second = _deliver(cloud, sqs_event)
    cloud.send(body)
    cloud.send(body)
    third = _deliver(cloud, sqs_event)
    # THEN each copy is acknowledged (not retried), and the game is counted once
    assert second == third == {"batchItemFailures": []}
    assert (store.get("alice").games_played, store.get("alice").total_wpm) == (1, Decimal("80.00"))


def test_totals_averages_best_and_last_played(
    caller: Caller, cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent
) -> None:
    # GIVEN alice's profile, and three games that arrive out of order
    alice = caller("alice")
    alice.post("/", json={"display_name": "Alice"})
    assert alice.get("/alice/stats").json() == {
        "player_id": "alice",
        "games_played": 0,
        "best_wpm": 0.0,
        "average_wpm": 0.0,
        "average_accuracy": 0.0,
        "last_played_at": None,
    }
    games = [
        make_record_event("r1", "alice", wpm=60, accuracy=90, created_at="2026-03-10T12:00:00Z"),
        make_record_event("r2", "alice", wpm=71.55, accuracy=99.9, created_at="2026-03-12T08:30:00+02:00"),
        make_record_event("r3", "alice", wpm=65, accuracy=95, created_at="2026-03-11T00:00:00Z"),
        make_record_event("b1", "bob", wpm=120, accuracy=100),
    ]
    for game in games:
        cloud.send(json.dumps(game))
    # WHEN they are counted
    assert _deliver(cloud, sqs_event) == {"batchItemFailures": []}
    # THEN the stats are alice's only: averages to one decimal, the best, the latest game (in UTC)
    assert alice.get("/alice/stats").json() == {
        "player_id": "alice",
        "games_played": 3,
        "best_wpm": 71.55,
        "average_wpm": 65.5,  # 196.55 / 3 = 65.516...
        "average_accuracy": 95.0,  # 284.9 / 3 = 94.966...
        "last_played_at": "2026-03-12T06:30:00.000Z",
    }


def test_stats_of_a_player_without_a_profile_are_404(
    caller: Caller, cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent
) -> None:
    # GIVEN games of an account that has no profile (never made one, or deleted it)
    cloud.send(json.dumps(make_record_event("r1", "ghost")))
    assert _deliver(cloud, sqs_event) == {"batchItemFailures": []}
    # WHEN its stats are asked for THEN there is no such player
    response = caller("alice").get("/ghost/stats")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # AND once the account makes a profile, the games it played are there
    caller("ghost").post("/", json={"display_name": "Ghost"})
    assert caller("alice").get("/ghost/stats").json()["games_played"] == 1


def test_concurrent_duplicate_deliveries_are_counted_once(
    cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent, store: StatsStore
) -> None:
    # GIVEN eight invocations at once, each with the same record (delivered eight times) and one record of its own
    shared = {"MessageId": "shared", "ReceiptHandle": "rh", "MD5OfBody": "-"}
    shared["Body"] = json.dumps(make_record_event("shared", "alice", wpm=100, accuracy=100))
    events = []
    for n in range(8):
        own = {
            "MessageId": f"own-{n}",
            "ReceiptHandle": f"rh-{n}",
            "MD5OfBody": "-",
            "Body": json.dumps(make_record_event(f"own-{n}", "alice", wpm=50 + n, accuracy=90)),
        }
        events.append(sqs_event([dict(shared, MessageId=f"shared-{n}"), own]))
    start = threading.Barrier(len(events))
    responses: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def invoke(event: dict[str, Any]) -> None:
        start.wait()
        try:
            responses.append(stats.handler(event, None))
        except BaseException as exc:  # reported below: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=invoke, args=(event,)) for event in events]
    # WHEN they all run at the same time, on real threads
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # THEN every message succeeds, and the shared record is counted once, every other one once each
    assert errors == []
    assert responses == [{"batchItemFailures": []}] * len(events)
    totals = store.get("alice")
    assert totals.games_played == 1 + 8
    assert totals.total_wpm == Decimal(100 + sum(50 + n for n in range(8)))
    assert totals.best_wpm == Decimal(100)
    assert totals.total_accuracy == Decimal(100 + 8 * 90)
    assert totals.version == 9
    markers = sorted(item["entry"]["S"] for item in cloud.stats_items("alice") if item["entry"]["S"] != "stats")
    assert markers == sorted(["record#shared", *(f"record#own-{n}" for n in range(8))])


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "",
        "[]",
        '"a string"',
        json.dumps({"record_id": "r1"}),
        json.dumps({"player_id": "alice"}),
    ],
)
def test_a_message_that_is_not_a_record_event_fails(cloud: Cloud, sqs_event: SqsEvent, body: str) -> None:
    message_id = cloud.send(body or " ")
    response = _deliver(cloud, sqs_event)
    assert _failures(response) == [message_id]


@pytest.mark.parametrize(
    "changes",
    [
        {"wpm": -1},
        {"wpm": "fast"},
        {"wpm": 1e9},
        {"accuracy": 100.5},
        {"accuracy": None},
        {"created_at": "2026-03-10T12:00:00"},  # no time zone
        {"created_at": "yesterday"},
        {"record_id": ""},
        {"record_id": "x" * 500},
        {"player_id": "has space"},
        {"duration_seconds": -3},
    ],
)
def test_a_record_event_out_of_range_fails_and_the_rest_of_the_batch_is_counted(
    cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent, store: StatsStore, changes: dict[str, Any]
) -> None:
    # GIVEN a batch with a bad event between two good ones
    cloud.send(json.dumps(make_record_event("good-1", "alice")))
    bad = cloud.send(json.dumps(make_record_event("bad", "alice", **changes)))
    cloud.send(json.dumps(make_record_event("good-2", "alice")))
    # WHEN it is processed
    response = _deliver(cloud, sqs_event)
    # THEN only the bad one is reported failed; the good ones are counted
    assert _failures(response) == [bad]
    assert store.get("alice").games_played == 2


def test_a_poison_message_ends_in_the_dead_letter_queue(cloud: Cloud, sqs_event: SqsEvent) -> None:
    # GIVEN a message that is not a record event, on a queue with maxReceiveCount 5, and an event source mapping
    # emulated by hand: it deletes the messages not reported failed and makes the failed ones visible again at once
    cloud.send("{not json")
    for _ in range(5):
        messages = cloud.receive()
        assert len(messages) == 1
        failed = set(_failures(stats.handler(sqs_event(messages), None)))
        for message in messages:
            if message["MessageId"] in failed:
                cloud.sqs.change_message_visibility(
                    QueueUrl=cloud.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                cloud.sqs.delete_message(QueueUrl=cloud.queue_url, ReceiptHandle=message["ReceiptHandle"])
    # WHEN SQS is asked for it a sixth time THEN it has moved it to the dead-letter queue
    assert cloud.receive() == []
    dead = cloud.sqs.receive_message(QueueUrl=cloud.dlq_url).get("Messages", [])
    assert [message["Body"] for message in dead] == ["{not json"]


class _StaleReads(StatsStore):
    """A store that always reads totals older than the table's: every transaction's version check fails."""

    def get(self, player_id: str) -> Stats:
        return Stats()


def test_totals_that_keep_changing_fail_the_message_after_bounded_retries(
    cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent, store: StatsStore
) -> None:
    # GIVEN alice's totals at version 1, and a store whose reads never catch up
    cloud.send(json.dumps(make_record_event("r1", "alice")))
    assert _deliver(cloud, sqs_event) == {"batchItemFailures": []}
    waits: list[float] = []
    stale = _StaleReads(cloud.dynamodb, cloud.stats_table, sleep=waits.append, max_attempts=4)
    message_id = cloud.send(json.dumps(make_record_event("r2", "alice")))
    # WHEN the next game is counted with it
    response = stats.process_batch(sqs_event(cloud.receive()), stale)
    # THEN it gives up after 4 attempts, with short random waits, and the message is retried later
    assert _failures(response) == [message_id]
    assert len(waits) == 4
    assert all(0 <= wait <= 0.2 for wait in waits)
    with pytest.raises(StatsContention):
        _StaleReads(cloud.dynamodb, cloud.stats_table, sleep=waits.append, max_attempts=2).apply(
            RecordEvent.from_dict(make_record_event("r3", "alice")).game()
        )
    # AND nothing of r2 was written
    assert store.get("alice").games_played == 1
    assert "record#r2" not in {item["entry"]["S"] for item in cloud.stats_items("alice")}


def test_a_dynamodb_outage_fails_the_messages_without_crashing(
    cloud: Cloud, sqs_event: SqsEvent, make_record_event: MakeRecordEvent
) -> None:
    ids = [cloud.send(json.dumps(make_record_event(f"r{n}", "alice"))) for n in range(2)]
    broken = StatsStore(cloud.dynamodb, "no-such-table")
    response = stats.process_batch(sqs_event(cloud.receive()), broken)
    assert sorted(_failures(response)) == sorted(ids)


def test_an_empty_batch_is_an_empty_response_and_other_events_are_refused(store: StatsStore) -> None:
    assert stats.process_batch({"Records": []}, store) == {"batchItemFailures": []}
    with pytest.raises(UnexpectedBatchTypeError):
        stats.process_batch({"detail-type": "Scheduled Event"}, store)


def test_the_contract_example_parses_and_unknown_fields_are_ignored() -> None:
    # GIVEN the example of the README, with a field a later records service might add
    body = {
        "record_id": "r-123",
        "player_id": "0b6f3a52-0d1e-4d43-9d4b-0c8d5b2f7e11",
        "text_id": "t-9",
        "difficulty": "medium",
        "wpm": 72.5,
        "accuracy": 97.1,
        "duration_seconds": 41.3,
        "created_at": "2026-03-10T12:00:00Z",
        "keystrokes": 1234,
    }
    # WHEN it is parsed THEN it is a record event, its numbers exact decimals
    event = parse_record_event(json.dumps(body))
    assert (event.record_id, event.wpm, event.accuracy) == ("r-123", Decimal("72.5"), Decimal("97.1"))
    assert event.created_at == datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert not hasattr(event, "keystrokes")


def _body(**changes: Any) -> str:
    """The JSON of a valid record event with *changes*; a value of ``...`` removes the field."""
    body: dict[str, Any] = {
        "record_id": "r-1",
        "player_id": "alice",
        "text_id": "t-1",
        "difficulty": "easy",
        "wpm": 60,
        "accuracy": 99.5,
        "duration_seconds": 30,
        "created_at": "2026-03-10T12:00:00+02:00",
    }
    body.update(changes)
    return json.dumps({name: value for name, value in body.items() if value is not ...})


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("{not json", "body"),
        ("[1, 2]", "body"),
        (_body(wpm="72.5"), "wpm"),  # the contract's numbers are JSON numbers
        (_body(wpm=True), "wpm"),
        (_body(wpm=10_000.01), "wpm"),
        (_body(duration_seconds=...), "duration_seconds"),
        (_body(record_id="r-1\n"), "record_id"),
        (_body(player_id="-starts-with-a-dash"), "player_id"),
        (_body(text_id=7), "text_id"),
        (_body(difficulty="x" * 33), "difficulty"),
        (_body(created_at=1_700_000_000), "created_at"),
        (_body(created_at="2026-02-30T12:00:00Z"), "created_at"),
        (_body(wpm=-1, accuracy=None, created_at="now"), "accuracy, created_at, wpm"),
        (_body().replace("60", "NaN"), "wpm"),
        (_body().replace("60", "Infinity"), "wpm"),
        (_body().replace("60", "9" * 5_000), "body"),  # past Python's limit on an int's digits
        (_body().replace("60", "1e999999"), "wpm"),
    ],
)
def test_what_is_not_a_record_event_is_named_field_by_field(body: str, fields: str) -> None:
    with pytest.raises(InvalidRecordEvent) as raised:
        parse_record_event(body)
    assert str(raised.value) == f"not a record event: {fields}"


def test_numbers_are_exact_and_any_time_zone_is_taken() -> None:
    event = parse_record_event(_body(wpm=0).replace('"wpm": 0', '"wpm": 72.123456789012345678'))
    assert event.wpm == Decimal("72.123456789012345678")  # the JSON's digits, not a float's
    assert (event.accuracy, event.duration_seconds) == (Decimal("99.5"), Decimal(30))
    assert event.created_at == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert parse_record_event(_body(wpm=10_000, accuracy=100, duration_seconds=0)).wpm == Decimal(10_000)
