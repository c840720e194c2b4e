"""records.migrate: the migrations function, from an empty database, again, at once, and from a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from records import migrate
from records.models import metadata
from sqlalchemy import create_engine

TABLES = {"alembic_version", "records", "record_outbox"}
INDEXES = {
    "records_pkey",
    "records_leaderboard_idx",
    "records_player_best_idx",
    "records_player_history_idx",
    "records_period_idx",
    "record_outbox_pkey",
    "record_outbox_unsent_idx",
    "record_outbox_sent_idx",
}


def names(url: str, query: str) -> set[str]:
    with psycopg.connect(url) as connection:
        return {row[0] for row in connection.execute(query)}


def tables(url: str) -> set[str]:
    return names(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")


def test_migrate_up_from_an_empty_database_and_again(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a database that was never migrated
    monkeypatch.setenv("RECORDS_DATABASE_URL", empty_database)
    assert tables(empty_database) == set()
    # WHEN the migrations function is invoked
    first = migrate.handler({}, None)
    # THEN it created the tables and indexes, and says where it went from and to
    assert first == {"status": "ok", "revision": "0001", "previous": None}
    assert tables(empty_database) == TABLES
    assert names(empty_database, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'") >= INDEXES
    # AND running it again changes nothing
    assert migrate.handler({}, None) == {"status": "ok", "revision": "0001", "previous": "0001"}
    assert tables(empty_database) == TABLES


def test_the_models_match_the_migrations(migrated_database: str) -> None:
    engine = create_engine(migrated_database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_migration_that_cannot_connect_fails_the_invocation(
    closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", closed_port_url)
    with pytest.raises(Exception, match="refused"):
        migrate.handler({}, None)


def test_python_m_records_migrate_twice_at_once(empty_database: str) -> None:
    # GIVEN a database never migrated, WHEN two `python -m records.migrate` start at once (a deploy and a person)
    env = {**os.environ, "RECORDS_DATABASE_URL": empty_database}
    command = [sys.executable, "-m", "records.migrate"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in "ab"]
    outputs = [run.communicate(timeout=120) for run in runs]
    # THEN both succeed: the advisory lock makes one wait for the other, which then has nothing to do
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
    answers = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    assert {answer["status"] for answer in answers} == {"ok"}
    assert sorted(str(answer["previous"]) for answer in answers) == ["0001", "None"]
    assert tables(empty_database) == TABLES
    assert names(empty_database, "SELECT version_num FROM alembic_version") == {"0001"}
