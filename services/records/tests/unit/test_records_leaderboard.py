"""records.leaderboard: its three queries give the same, exact answer (checked against a plain Python ranking)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from records import db, leaderboard

NOW = datetime.now(UTC)
PERIOD_STARTS = {"day": NOW - timedelta(days=1), "week": NOW - timedelta(days=7), "all": None}


@pytest.fixture
def games(database: str) -> list[dict[str, Any]]:
    """400 records of 25 players over 10 days, on a coarse grid of values so that ties abound; ANALYZEd."""
    rng = random.Random(20260310)
    rows = [
        {
            "record_id": uuid4(),
            "player_id": f"player-{rng.randrange(25):02d}",
            "difficulty": rng.choice(("easy", "medium")),
            "wpm": Decimal(rng.randrange(40, 60)),
            "accuracy": Decimal(rng.choice((90, 95, 100))),
            "created_at": NOW - timedelta(minutes=10 * rng.randrange(0, 10 * 144), hours=0.01),
        }
        for _ in range(400)
    ]
    with psycopg.connect(database, autocommit=True) as connection:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO records (record_id, player_id, text_id, difficulty, wpm, accuracy, duration_seconds, "
                "created_at) VALUES (%(record_id)s, %(player_id)s, 't', %(difficulty)s, %(wpm)s, %(accuracy)s, 30, "
                "%(created_at)s)",
                rows,
            )
        connection.execute("ANALYZE records")
    return rows


def expected(rows: list[dict[str, Any]], difficulty: str, period: str, limit: int) -> list[UUID]:
    """The leaderboard, computed the plain way."""
    start = PERIOD_STARTS[period]
    chosen = [r for r in rows if r["difficulty"] == difficulty and (start is None or r["created_at"] >= start)]
    chosen.sort(key=lambda r: (-r["wpm"], -r["accuracy"], r["created_at"], str(r["record_id"])))
    best: dict[str, UUID] = {}
    for row in chosen:
        best.setdefault(row["player_id"], row["record_id"])
    return list(best.values())[:limit]


@pytest.mark.parametrize("period", ["day", "week", "all"])
@pytest.mark.parametrize("limit", [1, 5, 20, 100])
def test_the_three_queries_agree_with_the_plain_ranking(games: list[dict[str, Any]], period: str, limit: int) -> None:
    want = expected(games, "medium", period, limit)
    values = leaderboard.parameters("medium", period, limit)
    bounded = values["since"] is not None
    with db.transaction() as connection:
        walked = [row.record_id for row in connection.execute(leaderboard.walk_query(bounded), values)]
        loose = [row.record_id for row in connection.execute(leaderboard.loose_query(bounded), values)]
        distinct = [row.record_id for row in connection.execute(leaderboard.distinct_query(bounded), values)]
        answered = [row.record_id for row in leaderboard.leaderboard(connection, "medium", period, limit)]
    assert walked == want[: len(walked)]  # the walk may give up early, never answer wrong
    assert [record_id for record_id in loose if record_id is not None] == want
    assert distinct == want
    assert answered == want


def test_a_walk_that_gives_up_is_completed_by_another_query(games: list[dict[str, Any]]) -> None:
    # GIVEN a walk allowed only 3 rows, too few to find 20 players
    values = {**leaderboard.parameters("medium", "all", 20), "cap": 3}
    with db.transaction() as connection:
        walked = connection.execute(leaderboard.walk_query(False), values).all()
        answered = leaderboard.leaderboard(connection, "medium", "all", 20)
    assert 0 < len(walked) < 20
    assert [row.record_id for row in answered] == expected(games, "medium", "all", 20)


def test_a_loose_scan_over_too_many_players_says_so(games: list[dict[str, Any]]) -> None:
    values = {**leaderboard.parameters("medium", "all", 5), "max_players": 10}
    with db.transaction() as connection:
        rows = connection.execute(leaderboard.loose_query(False), values).all()
    assert {row.visited for row in rows} == {10}


def test_the_plan_follows_the_number_of_players(games: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    with db.transaction() as connection:
        assert leaderboard.estimated_players(connection) == pytest.approx(25, abs=3)
        # 25 players: the loose scan answers
        assert leaderboard.plan(connection, "medium", "all", 10)[0] == "loose"
        # were there thousands, the walk would answer
        monkeypatch.setattr(leaderboard, "estimated_players", lambda connection: 5_000.0)
        assert leaderboard.plan(connection, "medium", "all", 10)[0] == "walk"
        # and, were the walk to give up, DISTINCT ON
        monkeypatch.setattr(leaderboard, "scan_cap", lambda limit: 2)
        kind, rows = leaderboard.plan(connection, "medium", "all", 10)
    assert kind == "distinct"
    assert [row.record_id for row in rows] == expected(games, "medium", "all", 10)
