"""SQS -> Lambda as a function receives it: the record of each message, and what a partial batch response does.

The queue lab (tests/e2e/lab.py) consumes queue ``qlab-dev-tasks`` with ``consumer.main.handler``, which appends
every record it gets to ``<root>/deliveries.jsonl`` and reports a message whose body starts with ``bad`` as a
batch item failure. This module sends its messages once, with bodies of its own, and checks the records they caused
against AWS's documented record (tests/events/sqsEvent.json is AWS's sample, from aws-powertools' tests/events).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from stratus.local.client import client
from stratus.testing.launcher import DevStack
from tests.events import load_event

pytestmark = pytest.mark.e2e

WITH_SQS = "DOC https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (example Amazon SQS message event)"
ERRORS = "DOC https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"
RECEIVE = "DOC https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Message.html"
MD5_CAPTURE = (
    "OBS captured SQS events with attributes carry md5OfMessageAttributes (SQS's MD5 of them), e.g. the "
    "ap-south-1 notification-queue event quoted in serverless-framework docs and a eu-west-1 FIFO capture "
    "(ticker-ohlcv.fifo); powertools-lambda-typescript's SqsRecordSchema has it optional"
)


@dataclass
class Sent:
    """The messages this module sent (their SendMessage answers) and the records the function got for them."""

    answers: dict[str, dict[str, Any]]  # body -> SendMessage response
    records: dict[str, list[dict[str, Any]]]  # body -> the records delivered for it, in order

    def first(self, body: str) -> dict[str, Any]:
        return self.records[body][0]


def sqs_client(stack: DevStack) -> Any:
    return client(stack.dev_state(), "sqs")


def records(stack: DevStack) -> list[dict[str, Any]]:
    path = stack.root / "deliveries.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [entry["record"] for line in lines if "record" in (entry := json.loads(line))]


@pytest.fixture(scope="module")
def sent(queue_lab: DevStack) -> Iterator[Sent]:
    client = sqs_client(queue_lab)
    url = client.get_queue_url(QueueName="qlab-dev-tasks")["QueueUrl"]
    tag = uuid.uuid4().hex[:8]
    plain, tagged, bad = f"plain-{tag}", f"tagged-{tag}", f"bad-{tag}"
    answers = {
        plain: client.send_message(QueueUrl=url, MessageBody=plain),
        tagged: client.send_message(
            QueueUrl=url,
            MessageBody=tagged,
            MessageAttributes={
                "colour": {"DataType": "String", "StringValue": "blue"},
                "count": {"DataType": "Number", "StringValue": "3"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
            },
        ),
        bad: client.send_message(QueueUrl=url, MessageBody=bad),
    }
    deadline = time.monotonic() + 30
    while True:
        got: dict[str, list[dict[str, Any]]] = {body: [] for body in answers}
        for record in records(queue_lab):
            if record["body"] in got:
                got[record["body"]].append(record)
        if all(got[b] for b in (plain, tagged)) and len(got[bad]) >= 2:  # the failed one came back once more
            break
        assert time.monotonic() < deadline, f"deliveries did not arrive: {got}\n{queue_lab.output()[-3000:]}"
        time.sleep(0.1)
    yield Sent(answers, got)


def body_of(sent: Sent, prefix: str) -> str:
    return next(body for body in sent.answers if body.startswith(prefix))


@pytest.mark.aws(WITH_SQS)
def test_a_record_has_the_fields_of_awss_sample(sent: Sent) -> None:
    reference = load_event("sqsEvent.json")["Records"][0]
    assert set(sent.first(body_of(sent, "plain"))) == set(reference)


@pytest.mark.aws(WITH_SQS + " (eventSource aws:sqs, eventSourceARN the queue's ARN, awsRegion)")
def test_a_record_names_its_source_queue(sent: Sent) -> None:
    record = sent.first(body_of(sent, "plain"))
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:qlab-dev-tasks"
    assert record["awsRegion"] == "us-east-1"


@pytest.mark.aws(RECEIVE + " (MessageId: the id SendMessage returned)")
def test_the_message_id_is_the_one_sendmessage_returned(sent: Sent) -> None:
    body = body_of(sent, "plain")
    assert sent.first(body)["messageId"] == sent.answers[body]["MessageId"]


@pytest.mark.aws(RECEIVE + " (MD5OfBody: an MD5 digest of the non-URL-encoded message body string)")
def test_md5_of_body_is_the_md5_of_the_body(sent: Sent) -> None:
    body = body_of(sent, "plain")
    assert sent.first(body)["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()  # SQS's digest


@pytest.mark.aws(WITH_SQS + " (attributes: ApproximateReceiveCount, SentTimestamp, SenderId, "
                 "ApproximateFirstReceiveTimestamp, all strings)")  # fmt: skip
def test_system_attributes_are_strings_and_timestamps_are_epoch_milliseconds(sent: Sent) -> None:
    attributes = sent.first(body_of(sent, "plain"))["attributes"]
    assert set(attributes) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                               "ApproximateFirstReceiveTimestamp"}  # fmt: skip
    assert all(isinstance(value, str) for value in attributes.values())
    sent_ms, first_ms = int(attributes["SentTimestamp"]), int(attributes["ApproximateFirstReceiveTimestamp"])
    assert abs(sent_ms / 1000 - time.time()) < 600
    assert first_ms >= sent_ms
    assert attributes["ApproximateReceiveCount"] == "1"


@pytest.mark.aws(WITH_SQS + " (messageAttributes: stringValue, stringListValues, binaryListValues, dataType)")
def test_message_attributes_are_camel_cased_with_their_list_fields(sent: Sent) -> None:
    attributes = sent.first(body_of(sent, "tagged"))["messageAttributes"]
    assert attributes["colour"] == {"stringValue": "blue", "stringListValues": [], "binaryListValues": [],
                                    "dataType": "String"}  # fmt: skip
    assert attributes["count"]["dataType"] == "Number" and attributes["count"]["stringValue"] == "3"


@pytest.mark.aws(RECEIVE + " (BinaryValue); " + WITH_SQS + " (JSON events carry binary as base64)")
def test_a_binary_attribute_arrives_base64_encoded(sent: Sent) -> None:
    blob = sent.first(body_of(sent, "tagged"))["messageAttributes"]["blob"]
    assert blob["dataType"] == "Binary"
    assert base64.b64decode(blob["binaryValue"]) == b"\x00\x01\xff"


@pytest.mark.aws(MD5_CAPTURE)
def test_a_message_with_attributes_carries_sqss_md5_of_them(sent: Sent) -> None:
    body = body_of(sent, "tagged")
    assert sent.first(body)["md5OfMessageAttributes"] == sent.answers[body]["MD5OfMessageAttributes"]


@pytest.mark.aws(
    "OBS aws-powertools tests/events/sqsEvent.json and the with-sqs.html example: records of messages "
    "sent without attributes have an empty messageAttributes and no md5OfMessageAttributes"
)
def test_a_message_without_attributes_has_no_attributes_or_their_md5(sent: Sent) -> None:
    record = sent.first(body_of(sent, "plain"))
    assert record["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in record


@pytest.mark.aws(ERRORS + " (batchItemFailures: the failed message becomes visible again and is retried)")
def test_a_reported_failure_is_delivered_again_with_a_higher_receive_count(sent: Sent) -> None:
    deliveries = sent.records[body_of(sent, "bad")]
    assert [d["attributes"]["ApproximateReceiveCount"] for d in deliveries[:2]] == ["1", "2"]
    assert deliveries[0]["messageId"] == deliveries[1]["messageId"]
    assert deliveries[0]["receiptHandle"] != deliveries[1]["receiptHandle"]  # each receive has its own handle


@pytest.mark.aws(ERRORS + " (messages not reported as failures are deleted: delivered once)")
def test_a_message_not_reported_as_failed_is_deleted_after_its_batch(queue_lab: DevStack, sent: Sent) -> None:
    time.sleep(2.5)  # past the queue's visibility timeout (2 s): an undeleted message would come back
    body = body_of(sent, "plain")
    assert [r["messageId"] for r in records(queue_lab) if r["body"] == body] == [sent.answers[body]["MessageId"]]
