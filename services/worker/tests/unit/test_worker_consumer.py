"""worker.consumer: SQS batches processed idempotently, with partial batch failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from worker import consumer
from worker.jobs import FAILED, RETRYING, RUNNING, SUCCEEDED, Job, JobQueue, JobStore

if TYPE_CHECKING:
    from .conftest import Cloud

SqsEvent = Callable[[list[dict[str, Any]]], dict[str, Any]]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(cloud: Cloud, clock: Clock) -> JobStore:
    return JobStore(cloud.dynamodb, cloud.table, clock=clock)


@pytest.fixture
def enqueue(cloud: Cloud, store: JobStore) -> Callable[[str, Any], Job]:
    """Create a job and send its message, as POST /jobs does."""
    queue = JobQueue(cloud.sqs, cloud.queue_url)

    def create(job_type: str, payload: Any) -> Job:
        job = store.create(job_type, payload)
        queue.send(job)
        return job

    return create


def _failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_job_is_processed_and_succeeds(cloud: Cloud, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent) -> None:
    # GIVEN an echo job and a sum job on the queue
    echo = enqueue("echo", {"greeting": "hello"})
    total = enqueue("sum", {"numbers": [1, 2, 3.5]})
    event = sqs_event(cloud.receive())
    # WHEN the consumer's Lambda handler gets the batch
    response = consumer.handler(event, None)
    # THEN nothing is reported failed, and both jobs succeeded with their results
    assert response == {"batchItemFailures": []}
    echoed = JobStore(cloud.dynamodb, cloud.table).get(echo.job_id)
    summed = JobStore(cloud.dynamodb, cloud.table).get(total.job_id)
    assert echoed is not None and summed is not None
    assert (echoed.status, echoed.result, echoed.attempts) == (SUCCEEDED, {"greeting": "hello"}, 1)
    assert (summed.status, summed.result) == (SUCCEEDED, 6.5)
    assert echoed.public()["result"] == {"greeting": "hello"}
    # AND the lease is gone from the item
    item = cloud.item(echo.job_id)
    assert item is not None
    assert "lease_token" not in item
    assert "lease_expires" not in item


def test_a_redelivered_finished_job_is_not_redone(
    cloud: Cloud, store: JobStore, clock: Clock, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a job processed once
    job = enqueue("echo", {"n": 1})
    event = sqs_event(cloud.receive())
    assert consumer.process_batch(event, store) == {"batchItemFailures": []}
    first = cloud.item(job.job_id)
    # WHEN SQS delivers the same message again, later
    clock.now += timedelta(minutes=5)
    response = consumer.process_batch(event, store)
    # THEN it is acknowledged, and the job is untouched: same attempts, same updated_at
    assert response == {"batchItemFailures": []}
    assert cloud.item(job.job_id) == first


def test_a_poison_job_is_reported_failed_and_left_retrying(
    cloud: Cloud, store: JobStore, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a job whose processing raises
    job = enqueue("fail", {"message": "kaboom"})
    messages = cloud.receive()
    # WHEN the consumer processes it
    response = consumer.handler(sqs_event(messages), None)
    # THEN its message is reported failed, so SQS delivers it again
    assert _failures(response) == [messages[0]["MessageId"]]
    stored = store.get(job.job_id)
    assert stored is not None
    assert (stored.status, stored.error, stored.attempts) == (RETRYING, "RuntimeError: kaboom", 1)
    # AND a redelivery tries again, and fails again
    again = consumer.handler(sqs_event(messages), None)
    assert _failures(again) == [messages[0]["MessageId"]]
    retried = store.get(job.job_id)
    assert retried is not None
    assert (retried.status, retried.attempts) == (RETRYING, 2)


def test_a_mixed_batch_reports_only_the_failing_messages(
    cloud: Cloud, store: JobStore, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a batch of an echo, a poison, a sum and an unknown-type job
    jobs = {
        "echo": enqueue("echo", {}),
        "fail": enqueue("fail", {}),
        "sum": enqueue("sum", {"numbers": [2, 2]}),
        "teleport": enqueue("teleport", {}),
    }
    messages = cloud.receive()
    assert len(messages) == 4
    by_job = {json.loads(message["Body"])["job_id"]: message["MessageId"] for message in messages}
    # WHEN the consumer processes the batch
    response = consumer.handler(sqs_event(messages), None)
    # THEN only the poison job's message is reported failed
    assert _failures(response) == [by_job[jobs["fail"].job_id]]
    # AND the others are finished: two succeeded, the unknown type failed for good with its reason
    statuses = {kind: store.get(job.job_id) for kind, job in jobs.items()}
    assert {kind: job.status for kind, job in statuses.items() if job} == {
        "echo": SUCCEEDED,
        "fail": RETRYING,
        "sum": SUCCEEDED,
        "teleport": FAILED,
    }
    unknown = statuses["teleport"]
    assert unknown is not None
    assert unknown.error == "unknown job type 'teleport'"


def test_an_unknown_type_is_failed_permanently_and_not_retried(
    cloud: Cloud, store: JobStore, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a job of a type no processor handles (POST /jobs refuses them; this one was stored directly, as an
    # old message of a type since removed would be)
    job = enqueue("teleport", {"to": "mars"})
    event = sqs_event(cloud.receive())
    # WHEN it is processed, and delivered again
    first = consumer.process_batch(event, store)
    second = consumer.process_batch(event, store)
    # THEN it is not reported failed (so not retried), and it failed once, for good
    assert first == second == {"batchItemFailures": []}
    stored = store.get(job.job_id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.error) == (FAILED, 1, "unknown job type 'teleport'")


@pytest.mark.parametrize("payload", [{}, {"numbers": "1,2"}, {"numbers": [1, "2"]}, {"numbers": [True]}])
def test_a_sum_with_bad_numbers_fails_permanently(
    cloud: Cloud, store: JobStore, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent, payload: dict[str, Any]
) -> None:
    # GIVEN a sum job whose payload cannot be summed
    job = enqueue("sum", payload)
    # WHEN it is processed
    response = consumer.process_batch(sqs_event(cloud.receive()), store)
    # THEN it failed for good, saying why, and is not retried
    assert response == {"batchItemFailures": []}
    stored = store.get(job.job_id)
    assert stored is not None
    assert stored.status == FAILED
    assert "numbers" in (stored.error or "")


def test_process_data_describes_the_payload(
    cloud: Cloud, store: JobStore, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a process_data job with nested values, non-ASCII text and keys out of order
    job = enqueue("process_data", {"é": "ü", "b": {"c": True}, "a": [1, 2.5, None]})
    # WHEN it is processed
    response = consumer.process_batch(sqs_event(cloud.receive()), store)
    # THEN it succeeded with the key count, the sorted keys, and the SHA-256 and size of the canonical JSON:
    # '{"a":[1,2.5,null],"b":{"c":true},"é":"ü"}', 43 bytes of UTF-8
    assert response == {"batchItemFailures": []}
    stored = store.get(job.job_id)
    assert stored is not None
    assert stored.status == SUCCEEDED
    assert stored.result == {
        "key_count": 3,
        "keys": ["a", "b", "é"],
        "sha256": "219ff84b1025678ab0d01d33b368e34fc6ae437da5fab6f09a22fae862446fbf",
        "size_bytes": 43,
    }


def test_process_data_is_deterministic() -> None:
    # GIVEN the same object with its keys in two orders
    first = {"key": "value", "n": 1, "nested": {"y": 2, "x": 1}}
    second = {"nested": {"x": 1, "y": 2}, "n": 1, "key": "value"}
    # WHEN each is processed, twice
    results = [consumer.PROCESSORS["process_data"](payload) for payload in (first, second, first, second)]
    # THEN the results are all the same
    assert all(result == results[0] for result in results)
    assert results[0]["keys"] == ["key", "n", "nested"]
    assert consumer.canonical_json(second) == b'{"key":"value","n":1,"nested":{"x":1,"y":2}}'


@pytest.mark.parametrize("payload", [[1, 2], "text", None, {"n": float("nan")}])
def test_process_data_fails_permanently_on_what_is_not_a_json_object(payload: Any) -> None:
    # GIVEN a payload that is not a JSON object (possible only in an old message), or not plain JSON
    # WHEN process_data runs on it
    # THEN it fails for good, saying why
    with pytest.raises(consumer.PermanentJobError, match="process_data"):
        consumer.PROCESSORS["process_data"](payload)


def test_job_types_lists_the_processors_sorted() -> None:
    # GIVEN the processors
    # THEN JOB_TYPES, the types POST /jobs accepts, are their names, sorted
    assert consumer.JOB_TYPES == ("echo", "fail", "process_data", "sum")
    assert set(consumer.JOB_TYPES) == set(consumer.PROCESSORS)


def test_messages_that_are_not_jobs_are_reported_failed(cloud: Cloud, store: JobStore, sqs_event: SqsEvent) -> None:
    # GIVEN messages that are not JSON, have no job_id, or name a job that does not exist
    for body in ["not json", '{"id": "x"}', '{"job_id": "3f8a4c8e-0000-4000-8000-000000000000"}']:
        cloud.sqs.send_message(QueueUrl=cloud.queue_url, MessageBody=body)
    messages = cloud.receive()
    # WHEN they are processed
    response = consumer.process_batch(sqs_event(messages), store)
    # THEN all are reported failed, so they end in the DLQ rather than vanish
    assert sorted(_failures(response)) == sorted(message["MessageId"] for message in messages)


def test_a_job_running_under_a_live_lease_is_retried_later(
    cloud: Cloud, store: JobStore, clock: Clock, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a job another delivery is processing right now
    job = enqueue("echo", {"x": 1})
    event = sqs_event(cloud.receive())
    assert store.claim(job.job_id, "other-runner", lease_seconds=60) is not None
    # WHEN a duplicate delivery arrives while the lease is live
    response = consumer.process_batch(event, store)
    # THEN it is reported failed (retried later), and the job is left to its runner
    assert _failures(response) == [event["Records"][0]["messageId"]]
    running = store.get(job.job_id)
    assert running is not None
    assert running.status == RUNNING
    # AND once the lease has expired (the runner died), a delivery takes the job over and finishes it
    clock.now += timedelta(seconds=120)
    assert consumer.process_batch(event, store) == {"batchItemFailures": []}
    done = store.get(job.job_id)
    assert done is not None
    assert (done.status, done.attempts) == (SUCCEEDED, 2)


def test_only_the_lease_holder_can_finish_a_job(store: JobStore) -> None:
    # GIVEN a job claimed by one runner
    job = store.create("echo", {})
    assert store.claim(job.job_id, "runner-a", lease_seconds=60) is not None
    # WHEN another runner tries to finish it
    # THEN it cannot, while the holder can
    assert store.succeed(job.job_id, "runner-b", {"stolen": True}) is False
    assert store.fail(job.job_id, "runner-b", "no") is False
    assert store.succeed(job.job_id, "runner-a", {"ok": True}) is True
    finished = store.get(job.job_id)
    assert finished is not None
    assert (finished.status, finished.result) == (SUCCEEDED, {"ok": True})


def test_a_store_outage_fails_the_records_without_crashing(
    cloud: Cloud, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN messages, and a store whose table does not exist
    enqueue("echo", {})
    enqueue("echo", {})
    messages = cloud.receive()
    broken = JobStore(cloud.dynamodb, "no-such-table")
    # WHEN the batch is processed
    response = consumer.process_batch(sqs_event(messages), broken)
    # THEN every record is reported failed, for SQS to retry
    assert sorted(_failures(response)) == sorted(message["MessageId"] for message in messages)


def test_a_poison_message_ends_in_the_dead_letter_queue(
    cloud: Cloud, enqueue: Callable[[str, Any], Job], sqs_event: SqsEvent
) -> None:
    # GIVEN a poison job on a queue with maxReceiveCount 3, and an event source mapping emulated by hand:
    # it deletes the messages not reported failed and makes the failed ones visible again at once
    enqueue("fail", {})
    for _ in range(3):
        messages = cloud.receive()
        assert len(messages) == 1
        response = consumer.handler(sqs_event(messages), None)
        failed = set(_failures(response))
        for message in messages:
            if message["MessageId"] in failed:
                cloud.sqs.change_message_visibility(
                    QueueUrl=cloud.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                cloud.sqs.delete_message(QueueUrl=cloud.queue_url, ReceiptHandle=message["ReceiptHandle"])
    # WHEN SQS is asked for it a fourth time
    fourth = cloud.receive()
    # THEN SQS has moved it to the dead-letter queue
    assert fourth == []
    dead = cloud.sqs.receive_message(QueueUrl=cloud.dlq_url).get("Messages", [])
    assert len(dead) == 1


def test_lease_seconds_follows_the_invocations_remaining_time() -> None:
    # GIVEN a Lambda context with 90 s left, and no context
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 90_000)
    # WHEN the lease is computed
    # THEN it is the time left, or the default
    assert consumer.lease_seconds(context) == 90.0
    assert consumer.lease_seconds(None) == 60.0


def test_an_empty_event_is_an_empty_response(store: JobStore) -> None:
    # GIVEN an event with no records
    # WHEN it is processed
    # THEN there is nothing to retry
    assert consumer.process_batch({}, store) == {"batchItemFailures": []}
