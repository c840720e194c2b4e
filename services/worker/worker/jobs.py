"""Jobs: their record in DynamoDB and their message on SQS.

The clients are passed in (``JobStore(dynamodb_client, table)``, ``JobQueue(sqs_client, url)``), so the
HTTP app, the consumer and the tests all use the same code with whatever clients they have.

The ``jobs`` table has the hash key ``job_id`` (string) and no range key. An item::

    job_id        S   uuid4
    type          S   what to do: "echo", "sum", ...
    status        S   queued -> running -> succeeded | failed   (running -> retrying -> running ... on errors)
    payload       S   the job's input, as JSON text
    result        S   the output, as JSON text (once succeeded)
    error         S   why it failed, or why the last attempt failed
    attempts      N   how many times processing started
    created_at    S   ISO 8601, UTC
    updated_at    S   ISO 8601, UTC
    lease_token   S   while running: who runs it
    lease_expires N   while running: epoch seconds after which another delivery may take it over

Payload and result are stored as JSON text: the store treats them as opaque, they round-trip
exactly (DynamoDB numbers would need ``Decimal`` and reject floats) and their size is bounded by the API.

Processing is idempotent under SQS's at-least-once delivery: :meth:`JobStore.claim` takes a lease
with a conditional update, so a duplicate delivery of a finished job does nothing and a duplicate
that arrives while the job runs is retried later; only the lease holder can finish the job.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stratus_common.dynamo import is_conditional_check_failed
from stratus_common.times import Clock, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "FAILED",
    "FINAL_STATUSES",
    "QUEUED",
    "RETRYING",
    "RUNNING",
    "SUCCEEDED",
    "InvalidMessage",
    "Job",
    "JobExists",
    "JobQueue",
    "JobStore",
    "message_body",
    "parse_message",
]

QUEUED = "queued"
RUNNING = "running"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED})

# "status", "type", "result" and "error" are DynamoDB reserved words (or close enough): always alias.
_NAMES = {"#status": "status", "#type": "type", "#result": "result", "#error": "error"}
_READINESS_KEY = "__readiness__"


class JobExists(Exception):
    """A job with this id is already stored."""


@dataclass(frozen=True)
class Job:
    """A job as stored."""

    job_id: str
    type: str
    status: str
    payload: Any
    created_at: str
    updated_at: str
    attempts: int = 0
    result: Any = None
    error: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        """Build a job from a DynamoDB item (low-level attribute values)."""

        def text(name: str) -> str | None:
            value = item.get(name)
            return value["S"] if value and "S" in value else None

        attempts = item.get("attempts", {}).get("N", "0")
        result_text = text("result")
        return cls(
            job_id=text("job_id") or "",
            type=text("type") or "",
            status=text("status") or "",
            payload=json.loads(text("payload") or "null"),
            created_at=text("created_at") or "",
            updated_at=text("updated_at") or "",
            attempts=int(attempts),
            result=json.loads(result_text) if result_text is not None else None,
            error=text("error"),
        )

    def public(self) -> dict[str, Any]:
        """Return what a client may see of the job."""
        view: dict[str, Any] = {
            "job_id": self.job_id,
            "type": self.type,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.status == SUCCEEDED:
            view["result"] = self.result
        if self.error is not None:
            view["error"] = self.error
        return view


class JobStore:
    """The jobs table."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str, *, clock: Clock = utc_now) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    def create(self, job_type: str, payload: Any, *, job_id: str | None = None) -> Job:
        """Store a new ``queued`` job; raise :class:`JobExists` if a job has this id already."""
        now = iso(self.clock())
        job = Job(
            job_id=job_id or str(uuid.uuid4()),
            type=job_type,
            status=QUEUED,
            payload=payload,
            created_at=now,
            updated_at=now,
        )
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "job_id": {"S": job.job_id},
                    "type": {"S": job.type},
                    "status": {"S": job.status},
                    "payload": {"S": json.dumps(payload, separators=(",", ":"), allow_nan=False)},
                    "attempts": {"N": "0"},
                    "created_at": {"S": now},
                    "updated_at": {"S": now},
                },
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                raise JobExists(job.job_id) from exc
            raise
        return job

    def get(self, job_id: str, *, consistent: bool = True) -> Job | None:
        """Return the job, or ``None`` if there is none with this id."""
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"job_id": {"S": job_id}}, ConsistentRead=consistent
        )
        item = response.get("Item")
        return Job.from_item(item) if item else None

    def ping(self) -> None:
        """Make one cheap read of the table (a key that never exists); raise if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"job_id": {"S": _READINESS_KEY}})

    def claim(self, job_id: str, token: str, *, lease_seconds: float) -> Job | None:
        """Mark the job ``running`` under a lease held by *token*, and return it.

        Succeeds for a ``queued`` or ``retrying`` job, or a ``running`` one whose lease expired (its
        runner died); returns ``None`` otherwise (finished, or running under a live lease).
        """
        now = self.clock()
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"job_id": {"S": job_id}},
                UpdateExpression=(
                    "SET #status = :running, lease_token = :token, lease_expires = :expires, "
                    "updated_at = :now, attempts = if_not_exists(attempts, :zero) + :one"
                ),
                ConditionExpression=(
                    "attribute_exists(job_id) AND (#status IN (:queued, :retrying) "
                    "OR (#status = :running AND (attribute_not_exists(lease_expires) OR lease_expires < :epoch)))"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":running": {"S": RUNNING},
                    ":queued": {"S": QUEUED},
                    ":retrying": {"S": RETRYING},
                    ":token": {"S": token},
                    ":expires": {"N": str(int(now.timestamp() + lease_seconds) + 1)},
                    ":epoch": {"N": str(int(now.timestamp()))},
                    ":now": {"S": iso(now)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                return None
            raise
        return Job.from_item(response["Attributes"])

    def _finish(self, job_id: str, token: str, update: str, values: dict[str, Any]) -> bool:
        """Apply *update* if *token* still holds the lease; drop the lease. Return whether it applied."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"job_id": {"S": job_id}},
                UpdateExpression=f"{update}, updated_at = :now REMOVE lease_token, lease_expires",
                ConditionExpression="#status = :running AND lease_token = :token",
                ExpressionAttributeNames={k: v for k, v in _NAMES.items() if k in update or k == "#status"},
                ExpressionAttributeValues={
                    **values,
                    ":running": {"S": RUNNING},
                    ":token": {"S": token},
                    ":now": {"S": iso(self.clock())},
                },
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                return False
            raise
        return True

    def succeed(self, job_id: str, token: str, result: Any) -> bool:
        """Mark the job ``succeeded`` with *result*, if *token* holds its lease."""
        return self._finish(
            job_id,
            token,
            "SET #status = :succeeded, #result = :result",
            {
                ":succeeded": {"S": SUCCEEDED},
                ":result": {"S": json.dumps(result, separators=(",", ":"), allow_nan=False)},
            },
        )

    def fail(self, job_id: str, token: str, reason: str) -> bool:
        """Mark the job ``failed`` for good with *reason*, if *token* holds its lease."""
        return self._finish(
            job_id, token, "SET #status = :failed, #error = :error", {":failed": {"S": FAILED}, ":error": {"S": reason}}
        )

    def release(self, job_id: str, token: str, error: str) -> bool:
        """Give the job back as ``retrying`` after a failed attempt, if *token* holds its lease."""
        return self._finish(
            job_id,
            token,
            "SET #status = :retrying, #error = :error",
            {":retrying": {"S": RETRYING}, ":error": {"S": error}},
        )

    def dead_letter(self, job_id: str, reason: str) -> bool:
        """Mark a job whose message reached the DLQ ``failed``, unless it already finished."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"job_id": {"S": job_id}},
                UpdateExpression="SET #status = :failed, #error = :error, updated_at = :now",
                ConditionExpression="#status IN (:queued, :running, :retrying)",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={
                    ":failed": {"S": FAILED},
                    ":queued": {"S": QUEUED},
                    ":running": {"S": RUNNING},
                    ":retrying": {"S": RETRYING},
                    ":error": {"S": reason},
                    ":now": {"S": iso(self.clock())},
                },
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                return False
            raise
        return True

    def fail_unqueued(self, job_id: str, reason: str) -> bool:
        """Mark a job that could not be enqueued ``failed``, if it is still ``queued``."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"job_id": {"S": job_id}},
                UpdateExpression="SET #status = :failed, #error = :error, updated_at = :now",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={
                    ":failed": {"S": FAILED},
                    ":queued": {"S": QUEUED},
                    ":error": {"S": reason},
                    ":now": {"S": iso(self.clock())},
                },
            )
        except Exception as exc:
            if is_conditional_check_failed(exc):
                return False
            raise
        return True


class InvalidMessage(ValueError):
    """An SQS message that is not a job message."""


def message_body(job_id: str) -> str:
    """Return the body of the SQS message for job *job_id*."""
    return json.dumps({"job_id": job_id}, separators=(",", ":"))


def parse_message(body: str) -> str:
    """Return the job id in an SQS message body; raise :class:`InvalidMessage` if there is none."""
    try:
        decoded = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise InvalidMessage(f"message body is not JSON: {exc}") from exc
    job_id = decoded.get("job_id") if isinstance(decoded, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise InvalidMessage('message body has no "job_id" string')
    return job_id


class JobQueue:
    """The jobs queue."""

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def send(self, job: Job) -> str:
        """Send the message for *job*; return the SQS message id."""
        response = self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message_body(job.job_id),
            MessageAttributes={"job_type": {"DataType": "String", "StringValue": job.type}},
        )
        return response["MessageId"]
