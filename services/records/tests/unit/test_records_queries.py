"""GET /leaderboard and GET /players/{player_id}: the queries over records with explicit times."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from stratus_common.cursors import CursorCodec

from .conftest import SIGNING_KEY

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Caller = Callable[..., "TestClient"]
AddRecord = Callable[..., UUID]
NOW = datetime.now(UTC)


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def fields(body: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in body["error"].get("details") or []]


def board(client: TestClient, query: str) -> list[tuple[int, str, float]]:
    response = client.get(f"/leaderboard?{query}")
    assert response.status_code == 200, response.text
    return [(entry["rank"], entry["player_id"], entry["wpm"]) for entry in response.json()]


# ------------------------------------------------------------------------------------------------ leaderboard


def test_the_leaderboard_is_each_players_best_per_period(caller: Caller, add_record: AddRecord) -> None:
    # GIVEN records of three players at several times
    add_record("alice", wpm=60, created_at=ago(hours=2))
    add_record("alice", wpm=95, created_at=ago(days=3))  # her best this week
    add_record("alice", wpm=120, created_at=ago(days=30))  # her best of all time
    add_record("bob", wpm=80, created_at=ago(hours=1))
    add_record("bob", wpm=70, created_at=ago(days=2))
    add_record("carol", wpm=110, created_at=ago(days=10))
    add_record("dave", wpm=200, created_at=ago(hours=1), difficulty="hard")  # another difficulty
    alice = caller("alice")
    # THEN each period ranks each player's best of that period once
    assert board(alice, "difficulty=medium&period=day") == [(1, "bob", 80.0), (2, "alice", 60.0)]
    assert board(alice, "difficulty=medium&period=week") == [(1, "alice", 95.0), (2, "bob", 80.0)]
    assert board(alice, "difficulty=medium&period=all") == [(1, "alice", 120.0), (2, "carol", 110.0), (3, "bob", 80.0)]
    assert board(alice, "difficulty=medium") == board(alice, "difficulty=medium&period=all")
    assert board(alice, "difficulty=hard&period=day") == [(1, "dave", 200.0)]
    assert board(alice, "difficulty=easy") == []


def test_ties_go_to_the_more_accurate_then_the_earlier(caller: Caller, add_record: AddRecord) -> None:
    add_record("late", wpm=90, accuracy=97, created_at=ago(hours=1))
    add_record("early", wpm=90, accuracy=97, created_at=ago(hours=5))
    add_record("accurate", wpm=90, accuracy=99, created_at=ago(hours=1))
    add_record("sloppy", wpm=90, accuracy=80, created_at=ago(hours=9))
    add_record("fast", wpm=91, accuracy=50, created_at=ago(hours=1))
    order = [player for _, player, _ in board(caller("x"), "difficulty=medium&period=day")]
    assert order == ["fast", "accurate", "early", "late", "sloppy"]


def test_a_players_best_is_the_tie_break_winner_among_their_records(caller: Caller, add_record: AddRecord) -> None:
    first = add_record("alice", wpm=90, accuracy=97, created_at=ago(hours=5))
    add_record("alice", wpm=90, accuracy=97, created_at=ago(hours=1))
    add_record("alice", wpm=90, accuracy=96, created_at=ago(hours=9))
    (entry,) = caller("x").get("/leaderboard?difficulty=medium").json()
    assert entry["record_id"] == str(first)
    assert set(entry) == {"rank", "player_id", "wpm", "accuracy", "record_id", "created_at"}


def test_the_limit_cuts_the_board(caller: Caller, add_record: AddRecord) -> None:
    for index in range(15):
        add_record(f"player-{index:02d}", wpm=50 + index)
    client = caller("x")
    assert len(board(client, "difficulty=medium")) == 10  # the default
    top3 = board(client, "difficulty=medium&limit=3")
    assert top3 == [(1, "player-14", 64.0), (2, "player-13", 63.0), (3, "player-12", 62.0)]
    assert len(board(client, "difficulty=medium&limit=100")) == 15


def test_a_player_holding_the_whole_top_does_not_crowd_the_others_out(caller: Caller, add_record: AddRecord) -> None:
    # GIVEN one player with more top records than the rank walk probes (its cap for limit=2 is 120 rows)
    for index in range(130):
        add_record("champion", wpm=200 - index * 0.5)
    add_record("runner-up", wpm=100)
    add_record("third", wpm=90)
    # THEN the board still finds the others (the walk gives up; the loose scan over players answers), each once
    assert board(caller("x"), "difficulty=medium&limit=2") == [(1, "champion", 200.0), (2, "runner-up", 100.0)]
    assert [p for _, p, _ in board(caller("x"), "difficulty=medium&limit=5")] == ["champion", "runner-up", "third"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("difficulty=extreme", "query.difficulty"),
        ("", "query.difficulty"),
        ("difficulty=easy&period=month", "query.period"),
        ("difficulty=easy&limit=0", "query.limit"),
        ("difficulty=easy&limit=101", "query.limit"),
        ("difficulty=easy&limit=ten", "query.limit"),
    ],
)
def test_bad_leaderboard_queries_are_422_naming_the_parameter(
    caller: Caller, database: str, query: str, field: str
) -> None:
    response = caller("x").get(f"/leaderboard?{query}")
    assert response.status_code == 422
    assert fields(response.json()) == [field]


# ------------------------------------------------------------------------------------------------ history


def test_a_players_history_pages_newest_first(caller: Caller, add_record: AddRecord) -> None:
    # GIVEN 7 records of alice (two at the very same time) and one of bob
    same_time = ago(hours=3)
    ids = [add_record("alice", wpm=50 + i, created_at=ago(hours=10 - i)) for i in range(5)]
    ids += [add_record("alice", wpm=60, created_at=same_time), add_record("alice", wpm=61, created_at=same_time)]
    add_record("bob", wpm=99)
    client = caller("bob")
    # WHEN the history is read 3 at a time
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        url = "/players/alice?limit=3" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # THEN every record comes once, newest first (ties by id), and the last page says so
    assert pages == 3
    assert len(seen) == 7 and {r["player_id"] for r in seen} == {"alice"}
    keys = [(r["created_at"], r["record_id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)
    assert {UUID(r["record_id"]) for r in seen} == set(ids)


def test_an_exact_page_has_no_next_cursor(caller: Caller, add_record: AddRecord) -> None:
    for i in range(3):
        add_record("alice", wpm=50 + i)
    page = caller("x").get("/players/alice?limit=3").json()
    assert len(page["items"]) == 3 and page["next_cursor"] is None


def test_a_player_without_records_has_an_empty_page(caller: Caller, database: str) -> None:
    assert caller("x").get("/players/nobody").json() == {"items": [], "next_cursor": None}


def _cursor(payload: Any) -> str:
    """A cursor of *payload* as the service makes them, unsigned: what a client could forge."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def _signed(payload: Any, *, purpose: str = "records-history", key: bytes = SIGNING_KEY.encode()) -> str:
    """A cursor of *payload* signed with *key* for *purpose*, as :mod:`records.cursor` signs them."""
    cursor = CursorCodec(purpose, lambda: key).encode(payload)
    assert cursor is not None
    return cursor


