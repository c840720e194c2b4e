"""SQS -> Lambda in `stratus dev`: at-least-once delivery, partial batch failures, redrive to the DLQ."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_queue_lab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def qlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    root = make_queue_lab(tmp_path_factory.mktemp("qlab"), batching_window=1)
    stack = DevStack(root)
    yield stack
    stack.stop()


def sqs_client(stack: DevStack) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=str(stack.state()["aws"]),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def deliveries(stack: DevStack) -> list[dict[str, Any]]:
    path = stack.root / "deliveries.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition: Callable[[], bool], timeout: float, what: str, stack: DevStack) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{stack.output()[-3000:]}"
        time.sleep(0.1)


def depth(client: Any, url: str) -> int:
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_messages_are_delivered_in_batches_and_deleted_on_success(qlab: DevStack) -> None:
    # GIVEN a batching window of 1 s and a batch size of 10
    client = sqs_client(qlab)
    url = client.get_queue_url(QueueName="qlab-dev-tasks")["QueueUrl"]
    # WHEN 5 messages are sent at once
    client.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"ok-{i}"} for i in range(5)])
    # THEN the function gets them (in as few as one batch), each once, and the queue empties
    wait_for(lambda: len([d for d in deliveries(qlab) if d["body"].startswith("ok-")]) == 5, 15, "5 deliveries", qlab)
    wait_for(lambda: depth(client, url) == 0, 10, "an empty queue", qlab)
    oks = [d for d in deliveries(qlab) if d["body"].startswith("ok-")]
    assert sorted(d["body"] for d in oks) == [f"ok-{i}" for i in range(5)]
    assert max(d["batch"] for d in oks) > 1
    assert all(d["source"] == "aws:sqs" for d in oks)


def test_a_failing_message_is_retried_after_the_visibility_timeout_then_moved_to_the_dlq(qlab: DevStack) -> None:
    client = sqs_client(qlab)
    url = client.get_queue_url(QueueName="qlab-dev-tasks")["QueueUrl"]
    dlq = client.get_queue_url(QueueName="qlab-dev-tasks-dlq")["QueueUrl"]
    # WHEN a message whose handling always raises is sent
    client.send_message(QueueUrl=url, MessageBody="poison-1")
    # THEN it is received max_receive_count (2) times, then SQS moves it to the DLQ
    wait_for(lambda: depth(client, dlq) >= 1, 30, "the poison message in the DLQ", qlab)
    attempts = [d for d in deliveries(qlab) if d["body"] == "poison-1"]
    assert [d["count"] for d in attempts] == ["1", "2"]
    moved = client.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in moved] == ["poison-1"]


def test_only_the_reported_failures_return_to_the_queue(qlab: DevStack) -> None:
    client = sqs_client(qlab)
    url = client.get_queue_url(QueueName="qlab-dev-tasks")["QueueUrl"]
    dlq = client.get_queue_url(QueueName="qlab-dev-tasks-dlq")["QueueUrl"]
    # WHEN one batch holds a good and a bad message, and the handler reports only the bad one
    client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "good-2"}, {"Id": "2", "MessageBody": "bad-2"}]
    )
    wait_for(lambda: any(m["Body"] == "bad-2" for m in _peek(client, dlq)), 30, "bad-2 in the DLQ", qlab)
    # THEN the good one was handled once and deleted; the bad one retried, then dead-lettered
    assert [d["count"] for d in deliveries(qlab) if d["body"] == "good-2"] == ["1"]
    assert [d["count"] for d in deliveries(qlab) if d["body"] == "bad-2"] == ["1", "2"]


def _peek(client: Any, url: str) -> list[dict[str, Any]]:
    return list(client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []))


def test_s3_notifications_invoke_the_function_with_awss_event_after_the_put(qlab: DevStack) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=str(qlab.state()["aws"]), region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip
    # WHEN objects are put under and outside the notification's filters, and one is deleted
    s3.put_object(Bucket="qlab-dev-uploads", Key="in/red flower.txt", Body=b"hello")
    s3.put_object(Bucket="qlab-dev-uploads", Key="out/skip.txt", Body=b"x")
    s3.put_object(Bucket="qlab-dev-uploads", Key="in/skip.bin", Body=b"x")
    s3.delete_object(Bucket="qlab-dev-uploads", Key="in/red flower.txt")

    def notified() -> list[dict[str, Any]]:
        return [d for d in deliveries(qlab) if "s3" in d]

    wait_for(lambda: len(notified()) >= 2, 15, "two S3 notifications", qlab)
    time.sleep(0.5)
    # THEN only the matching key was notified, created then removed, in AWS's record format
    # S3 does not promise the order of notifications (records carry a sequencer for that), nor does the local cloud
    created, removed = sorted(notified(), key=lambda d: d["s3"]["eventName"])
    assert [created["s3"]["eventName"], removed["s3"]["eventName"]] == ["ObjectCreated:Put", "ObjectRemoved:Delete"]
    record = created["s3"]
    assert record["eventSource"] == "aws:s3" and record["eventVersion"] == "2.1"
    assert record["s3"]["bucket"]["name"] == "qlab-dev-uploads"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::qlab-dev-uploads"
    assert record["s3"]["object"]["key"] == "in/red+flower.txt"
    assert record["s3"]["object"]["size"] == 5
    assert {"userIdentity", "requestParameters", "responseElements"} <= set(record)
    assert created["function"] == "qlab-dev-consumer-uploads-events"


def test_stratus_trigger_fires_a_schedule_now_with_a_scheduled_event(qlab: DevStack) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stratus", "trigger", "consumer.tick"],
        cwd=qlab.root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"ticked": True}
    assert "REPORT RequestId" in done.stderr
    (fired,) = [d for d in deliveries(qlab) if "scheduled" in d]
    event = fired["scheduled"]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/qlab-dev-consumer-tick"]
    assert fired["function"] == "qlab-dev-consumer-tick"
    unknown = subprocess.run(
        [sys.executable, "-m", "stratus", "trigger", "consumer.nope"],
        cwd=qlab.root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "no schedule 'consumer.nope' in the running stack" in unknown.stderr
    assert "consumer.tick" in unknown.stderr


def test_stratus_invoke_runs_one_invocation_in_the_running_stack(qlab: DevStack) -> None:
    http = subprocess.run(
        [sys.executable, "-m", "stratus", "invoke", "consumer", "--path", "/consumer/anything"],
        cwd=qlab.root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert http.returncode == 0, http.stderr
    assert json.loads(http.stdout.strip().splitlines()[-1]) == {"statusCode": 200, "body": "ok"}
    assert "REPORT RequestId" in http.stderr
    event = subprocess.run(
        [sys.executable, "-m", "stratus", "events", "sqs", "--body", "poison-invoked"],
        cwd=qlab.root, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    failed = subprocess.run(
        [sys.executable, "-m", "stratus", "invoke", "consumer:consumer.main.handler", "--event", "-"],
        cwd=qlab.root, input=event, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert failed.returncode == 1
    assert "function error (Unhandled)" in failed.stderr
    assert json.loads(failed.stdout.strip().splitlines()[-1])["errorType"] == "RuntimeError"
