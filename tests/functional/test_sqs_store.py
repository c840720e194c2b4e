"""The local AWS's SQS (moto with stratus.local.sqs_store) keeps SQS's semantics, at any depth."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def sqs(aws_endpoint: tuple[str, int]) -> Any:
    host, port = aws_endpoint
    return boto3.client(
        "sqs", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def queue(sqs: Any, name: str, **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, invisible, delayed = (int(attributes[n]) for n in names)
    return visible, invisible, delayed


def receive(sqs: Any, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, AttributeNames=["All"], **kwargs).get("Messages", []))


def test_a_received_message_is_invisible_until_its_visibility_timeout_ends(sqs: Any) -> None:
    url = queue(sqs, "visibility", VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    (first,) = receive(sqs, url)
    assert receive(sqs, url) == []
    assert counts(sqs, url) == (0, 1, 0)
    time.sleep(1.2)
    (again,) = receive(sqs, url)
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["ReceiptHandle"] != first["ReceiptHandle"]


def test_change_message_visibility_to_zero_makes_it_receivable_at_once(sqs: Any) -> None:
    url = queue(sqs, "change", VisibilityTimeout="30")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    (message,) = receive(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert [m["Body"] for m in receive(sqs, url)] == ["m"]


def test_a_receive_with_visibility_zero_returns_each_message_once_and_leaves_them_visible(sqs: Any) -> None:
    # A ReceiveMessage answers distinct messages (each message, once): "Amazon SQS ... returns up to the
    # MaxNumberOfMessages" messages; with VisibilityTimeout 0 they are receivable again by the next call.
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    url = queue(sqs, "peek")
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert sorted(m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=0)) == ["a", "b"]
    assert sorted(m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=0)) == ["a", "b"]
    assert counts(sqs, url)[0] == 2


def test_after_max_receive_count_receives_the_message_moves_to_the_dlq(sqs: Any) -> None:
    dlq = queue(sqs, "redrive-dlq")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = queue(sqs, "redrive", VisibilityTimeout="30",
                RedrivePolicy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"}))  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for expected in ("1", "2"):
        (message,) = receive(sqs, url)
        assert message["Attributes"]["ApproximateReceiveCount"] == expected
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert receive(sqs, url) == []
    (dead,) = receive(sqs, dlq)
    assert dead["Body"] == "poison"
    assert counts(sqs, url) == (0, 0, 0)


def test_a_delayed_message_becomes_visible_after_its_delay(sqs: Any) -> None:
    url = queue(sqs, "delay")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert receive(sqs, url) == []
    assert counts(sqs, url) == (0, 0, 1)
    time.sleep(1.2)
    assert [m["Body"] for m in receive(sqs, url)] == ["later"]


def test_deletes_take_current_or_old_handles_once_and_refuse_unknown_ones(sqs: Any) -> None:
    url = queue(sqs, "delete", VisibilityTimeout="0")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    (first,) = receive(sqs, url)
    (second,) = receive(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])  # already deleted: fine
    assert receive(sqs, url) == []
    with pytest.raises(ClientError) as caught:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert caught.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_long_poll_returns_as_soon_as_a_message_arrives(sqs: Any) -> None:
    url = queue(sqs, "longpoll")
    threading.Timer(0.5, lambda: sqs.send_message(QueueUrl=url, MessageBody="wake")).start()
    started = time.monotonic()
    messages = receive(sqs, url, WaitTimeSeconds=5)
    assert [m["Body"] for m in messages] == ["wake"]
    assert time.monotonic() - started < 3


def test_every_message_of_a_deep_queue_is_delivered_once_and_costs_stay_flat(sqs: Any) -> None:
    url = queue(sqs, "deep", VisibilityTimeout="60")
    for start in range(0, 3000, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)])
    assert counts(sqs, url) == (3000, 0, 0)
    seen: list[str] = []
    while batch := receive(sqs, url, MaxNumberOfMessages=10):
        seen.extend(m["Body"] for m in batch)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    assert sorted(seen, key=int) == [str(i) for i in range(3000)]
    assert counts(sqs, url) == (0, 0, 0)


def test_fifo_queues_keep_moto_semantics(sqs: Any) -> None:
    url = queue(sqs, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for body in ("a", "a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["a", "b"]


def test_purge_empties_a_queue(sqs: Any) -> None:
    url = queue(sqs, "purge")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    sqs.purge_queue(QueueUrl=url)
    assert receive(sqs, url) == []
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert [m["Body"] for m in receive(sqs, url)] == ["after"]
