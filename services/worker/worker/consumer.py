"""The SQS consumer: ``worker.consumer.handler``, invoked by the event source mapping of the ``jobs`` queue.

The job types (:data:`PROCESSORS`; ``POST /jobs`` refuses any other type):

- ``echo``: returns the payload as it is;
- ``sum``: ``{"numbers": [1, 2, 3.5]}`` -> ``6.5``; a payload without a list of finite numbers fails for good;
- ``process_data``: describes any JSON object payload, deterministically: ``{"key": "value"}`` ->
  ``{"key_count": 1, "keys": ["key"], "sha256": "<hex>", "size_bytes": 15}``, the keys sorted and the
  SHA-256 and size (in bytes) of the payload's canonical JSON (see :func:`canonical_json`);
- ``fail``: raises, on purpose (its payload's ``message``, if any), to exercise retries and the DLQ.

Each record carries ``{"job_id": ...}``. For each one the consumer loads the job, and:

- a job already ``succeeded`` or ``failed`` is skipped (a duplicate delivery);
- otherwise it claims the job (``running``, under a lease), runs the processor for its type and
  marks it ``succeeded`` with the result;
- a job of an unknown type (the API refuses them, but a message from an older version may still
  name one), or whose payload its processor rejects, is ``failed`` for good, with
  the reason, and its message is deleted (retrying cannot help);
- a processor that raises anything else (type ``fail`` does, on purpose) leaves the job
  ``retrying`` and the record is reported failed, so SQS delivers it again after the visibility
  timeout and, after ``maxReceiveCount`` deliveries, moves it to the dead-letter queue;
- a message that is not a job message, or names no job, is reported failed too (so it ends in the DLQ).

The response is the partial batch response of ``ReportBatchItemFailures``:
``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}``; only those messages come back.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from stratus_common.logging import get_logger

from worker.jobs import FINAL_STATUSES, SUCCEEDED, InvalidMessage, JobStore, parse_message

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "JOB_TYPES",
    "PROCESSORS",
    "PermanentJobError",
    "canonical_json",
    "handler",
    "lease_seconds",
    "process_batch",
    "process_record",
]

logger = get_logger("worker")

Processor = Callable[[Any], Any]


class PermanentJobError(Exception):
    """The job cannot succeed, however often it is retried (e.g. its payload is wrong)."""


def _echo(payload: Any) -> Any:
    return payload


def _sum(payload: Any) -> int | float:
    numbers = payload.get("numbers") if isinstance(payload, Mapping) else None
    if not isinstance(numbers, list):
        raise PermanentJobError('a "sum" job needs "numbers": a list of numbers')
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        raise PermanentJobError('"numbers" must contain only finite numbers')
    total: int | float = sum(numbers)
    return total


def canonical_json(value: Any) -> bytes:
    """Return *value* as canonical JSON: keys sorted, no whitespace, non-ASCII characters as UTF-8 (not escaped).

    Equal JSON values give equal bytes whatever their keys' order; NaN and Infinity are refused (``ValueError``).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _process_data(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise PermanentJobError('a "process_data" job needs a JSON object payload')
    try:
        encoded = canonical_json(payload)
    except (TypeError, ValueError) as exc:
        raise PermanentJobError(f'a "process_data" payload must be plain JSON: {exc}') from None
    return {
        "key_count": len(payload),
        "keys": sorted(payload),
        "sha256": hashlib.sha256(encoded).hexdigest(),
        "size_bytes": len(encoded),
    }


def _fail(payload: Any) -> Any:
    message = payload.get("message") if isinstance(payload, Mapping) else None
    raise RuntimeError(str(message or "job of type 'fail' failed, as it always does"))


PROCESSORS: Mapping[str, Processor] = {"echo": _echo, "sum": _sum, "process_data": _process_data, "fail": _fail}
"""What each job type does: a function of the payload returning the JSON-serialisable result."""

JOB_TYPES: tuple[str, ...] = tuple(sorted(PROCESSORS))
"""The job types there is a processor for, sorted: the only ones ``POST /jobs`` accepts."""


def lease_seconds(context: Any, default: float = 60.0) -> float:
    """Return how long this invocation may hold a job: the time it has left, or *default* without a context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return default
    try:
        return max(float(remaining()) / 1000.0, 1.0)
    except (TypeError, ValueError):
        return default


def _finished_elsewhere(store: JobStore, job_id: str) -> bool:
    current = store.get(job_id)
    return current is not None and current.status in FINAL_STATUSES


def process_record(
    record: Mapping[str, Any],
    store: JobStore,
    *,
    processors: Mapping[str, Processor] = PROCESSORS,
    lease: float = 60.0,
) -> bool:
    """Process one SQS record; return ``True`` if its message may be deleted, ``False`` to have it retried."""
    message_id = record.get("messageId", "?")
    try:
        job_id = parse_message(record.get("body", ""))
    except InvalidMessage as exc:
        logger.error("Not a job message", extra={"message_id": message_id, "reason": str(exc)})
        return False
    context = {"message_id": message_id, "job_id": job_id}

    job = store.get(job_id)
    if job is None:
        logger.error("No such job", extra=context)
        return False
    if job.status in FINAL_STATUSES:
        logger.info("Job already finished; duplicate delivery skipped", extra={**context, "status": job.status})
        return True

    token = str(uuid.uuid4())
    claimed = store.claim(job_id, token, lease_seconds=lease)
    if claimed is None:
        if _finished_elsewhere(store, job_id):
            logger.info("Job finished by another delivery", extra=context)
            return True
        logger.warning("Job is being processed by another delivery; retry later", extra=context)
        return False

    processor = processors.get(claimed.type)
    if processor is None:
        store.fail(job_id, token, f"unknown job type {claimed.type!r}")
        logger.error("Unknown job type; failed permanently", extra={**context, "type": claimed.type})
        return True
    try:
        result = processor(claimed.payload)
    except PermanentJobError as exc:
        store.fail(job_id, token, str(exc))
        logger.error("Job failed permanently", extra={**context, "reason": str(exc)})
        return True
    except Exception as exc:
        logger.exception("Job attempt failed; it will be retried", extra={**context, "attempt": claimed.attempts})
        store.release(job_id, token, f"{type(exc).__name__}: {exc}")
        return False

    if store.succeed(job_id, token, result):
        logger.info("Job succeeded", extra={**context, "type": claimed.type, "attempt": claimed.attempts})
        return True
    # The lease expired and another delivery took the job over; fine if it finished it.
    current = store.get(job_id)
    return current is not None and current.status == SUCCEEDED


def process_batch(
    event: Mapping[str, Any],
    store: JobStore,
    *,
    processors: Mapping[str, Processor] = PROCESSORS,
    lease: float = 60.0,
) -> dict[str, list[dict[str, str]]]:
    """Process an SQS batch; return the partial batch response naming the records to retry."""
    records: Iterable[Mapping[str, Any]] = event.get("Records") or []
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            done = process_record(record, store, processors=processors, lease=lease)
        except Exception:
            # DynamoDB throttled or unreachable, ...: retry this record, carry on with the others.
            logger.exception("Could not process record", extra={"message_id": record.get("messageId", "?")})
            done = False
        if not done:
            failures.append({"itemIdentifier": str(record.get("messageId", ""))})
    return {"batchItemFailures": failures}


def _job_store() -> JobStore:
    from stratus_common.aws import client
    from stratus_common.settings import table_name

    return JobStore(client("dynamodb"), table_name("job-records"))


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point for SQS batches (the event source mapping must enable ReportBatchItemFailures)."""
    return process_batch(event, _job_store(), lease=lease_seconds(context))
