"""The leaderboard: each player's best record of a difficulty and period, in rank order.

**Rank order**: ``wpm DESC, accuracy DESC, created_at ASC, record_id ASC`` (a faster game first; at equal speed the
more accurate; at equal both, whoever got there first; the id only makes the order total).

"Best per player, then the top *limit*" has no single plan that is fast for every shape of data, so there are three
exact queries, each read from an index (``records_leaderboard_idx``, ``records_player_best_idx``, see
:mod:`records.models`), tried in turn:

1. **The rank walk** (:func:`walk_query`): read ``records_leaderboard_idx`` in rank order; the first record of a player
   met that way is that player's best, which one probe of ``records_player_best_idx`` confirms (an anti-join: "no
   better record of this player in the period"); stop once ``limit`` players are found. It reads about ``limit``
   rows when the top is spread over many players, a few times that when the best players hold many of the top
   records. It is capped at :func:`scan_cap` rows: beyond that it gives up (fewer than ``limit`` rows).
2. **The loose scan over players** (:func:`loose_query`): a recursive CTE seeks player after player in
   ``records_player_best_idx``, and each one's best record of the period with one more seek; then the top ``limit``.
   Its cost is the number of players, whatever their number of records: the plan for a few players with many games,
   or a period with fewer players than ``limit``. It visits at most :data:`MAX_LOOSE_PLAYERS`.
3. **DISTINCT ON (player_id)** (:func:`distinct_query`) over ``records_player_best_idx``: every record of the period
   read once, in index order (no sort but the final top-N). The fallback when neither of the others could answer.

With few players (the planner's estimate, :func:`estimated_players`, at most :func:`loose_first`), the loose scan is
tried first; otherwise the walk. ``bench/records_leaderboard.py`` seeds 100,000 records and shows the times and plans.

The statements are built once per shape (bounded period or not) with bound parameters, so SQLAlchemy's compiled
cache serves every request after the first: building them costs more than running them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Interval,
    Text,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import distinct_on

from records.models import records

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Connection, FromClause, Row, Select

__all__ = [
    "MAX_LOOSE_PLAYERS",
    "PERIODS",
    "LeaderboardRow",
    "distinct_query",
    "estimated_players",
    "leaderboard",
    "loose_first",
    "loose_query",
    "parameters",
    "scan_cap",
    "walk_query",
]

PERIODS: dict[str, timedelta | None] = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}
"""How far back each period reaches from now; ``None``: no limit."""
MAX_LOOSE_PLAYERS = 1_000
"""The most players the loose scan visits before the leaderboard falls back to ``DISTINCT ON``."""

_PLAYER_STATISTICS = text(
    "SELECT s.n_distinct, c.reltuples FROM pg_stats AS s JOIN pg_class AS c ON c.oid = 'records'::regclass "
    "WHERE s.schemaname = current_schema() AND s.tablename = 'records' AND s.attname = 'player_id'"
)


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """A player's best record of the period."""

    player_id: str
    wpm: Decimal
    accuracy: Decimal
    record_id: UUID
    created_at: datetime


def scan_cap(limit: int) -> int:
    """How many rows of the rank walk the anti-join may probe before it gives up."""
    return 10 * limit + 100


def loose_first(limit: int) -> int:
    """Up to how many players (estimated) the loose scan is tried before the rank walk."""
    return 4 * limit + 50


def parameters(difficulty: str, period: str, limit: int) -> dict[str, Any]:
    """The bound values of the three queries."""
    return {
        "difficulty": difficulty,
        "since": PERIODS[period],
        "limit": limit,
        "cap": scan_cap(limit),
        "max_players": MAX_LOOSE_PLAYERS,
    }


def _rank(table: FromClause) -> list[ColumnElement[Any]]:
    c = table.c
    return [c.wpm.desc(), c.accuracy.desc(), c.created_at.asc(), c.record_id.asc()]


def _columns(table: FromClause) -> tuple[ColumnElement[Any], ...]:
    c = table.c
    return (c.player_id, c.wpm, c.accuracy, c.record_id, c.created_at)


