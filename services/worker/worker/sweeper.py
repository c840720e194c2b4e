"""The worker's scheduled sweep: jobs whose message the jobs queue moved to its DLQ are marked ``failed``.

A poison job is retried until SQS's redrive policy moves its message to the DLQ; its record would otherwise
stay ``retrying``. The sweep reads the DLQ without deleting anything: the message stays there, with its
reason, for someone to inspect or redrive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.jobs import InvalidMessage, JobStore, parse_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_MESSAGES = 100


def sweep(sqs: SQSClient, dlq_url: str, store: JobStore, *, limit: int = MAX_MESSAGES) -> dict[str, int]:
    """Mark the jobs of (up to ``limit``) dead-lettered messages failed; returns counts."""
    counts = {"seen": 0, "marked": 0, "invalid": 0}
    seen: set[str] = set()
    while counts["seen"] < limit:
        batch = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["All"]
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            counts["seen"] += 1
            try:
                job_id = parse_message(message.get("Body", ""))
            except InvalidMessage:
                counts["invalid"] += 1
                continue
            receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
            if store.dead_letter(job_id, f"moved to the dead-letter queue after {receives} receives"):
                counts["marked"] += 1
    return counts


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Lambda entry point for the EventBridge schedule."""
    from stratus_common.aws import client
    from stratus_common.settings import dlq_url, table_name

    return sweep(client("sqs"), dlq_url("jobs"), JobStore(client("dynamodb"), table_name("job-records")))
