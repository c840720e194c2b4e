"""When the database or DynamoDB cannot answer: a quick 503 with Retry-After, never a hung request; health says so."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
import pytest
from records import db
from records.main import handler

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

Caller = Callable[..., "TestClient"]
GAME = {"player_id": "alice", "text_id": "text-1", "wpm": 72.5, "accuracy": 97.1, "duration_seconds": 41.3}


def assert_unavailable(response: Any, code: str = "database_unavailable") -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    error = response.json()["error"]
    assert error["code"] == code
    assert "retry" in error["message"]
    assert error["details"] == {"retry_after_seconds": 5}


@pytest.fixture
def database_down(game: Any, closed_port_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The players and texts are there, but nothing listens where RECORDS_DATABASE_URL points."""
    monkeypatch.setenv("RECORDS_DATABASE_URL", closed_port_url)
    db.reset_engine()
    return closed_port_url


@pytest.fixture
def silent_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A URL of a server that accepts TCP connections and never answers (a database that hangs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        monkeypatch.setattr(db, "CONNECT_TIMEOUT_SECONDS", 1)
        yield f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/records"


def test_a_post_with_the_database_down_is_a_quick_503(caller: Caller, database_down: str) -> None:
    started = time.monotonic()
    response = caller("alice").post("/", json=GAME)
    assert time.monotonic() - started < 3
    assert_unavailable(response)


def test_reads_with_the_database_down_are_503(caller: Caller, database_down: str) -> None:
    client = caller("alice")
    assert_unavailable(client.get("/leaderboard?difficulty=easy"))
    assert_unavailable(client.get("/players/alice"))
    assert_unavailable(client.get("/0b7c1f0e-1c4a-4a57-9d0e-3c1c4a4b5d6e"))


def test_a_database_that_never_answers_is_a_503_after_the_connect_timeout(
    caller: Caller, game: Any, silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", silent_server)
    db.reset_engine()
    started = time.monotonic()
    response = caller("alice").get("/leaderboard?difficulty=easy")
    assert time.monotonic() - started < 4
    assert_unavailable(response)


def test_a_query_stuck_behind_a_lock_gives_up(caller: Caller, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "LOCK_TIMEOUT_MS", 300)
    with psycopg.connect(database) as other:
        other.execute("LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = caller("alice").get("/leaderboard?difficulty=easy")
        assert time.monotonic() - started < 3
        other.rollback()
    assert_unavailable(response)


def test_the_database_comes_back_without_a_restart(caller: Caller, game: Any, database: str) -> None:
    client = caller("alice")
    assert client.post("/", json=GAME).status_code == 201
    # WHEN every server connection is cut (a failover, an idle timeout while the environment was frozen)
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'records' AND pid <> pg_backend_pid()"
        )
    # THEN the next request gets a new connection (pool_pre_ping) and succeeds
    assert client.post("/", json=GAME).status_code == 201


def test_dynamodb_down_is_a_503(caller: Caller, game: Any, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTS_TABLE_NAME", "no-such-table")
    assert_unavailable(caller("alice").post("/", json=GAME), code="lookup_unavailable")


def test_credentials_come_from_the_secret(caller: Caller, game: Any, database: str, monkeypatch: Any) -> None:
    # GIVEN the URL without credentials and the secret that holds them, as in AWS
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="records-db", SecretString=json.dumps({"username": "postgres", "password": "pw"})
    )
    monkeypatch.setenv("RECORDS_DATABASE_URL", database.replace("postgres@", "nobody@"))
    monkeypatch.setenv("RECORDS_DATABASE_SECRET_ARN", secret["ARN"])
    db.reset_engine()
    assert caller("alice").post("/", json=GAME).status_code == 201


# ------------------------------------------------------------------------------------------------ health


def test_direct_health_reports_a_reachable_database(database: str) -> None:
    assert handler({"action": "health"}, None) == {"status": "healthy", "database": "reachable"}


def test_direct_health_reports_an_unreachable_database_without_secrets(
    closed_port_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", closed_port_url.replace("postgres@", "postgres:hunter2@"))
    started = time.monotonic()
    answer = handler({"action": "health"}, None)
    assert time.monotonic() - started < 3
    assert answer == {"status": "unhealthy", "database": "unreachable: connection refused"}


def test_direct_health_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = handler({"action": "health"}, None)
    assert answer == {"status": "unhealthy", "database": "unreachable: not configured (RECORDS_DATABASE_URL)"}


def test_an_unknown_action_names_the_known_ones() -> None:
    answer = handler({"action": "explode"}, None)
    assert answer["error"]["code"] == "unknown_action"
    assert answer["error"]["details"] == {"actions": ["health"]}


def test_http_health_and_readiness_report_the_database(client: TestClient, database: str) -> None:
    body = client.get("/health").json()
    assert (body["status"], body["service"], body["database"]) == ("healthy", "records", "reachable")
    assert client.get("/readiness").json() == {"status": "ready"}


def test_http_health_and_readiness_with_the_database_down(
    client: TestClient, closed_port_url: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("RECORDS_DATABASE_URL", closed_port_url)
    body = client.get("/health").json()
    assert (body["status"], body["database"]) == ("unhealthy", "unreachable: connection refused")
    readiness = client.get("/readiness")
    assert readiness.status_code == 503
    assert readiness.json()["checks"] == {"database": "unavailable"}  # the detail is logged, never answered