def _in_period(table: FromClause, bounded: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [table.c.difficulty == bindparam("difficulty", type_=Text)]
    if bounded:
        conditions.append(table.c.created_at >= func.now() - bindparam("since", type_=Interval))
    return conditions


@cache
def walk_query(bounded: bool) -> Select[Any]:
    """The rank walk over the first ``:cap`` rows; *bounded*: the period has a start (``:since`` ago)."""
    candidates = (
        select(*_columns(records))
        .where(*_in_period(records, bounded))
        .order_by(*_rank(records))
        .limit(bindparam("cap"))
        .subquery("r")
    )
    b = records.alias("b")
    r = candidates.c
    better = or_(
        b.c.wpm > r.wpm,
        and_(
            b.c.wpm == r.wpm,
            or_(
                b.c.accuracy > r.accuracy,
                and_(
                    b.c.accuracy == r.accuracy,
                    or_(
                        b.c.created_at < r.created_at,
                        and_(b.c.created_at == r.created_at, b.c.record_id < r.record_id),
                    ),
                ),
            ),
        ),
    )
    # `b.wpm >= r.wpm` repeats a consequence of `better` as a bound the index can seek on.
    has_better = exists().where(b.c.player_id == r.player_id, *_in_period(b, bounded), b.c.wpm >= r.wpm, better)
    return select(*_columns(candidates)).where(~has_better).order_by(*_rank(candidates)).limit(bindparam("limit"))


@cache
def loose_query(bounded: bool) -> Select[Any]:
    """The loose scan over at most ``:max_players`` players. Each row carries ``visited``, the number of players
    seen (``:max_players``: there may be more); a player without a record in the period comes last, with nulls."""
    first = (
        select(records.c.player_id, literal(1).label("visited"))
        .where(records.c.difficulty == bindparam("difficulty", type_=Text))
        .order_by(records.c.player_id)
        .limit(1)
    )
    players = first.cte("players", recursive=True)
    nxt = records.alias("nxt")
    next_player = (
        select(nxt.c.player_id)
        .where(nxt.c.difficulty == bindparam("difficulty", type_=Text), nxt.c.player_id > players.c.player_id)
        .order_by(nxt.c.player_id)
        .limit(1)
        .scalar_subquery()
    )
    players = players.union_all(
        select(next_player, players.c.visited + 1).where(
            players.c.player_id.is_not(None), players.c.visited < bindparam("max_players")
        )
    )
    b = records.alias("b")
    best = (
        select(*_columns(b))
        .where(b.c.player_id == players.c.player_id, *_in_period(b, bounded))
        .order_by(*_rank(b))
        .limit(1)
        .lateral("best")
    )
    return (
        select(*_columns(best), func.count().over().label("visited"))
        .select_from(players.outerjoin(best, true()))
        .where(players.c.player_id.is_not(None))
        .order_by(best.c.wpm.desc().nulls_last(), best.c.accuracy.desc(), best.c.created_at, best.c.record_id)
        .limit(bindparam("limit"))
    )


@cache
def distinct_query(bounded: bool) -> Select[Any]:
    """``DISTINCT ON (player_id)`` over every record of the period."""
    best = (
        select(*_columns(records))
        .where(*_in_period(records, bounded))
        .order_by(records.c.player_id, *_rank(records))
        .ext(distinct_on(records.c.player_id))
        .subquery("best")
    )
    return select(*_columns(best)).order_by(*_rank(best)).limit(bindparam("limit"))


def estimated_players(connection: Connection) -> float | None:
    """How many players have records, from the planner's statistics (``ANALYZE``); ``None`` before any."""
    row = connection.execute(_PLAYER_STATISTICS).first()
    if row is None or row.n_distinct is None:
        return None
    n_distinct, rows = float(row.n_distinct), max(float(row.reltuples or 0), 0.0)
    return n_distinct if n_distinct >= 0 else -n_distinct * rows  # negative: a fraction of the rows


def _rows(rows: Iterable[Row[Any]]) -> list[LeaderboardRow]:
    return [
        LeaderboardRow(
            player_id=row.player_id,
            wpm=row.wpm,
            accuracy=row.accuracy,
            record_id=row.record_id,
            created_at=row.created_at,
        )
        for row in rows
        if row.record_id is not None  # a player of the loose scan without a record in the period
    ]


def plan(connection: Connection, difficulty: str, period: str, limit: int) -> tuple[str, list[LeaderboardRow]]:
    """The leaderboard, and which query answered it: ``walk``, ``loose`` or ``distinct``."""
    values = parameters(difficulty, period, limit)
    bounded = values["since"] is not None
    players = estimated_players(connection)
    if players is None or players > loose_first(limit):
        walked = connection.execute(walk_query(bounded), values).all()
        if len(walked) == limit:
            return "walk", _rows(walked)
    if players is None or players <= MAX_LOOSE_PLAYERS:
        loose = connection.execute(loose_query(bounded), values).all()
        if not loose or loose[0].visited < MAX_LOOSE_PLAYERS:
            return "loose", _rows(loose)
    return "distinct", _rows(connection.execute(distinct_query(bounded), values))


def leaderboard(connection: Connection, difficulty: str, period: str, limit: int) -> list[LeaderboardRow]:
    """Each player's best record of *difficulty* in *period* (a key of :data:`PERIODS`), best first, at most
    *limit*."""
    return plan(connection, difficulty, period, limit)[1]
