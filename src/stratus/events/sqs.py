"""SQS -> Lambda: the event an event source mapping delivers, and how the function's answer is read.

Record format (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): ``messageId``,
``receiptHandle``, ``body``, ``attributes`` (all values strings: ApproximateReceiveCount, SentTimestamp,
SenderId, ApproximateFirstReceiveTimestamp, and for FIFO SequenceNumber, MessageGroupId,
MessageDeduplicationId), ``messageAttributes`` (camel-cased: stringValue, binaryValue as base64,
stringListValues, binaryListValues, dataType), ``md5OfBody``, ``md5OfMessageAttributes`` (only when the message
has attributes: SQS's MD5 of them, as ReceiveMessage gives it), ``eventSource: "aws:sqs"``,
``eventSourceARN``, ``awsRegion``.

Partial batch response (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
``{"batchItemFailures": [{"itemIdentifier": "<messageId>"}]}``. An empty or null list, or an empty or
null response, is complete success. Invalid JSON, an empty or null ``itemIdentifier``, a wrong key name or
a message id not in the batch is complete failure.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


def record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One Lambda SQS record from a ReceiveMessage ``Messages`` entry."""
    attributes = message.get("Attributes", {})
    out = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: str(attributes[k]) for k in _RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):  # only a message with attributes has one
        out["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return out


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    return out


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()


def event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def failed_ids(payload: bytes, batch_ids: list[str]) -> list[str]:
    """The message ids to leave in the queue, from a function's successful response (ReportBatchItemFailures)."""
    everything = list(batch_ids)
    try:
        response = json.loads(payload) if payload.strip() else None
    except ValueError:
        return everything
    if response is None:
        return []
    if not isinstance(response, dict):
        return []  # a non-object answer carries no batchItemFailures: the batch succeeded
    failures = response.get("batchItemFailures")
    if failures is None:  # absent or null: complete success
        return []
    if not isinstance(failures, list):
        return everything
    known = set(batch_ids)
    out: list[str] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in known:
            return everything
        if identifier not in out:
            out.append(identifier)
    return out
