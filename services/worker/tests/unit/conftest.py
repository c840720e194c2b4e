"""Fixtures of the worker's unit tests: an in-process moto AWS with the jobs table and queue, and SQS batches.

The environment and moto come from :mod:`stratus_common.testing`; Lambda events from ``stratus.events.samples``.
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

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

TABLE = "acme-local-jobs"
QUEUE = "acme-local-jobs"
DLQ = "acme-local-jobs-dlq"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, no cached settings or clients."""
    with testing.clean_environment(monkeypatch):
        yield


@dataclass
class Cloud:
    """The moto-backed AWS of a test: the jobs table and queue, and clients to inspect them."""

    dynamodb: DynamoDBClient
    sqs: SQSClient
    table: str
    queue_url: str
    dlq_url: str

    def receive(self, *, max_messages: int = 10) -> list[dict[str, Any]]:
        """Receive messages from the jobs queue as SQS hands them to Lambda (with attributes)."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def item(self, job_id: str) -> dict[str, Any] | None:
        """Return the raw DynamoDB item of a job."""
        return self.dynamodb.get_item(TableName=self.table, Key={"job_id": {"S": job_id}}, ConsistentRead=True).get(
            "Item"
        )


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """moto's in-process AWS with the jobs table, queue and DLQ; the variables the local cloud would set."""
    with testing.mocked_aws(monkeypatch) as session:
        dynamodb = session.client("dynamodb")
        sqs = session.client("sqs")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": "300",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )["QueueUrl"]
        monkeypatch.setenv("JOB_RECORDS_TABLE_NAME", TABLE)
        monkeypatch.setenv("JOBS_QUEUE_URL", queue_url)
        monkeypatch.setenv("JOBS_DLQ_URL", dlq_url)
        testing.forget_caches()
        yield Cloud(dynamodb=dynamodb, sqs=sqs, table=TABLE, queue_url=queue_url, dlq_url=dlq_url)


@pytest.fixture
def sqs_event() -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """The SQS batch Lambda receives for messages received from the jobs queue."""
    return functools.partial(samples.sqs_delivery, queue=QUEUE)
