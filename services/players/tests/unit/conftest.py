"""Fixtures of the players' unit tests: an in-process moto AWS with the service's tables, queue and secret,
callers signed in as the gateway's authorizer would say, and SQS batches of record events.

Who calls is what the authorizer put in ``requestContext.authorizer.lambda``; Mangum hands the event to the app as
``scope["aws.event"]``. :func:`stratus_common.testing.client_for` does the same for a TestClient, so the routes see
exactly what they see behind API Gateway; ``test_players_lambda.py`` goes through the real handler with full events
(``stratus.events.samples.http``).

moto's DynamoDB is serialised as the local cloud serialises it (``stratus.local.aws_server._serialise_dynamodb``):
in-process, two threads' conditional writes would otherwise interleave, which DynamoDB never does.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from stratus_common import testing

from stratus.events import samples

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fastapi.testclient import TestClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

PLAYERS_TABLE = "acme-local-players"
STATS_TABLE = "acme-local-player-stats"
QUEUE = "acme-local-record-events"
DLQ = "acme-local-record-events-dlq"
MAX_RECEIVE_COUNT = 5
SIGNING_KEY = "k" * 64


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, no cached settings, clients or secrets."""
    with testing.clean_environment(monkeypatch):
        yield


@dataclass
class Cloud:
    """The moto-backed AWS of a test: the service's tables, queue and DLQ, and clients to inspect them."""

    dynamodb: DynamoDBClient
    sqs: SQSClient
    players_table: str
    stats_table: str
    queue_url: str
    dlq_url: str

    def send(self, body: str) -> str:
        """Send a message to record-events, as the records service does; return its id."""
        return self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)["MessageId"]

    def receive(self, *, max_messages: int = 10) -> list[dict[str, Any]]:
        """Receive messages from record-events as SQS hands them to Lambda (with attributes)."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"]
        )
        return list(response.get("Messages", []))

    def stats_items(self, player_id: str) -> list[dict[str, Any]]:
        """Every item of *player_id* in the player-stats table (the totals and the markers)."""
        response = self.dynamodb.query(
            TableName=self.stats_table,
            KeyConditionExpression="player_id = :p",
            ExpressionAttributeValues={":p": {"S": player_id}},
            ConsistentRead=True,
        )
        return list(response.get("Items", []))


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """moto's in-process AWS with the players' tables, queue, DLQ and cursor secret; the variables Stratus sets."""
    testing.serialise_moto_dynamodb(monkeypatch)
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
            TableName=STATS_TABLE,
            KeySchema=[
                {"AttributeName": "player_id", "KeyType": "HASH"},
                {"AttributeName": "entry", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "player_id", "AttributeType": "S"},
                {"AttributeName": "entry", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": "60",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
                ),
            },
        )["QueueUrl"]
        secret_arn = session.client("secretsmanager").create_secret(
            Name="acme-local-cursor-signing", SecretString=SIGNING_KEY
        )["ARN"]
        monkeypatch.setenv("PLAYERS_TABLE_NAME", PLAYERS_TABLE)
        monkeypatch.setenv("PLAYER_STATS_TABLE_NAME", STATS_TABLE)
        monkeypatch.setenv("RECORD_EVENTS_QUEUE_URL", queue_url)
        monkeypatch.setenv("RECORD_EVENTS_DLQ_URL", dlq_url)
        monkeypatch.setenv("CURSOR_SIGNING_SECRET_ARN", secret_arn)
        testing.forget_caches()
        yield Cloud(
            dynamodb=dynamodb,
            sqs=sqs,
            players_table=PLAYERS_TABLE,
            stats_table=STATS_TABLE,
            queue_url=queue_url,
            dlq_url=dlq_url,
        )


@pytest.fixture
def caller(cloud: Cloud) -> Callable[..., TestClient]:
    """``caller("alice")``: a TestClient of the app signed in as user *alice*; ``kind="client"`` for a machine
    client; ``caller(None)`` for a request that came through no authorizer."""
    from players.main import app

    return functools.partial(testing.client_for, app)


def record_event(
    record_id: str, player_id: str = "alice", /, *, wpm: float = 60, accuracy: float = 95, **changes: Any
) -> dict[str, Any]:
    """A record-events message body, as the records service sends it; *changes* replace or add fields."""
    body: dict[str, Any] = {
        "record_id": record_id,
        "player_id": player_id,
        "text_id": "text-1",
        "difficulty": "medium",
        "wpm": wpm,
        "accuracy": accuracy,
        "duration_seconds": 42.5,
        "created_at": "2026-03-10T12:00:00Z",
    }
    body.update(changes)
    return body


@pytest.fixture
def make_record_event() -> Callable[..., dict[str, Any]]:
    """Build a record-events message body (see :func:`record_event`)."""
    return record_event


@pytest.fixture
def sqs_event() -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """The SQS batch Lambda receives for messages received from record-events."""
    return functools.partial(samples.sqs_delivery, queue=QUEUE)
