"""The scheduled sweep marks dead-lettered jobs failed, and leaves the DLQ as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.jobs import JobStore, message_body
from worker.sweeper import handler, sweep

if TYPE_CHECKING:
    from .conftest import Cloud


def test_jobs_whose_message_reached_the_dlq_are_marked_failed(cloud: Cloud) -> None:
    # GIVEN a retrying job whose message is in the DLQ, and a finished job whose message is there too
    store = JobStore(cloud.dynamodb, cloud.table)
    stuck = store.create("fail", {})
    done = store.create("echo", {})
    token = "t1"
    assert store.claim(done.job_id, token, lease_seconds=60)
    assert store.succeed(done.job_id, token, {"ok": True})
    for job in (stuck, done):
        cloud.sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody=message_body(job.job_id))
    cloud.sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody="not a job message")
    # WHEN the sweep runs
    counts = sweep(cloud.sqs, cloud.dlq_url, store)
    # THEN only the unfinished job is failed, with the reason, and nothing left the DLQ
    assert counts == {"seen": 3, "marked": 1, "invalid": 1}
    stuck_now = store.get(stuck.job_id)
    assert stuck_now is not None and stuck_now.status == "failed"
    assert "dead-letter queue" in str(stuck_now.error)
    done_now = store.get(done.job_id)
    assert done_now is not None and done_now.status == "succeeded"
    attributes = cloud.sqs.get_queue_attributes(
        QueueUrl=cloud.dlq_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 3
    )


def test_the_handler_sweeps_with_the_services_settings(cloud: Cloud) -> None:
    store = JobStore(cloud.dynamodb, cloud.table)
    stuck = store.create("fail", {})
    cloud.sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody=message_body(stuck.job_id))
    assert handler({"detail-type": "Scheduled Event"}, None)["marked"] == 1
