"""Fixtures of the records service's unit tests: a real PostgreSQL, an in-process moto AWS, signed-in callers.

- **PostgreSQL**: one embedded server for the whole session (started as the local cloud starts it:
  ``stratus.local.postgres.PostgresServer``, in a temporary directory), and a fresh database per test module, migrated
  by :mod:`records.migrate`; :func:`database` points ``RECORDS_DATABASE_URL`` at it and empties the tables before each
  test. The psycopg connections are real TCP connections, which moto's mock does not touch.
- **AWS**: :func:`cloud` is moto's ``mock_aws`` with the players and texts tables, the ``record-events`` queue and the
  ``cursor-signing`` secret.
- **Callers**: :func:`caller` puts the gateway authorizer's context where Mangum puts it
  (``scope["aws.event"]["requestContext"]["authorizer"]["lambda"]``: :func:`stratus_common.testing.client_for`), so
  the routes see what they see behind API Gateway; ``test_records_lambda.py`` goes through the real handler with full
  events (``stratus.events.samples.http``).
"""

from __future__ import annotations

import functools
import itertools
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import psycopg
import pytest
from stratus_common import testing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fastapi.testclient import TestClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

PLAYERS_TABLE = "acme-local-players"
TEXTS_TABLE = "acme-local-texts"
QUEUE = "acme-local-record-events"
SIGNING_KEY = "k" * 64

_database_numbers = itertools.count(1)


# ------------------------------------------------------------------------------------------------ environment


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, no resource variables, no caches."""
    from records import db

    with testing.clean_environment(monkeypatch):
        db.reset_engine()
        yield
    db.reset_engine()


# ------------------------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One embedded PostgreSQL for the session; its admin URL (database ``postgres``).

    Its data lives in a directory of its own under the system's temporary directory, not pytest's: as root the
    server runs as another user, who must traverse the parents, and pytest keeps its base directory at 0700.
    """
    from stratus.local.postgres import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="records-tests-pg-"))
    server = PostgresServer("records", "records", root / "data")
    try:
        server.start(fresh=True)
        yield f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def create_database(admin_url: str, prefix: str = "records") -> str:
    """A new, empty database on the session's server; its URL."""
    name = f"{prefix}_{next(_database_numbers)}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def empty_database(postgres: str) -> str:
    """The URL of a new database that was never migrated."""
    return create_database(postgres, "empty")


@pytest.fixture(scope="module")
def migrated_database(postgres: str) -> str:
    """A database for the test module, migrated to head by records.migrate; its URL."""
    from records import migrate

    url = create_database(postgres)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECORDS_DATABASE_URL", url)
        migrate.upgrade()
    return url


@pytest.fixture
def database(migrated_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``RECORDS_DATABASE_URL`` set to the module's migrated database, emptied; its URL."""
    from records import db

    with psycopg.connect(migrated_database, autocommit=True) as connection:
        connection.execute("TRUNCATE records, record_outbox")
    monkeypatch.setenv("RECORDS_DATABASE_URL", migrated_database)
    db.reset_engine()
    yield migrated_database
    db.reset_engine()


@pytest.fixture
def sql(database: str) -> Iterator[psycopg.Connection[Any]]:
    """A psycopg connection (autocommit, dict rows) to the test's database, to look at what was written."""
    from psycopg.rows import dict_row

    with psycopg.connect(database, autocommit=True, row_factory=dict_row) as connection:
        yield connection


def insert_record(url: str, player_id: str, *, wpm: float, accuracy: float = 95.0, **values: Any) -> UUID:
    """Insert a record directly (an explicit ``created_at``, ``difficulty`` etc. may be given); its id."""
    row: dict[str, Any] = {
        "record_id": uuid4(),
        "player_id": player_id,
        "text_id": "text-1",
        "difficulty": "medium",
        "wpm": Decimal(str(wpm)),
        "accuracy": Decimal(str(accuracy)),
        "duration_seconds": Decimal("30.5"),
        "created_at": datetime.now(UTC),
    }
    row.update(values)
    columns = ", ".join(row)
    placeholders = ", ".join(f"%({name})s" for name in row)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"INSERT INTO records ({columns}) VALUES ({placeholders})", row)
    return UUID(str(row["record_id"]))


