"""Fixtures of the worker's unit tests: an in-process moto AWS with the jobs table and queue, and Lambda events."""

from __future__ import annotations

import base64
import json
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from starlette.exceptions import StarletteDeprecationWarning
from stratus_common.aws import reset_clients
from stratus_common.settings import get_settings

with warnings.catch_warnings():
    # starlette >= 1.x warns, on import, that its TestClient wants `httpx2` rather than `httpx`.
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from starlette.types import ASGIApp

TABLE = "acme-local-jobs"
QUEUE = "acme-local-jobs"
DLQ = "acme-local-jobs-dlq"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, no cached settings or clients."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name.endswith(
            ("_QUEUE_URL", "_DLQ_URL", "_TABLE_NAME", "_BUCKET_NAME", "_DATABASE_URL")
        ):
            monkeypatch.delenv(name)
    for name in ("STRATUS_BASE_PATH", "STRATUS_SERVICE", "SERVICE_NAME", "SERVICE_VERSION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    get_settings.cache_clear()
    reset_clients()
    yield
    get_settings.cache_clear()
    reset_clients()


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
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
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
        get_settings.cache_clear()
        reset_clients()
        yield Cloud(dynamodb=dynamodb, sqs=sqs, table=TABLE, queue_url=queue_url, dlq_url=dlq_url)
        reset_clients()


@pytest.fixture
def make_client() -> Callable[[ASGIApp], TestClient]:
    """Return a factory of TestClients (imported here, away from starlette's import-time warning)."""

    def build(app: ASGIApp) -> TestClient:
        return TestClient(app)

    return build


def sqs_record(
    message: dict[str, Any], *, queue_arn: str = f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}"
) -> dict[str, Any]:
    """Turn a message from ReceiveMessage into the record an SQS event source mapping gives Lambda."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def sqs_event() -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """Build the SQS event a Lambda receives from a list of received messages."""

    def build(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [sqs_record(message) for message in messages]}

    return build


@pytest.fixture
def http_event() -> Callable[..., dict[str, Any]]:
    """Build an API Gateway HTTP API event, payload format 2.0, as API Gateway sends it to a Lambda."""

    def build(
        method: str, raw_path: str, *, route_key: str = "ANY /worker/{proxy+}", body: Any = None
    ) -> dict[str, Any]:
        headers = {
            "accept": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            "x-forwarded-for": "192.0.2.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.10",
                    "userAgent": "pytest",
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": route_key,
                "stage": "$default",
                "time": "10/Mar/2026:12:00:00 +0000",
                "timeEpoch": 1773144000000,
            },
            "isBase64Encoded": False,
        }
        if route_key.endswith("{proxy+}"):
            prefix = route_key.split(" ", 1)[1].removesuffix("{proxy+}")
            event["pathParameters"] = {"proxy": raw_path.removeprefix(prefix)}
        if body is not None:
            raw = json.dumps(body).encode()
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(raw))
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        return event

    return build