GOOD = {"p": "alice", "t": "2999-01-01T00:00:00+00:00", "r": "0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e"}


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!!",
        "x" * 600,
        _cursor(["a", "b"]),
        _cursor({"p": "alice", "t": "2026-03-10T12:00:00+00:00"}),
        _cursor({"p": "alice", "t": "yesterday", "r": "0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e"}),
        _cursor({"p": "alice", "t": "2026-03-10T12:00:00", "r": "0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e"}),
        _cursor({"p": "alice", "t": "2026-03-10T12:00:00+00:00", "r": "not-a-uuid"}),
        _cursor({"p": "alice", "t": 5, "r": "0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e"}),
        _cursor({"p": "bob", "t": "2026-03-10T12:00:00+00:00", "r": "0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e"}),
        _cursor({"p": "alice", "t": "2026-03-10T12:00:00+00:00", "r": "0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e", "x": 1}),
        _cursor(GOOD),  # the right payload, but not signed
        _signed(GOOD)[:-2],  # truncated
        _signed({**GOOD, "p": "bob"}),  # signed, but for bob's records
        _signed(GOOD, purpose="players"),  # signed for another list
        _signed(GOOD, key=b"another key"),  # signed with another key
        _signed({**GOOD, "t": "yesterday"}),
        _signed({**GOOD, "t": "2026-03-10T12:00:00"}),  # no time zone
        _signed({**GOOD, "r": "not-a-uuid"}),
        _signed({"p": "alice", "t": GOOD["t"]}),  # a key missing
    ],
)
def test_a_bad_cursor_is_422_naming_it(caller: Caller, database: str, cursor: str) -> None:
    response = caller("x").get(f"/players/alice?cursor={cursor}")
    assert response.status_code == 422, response.text
    assert fields(response.json()) == ["query.cursor"]


def test_a_cursor_made_here_is_accepted(caller: Caller, add_record: AddRecord) -> None:
    add_record("alice", wpm=70)
    assert len(caller("x").get(f"/players/alice?cursor={_signed(GOOD)}").json()["items"]) == 1


def test_an_unreadable_cursor_key_is_a_503(caller: Caller, add_record: AddRecord, monkeypatch: Any) -> None:
    # GIVEN a cursor-signing secret that cannot be read
    monkeypatch.setenv("CURSOR_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    for _ in range(2):
        add_record("alice", wpm=70)
    # WHEN a page with a next cursor is listed THEN it is a 503 to retry, not a 500
    response = caller("x").get("/players/alice?limit=1")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


@pytest.mark.parametrize(("query", "field"), [("limit=0", "query.limit"), ("limit=101", "query.limit")])
def test_bad_history_queries_are_422(caller: Caller, database: str, query: str, field: str) -> None:
    response = caller("x").get(f"/players/alice?{query}")
    assert response.status_code == 422
    assert fields(response.json()) == [field]


def test_a_bad_player_id_in_the_path_is_422(caller: Caller, database: str) -> None:
    response = caller("x").get("/players/a%20b")
    assert response.status_code == 422
    assert fields(response.json()) == ["path.player_id"]