@pytest.fixture
def add_record(database: str) -> Callable[..., UUID]:
    """``add_record("alice", wpm=70, created_at=..., difficulty="hard")``: a record written straight to the table."""

    def add(player_id: str, **values: Any) -> UUID:
        return insert_record(database, player_id, **values)

    return add


@pytest.fixture
def closed_port_url() -> str:
    """A database URL where nothing listens: connections are refused at once."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/records"


# ------------------------------------------------------------------------------------------------ AWS


@dataclass
class Cloud:
    """The moto-backed AWS of a test: the players and texts tables, the record-events queue."""

    dynamodb: DynamoDBClient
    sqs: SQSClient
    queue_url: str

    def add_player(self, player_id: str) -> None:
        self.dynamodb.put_item(
            TableName=PLAYERS_TABLE,
            Item={"player_id": {"S": player_id}, "display_name": {"S": player_id.title()}},
        )

    def add_text(self, text_id: str, difficulty: str = "medium") -> None:
        self.dynamodb.put_item(
            TableName=TEXTS_TABLE,
            Item={
                "text_id": {"S": text_id},
                "difficulty": {"S": difficulty},
                "content": {"S": "the quick brown fox"},
                "random_key": {"N": "0.5"},
            },
        )

    def messages(self) -> list[dict[str, Any]]:
        """Every message on the queue (received and made visible again at once), as parsed JSON bodies."""
        bodies: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            received = batch.get("Messages", [])
            if not received:
                return bodies
            bodies.extend(json.loads(message["Body"]) for message in received)
            for message in received:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """moto's in-process AWS with the tables, the queue and the cursor-signing secret; the variables Stratus sets for
    the service."""
    testing.serialise_moto_dynamodb(monkeypatch)  # the threads of the concurrency test
    with testing.mocked_aws(monkeypatch) as session:
        dynamodb = session.client("dynamodb")
        sqs = session.client("sqs")
        dynamodb.create_table(
            TableName=PLAYERS_TABLE,
            KeySchema=[{"AttributeName": "player_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "player_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=TEXTS_TABLE,
            KeySchema=[{"AttributeName": "text_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "text_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        secret_arn = session.client("secretsmanager").create_secret(
            Name="acme-local-cursor-signing", SecretString=SIGNING_KEY
        )["ARN"]
        monkeypatch.setenv("PLAYERS_TABLE_NAME", PLAYERS_TABLE)
        monkeypatch.setenv("TEXTS_TABLE_NAME", TEXTS_TABLE)
        monkeypatch.setenv("RECORD_EVENTS_QUEUE_URL", queue_url)
        monkeypatch.setenv("CURSOR_SIGNING_SECRET_ARN", secret_arn)
        testing.forget_caches()
        yield Cloud(dynamodb=dynamodb, sqs=sqs, queue_url=queue_url)


@pytest.fixture
def game(cloud: Cloud, database: str) -> Cloud:
    """The cloud and a database with players alice and bob and texts text-1 (medium) and text-hard (hard)."""
    for player in ("alice", "bob"):
        cloud.add_player(player)
    cloud.add_text("text-1", "medium")
    cloud.add_text("text-hard", "hard")
    return cloud


# ------------------------------------------------------------------------------------------------ callers


@pytest.fixture
def caller(cloud: Cloud) -> Callable[..., TestClient]:
    """``caller("alice")``: a TestClient of the app signed in as user *alice*; ``kind="client"`` for a machine
    client; ``caller(None)`` for a request that came through no authorizer. AWS is moto's (:func:`cloud`): the
    history's cursors are signed with its secret."""
    from records.main import app

    return functools.partial(testing.client_for, app)


@pytest.fixture
def client() -> TestClient:
    """A TestClient of the records app, with no caller (the probes need none)."""
    from records.main import app

    return testing.client_for(app)
