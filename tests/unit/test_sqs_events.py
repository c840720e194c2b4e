"""SQS -> Lambda records and partial batch responses, against AWS's published shapes."""

from __future__ import annotations

import json

import pytest

from stratus.events import sqs
from tests.events import load_event

QUEUE_ARN = "arn:aws:sqs:us-east-2:123456789012:my-queue"

RECEIVED = {
    "MessageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
    "ReceiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
    "MD5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
    "Body": "Test message.",
    "Attributes": {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1545082649183",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1545082649185",
    },
    "MessageAttributes": {
        "testAttr": {"StringValue": "100", "DataType": "Number"},
        "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
    },
}


def test_a_received_message_becomes_the_record_lambda_delivers() -> None:
    record = sqs.record(RECEIVED, queue_arn=QUEUE_ARN, region="us-east-2")
    reference = load_event("sqsEvent.json")["Records"][0]
    assert set(record) == set(reference)
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == QUEUE_ARN
    assert record["awsRegion"] == "us-east-2"
    assert record["body"] == "Test message."
    assert record["attributes"] == reference["attributes"]
    assert record["messageAttributes"]["testAttr"] == {
        "stringValue": "100",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


def test_the_md5_of_message_attributes_is_passed_on_only_when_sqs_gave_one() -> None:
    with_md5 = {**RECEIVED, "MD5OfMessageAttributes": "7c815262be77a62f56671125069ca888"}
    assert sqs.record(with_md5, queue_arn=QUEUE_ARN, region="us-east-2")["md5OfMessageAttributes"] == (
        "7c815262be77a62f56671125069ca888"
    )
    plain = {k: v for k, v in RECEIVED.items() if k != "MessageAttributes"}
    assert "md5OfMessageAttributes" not in sqs.record(plain, queue_arn=QUEUE_ARN, region="us-east-2")


BATCH = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (b"", []),
        (b"null", []),
        (b"{}", []),
        (b'{"batchItemFailures": []}', []),
        (b'{"batchItemFailures": null}', []),
        (b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', ["b"]),
        (b'{"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "b"}]}', ["b"]),
        (b'{"statusCode": 200}', []),
        (b"not json", BATCH),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', BATCH),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', BATCH),
        (b'{"batchItemFailures": [{"itemIdentfier": "b"}]}', BATCH),
        (b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', BATCH),
        (b'{"batchItemFailures": "b"}', BATCH),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(response: bytes, failed: list[str]) -> None:
    assert sqs.failed_ids(response, BATCH) == failed


def test_the_event_wraps_records() -> None:
    record = sqs.record(RECEIVED, queue_arn=QUEUE_ARN, region="us-east-2")
    assert json.loads(json.dumps(sqs.event([record]))) == {"Records": [record]}
