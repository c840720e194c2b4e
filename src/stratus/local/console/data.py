"""What the console reads from the local AWS: queue depths, a DLQ's messages and their redrive, table items and
bucket objects. Read only, except the redrive. Each call is a blocking boto3 call; the server runs them in
threads. The clients use the account's own credentials, as the AWS console does: the console is the developer,
not a service's role.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer

from stratus.local.console import masking

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from stratus.local.aws import Provisioned
    from stratus.local.sqs_source import SqsEventSource
    from stratus.manifest.plan import Plan

DEPTH = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
PAGE = 50  # items or objects per page
PREVIEW = 64 * 1024  # bytes of an object shown as text
_deserializer = TypeDeserializer()


class NotDeclared(LookupError):
    """The stack declares no such queue, table or bucket."""


@dataclass
class _Rate:
    at: float
    delivered: int
    per_second: float = 0.0


class LocalData:
    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client
        self._clients: dict[str, Any] = {}
        self._rates: dict[str, _Rate] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._client(service)
        return self._clients[service]

    # ---------------------------------------------------------------------------------------- queues

    def queues(
        self, plan: Plan, provisioned: Provisioned, sources: Mapping[str, SqsEventSource]
    ) -> list[dict[str, Any]]:
        """Each queue's depth, in flight, DLQ depth, and the messages per second its consumers take."""
        sqs = self.client("sqs")
        out = []
        for name, queue in sorted(plan.queues.items()):
            url, dlq = provisioned.queue_urls.get(name), provisioned.dlq_urls.get(name)
            if url is None or dlq is None:
                continue
            main = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTH)["Attributes"]
            dead = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=DEPTH[:1])["Attributes"]
            consumers = [key for key in queue.consumers if key in sources]
            out.append({
                "name": name, "aws_name": queue.aws_name,
                "waiting": int(main[DEPTH[0]]), "in_flight": int(main[DEPTH[1]]),
                "per_second": self._rate(name, sum(sources[key].delivered for key in consumers)),
                "consumer": consumers[0] if consumers else None,
                "dlq": {"aws_name": queue.dlq_name, "waiting": int(dead[DEPTH[0]])},
            })  # fmt: skip
        return out

    def _rate(self, name: str, delivered: int) -> float:
        """Messages per second delivered since the last look (smoothed; at most one new sample a second)."""
        now = time.monotonic()
        last = self._rates.get(name)
        if last is None or delivered < last.delivered:
            self._rates[name] = _Rate(now, delivered)
            return 0.0
        if now - last.at >= 1.0:
            rate = (delivered - last.delivered) / (now - last.at)
            self._rates[name] = _Rate(now, delivered, round(0.5 * rate + 0.5 * last.per_second, 2))
        return self._rates[name].per_second

    def dlq_messages(self, dlq_url: str, *, reveal: bool) -> list[dict[str, Any]]:
        """Up to 10 of the DLQ's messages, left in it (visible again at once)."""
        got = self.client("sqs").receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        )  # fmt: skip
        out = []
        for message in got.get("Messages", []):
            attributes = message.get("Attributes", {})
            body = message.get("Body", "")
            out.append({
                "id": message["MessageId"],
                "body": body if reveal else masking.mask_body(body, ""),
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "sent": int(attributes.get("SentTimestamp", 0)) / 1000,
                "attributes": {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()},
            })  # fmt: skip
        return out

    def redrive(self, dlq_url: str, queue_url: str) -> int:
        """Move every message of the DLQ back to its source queue (what the SQS console's "Start DLQ redrive"
        does: each is sent again, as a new message, then deleted from the DLQ)."""
        sqs, moved = self.client("sqs"), 0
        fifo = queue_url.endswith(".fifo")
        while True:
            got = sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            )  # fmt: skip
            messages = got.get("Messages", [])
            if not messages:
                return moved
            entries = []
            for i, message in enumerate(messages):
                entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    entry["MessageAttributes"] = message["MessageAttributes"]
                if fifo:
                    attributes = message.get("Attributes", {})
                    entry["MessageGroupId"] = attributes.get("MessageGroupId", "redrive")
                    entry["MessageDeduplicationId"] = attributes.get("MessageDeduplicationId", message["MessageId"])
                entries.append(entry)
            sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            done = {entry["Id"] for entry in sent.get("Successful", [])}
            receipts = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in done
            ]
            if receipts:
                sqs.delete_message_batch(QueueUrl=dlq_url, Entries=receipts)
            moved += len(receipts)
            if len(receipts) < len(messages):  # a send failed: stop rather than loop on it
                return moved

    # ------------------------------------------------------------------------------------ tables, buckets

    def tables(self, plan: Plan) -> list[dict[str, Any]]:
        dynamodb = self.client("dynamodb")
        out = []
        for name, table in sorted(plan.tables.items()):
            described = dynamodb.describe_table(TableName=table.aws_name)["Table"]
            out.append({"name": name, "aws_name": table.aws_name, "items": int(described.get("ItemCount", 0))})
        return out

    def items(self, aws_name: str, start: str | None, *, reveal: bool) -> dict[str, Any]:
        """One page of a table's items, as plain JSON (a scan: the console reads, it never writes)."""
        kwargs: dict[str, Any] = {"TableName": aws_name, "Limit": PAGE}
        if start:
            kwargs["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(start))
        page = self.client("dynamodb").scan(**kwargs)
        items = [_plain({k: _deserializer.deserialize(v) for k, v in item.items()}) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return {
            "items": items if reveal else [masking.mask_value(item) for item in items],
            "next": base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None,
        }

    def buckets(self, plan: Plan) -> list[dict[str, Any]]:
        return [{"name": name, "aws_name": bucket.aws_name} for name, bucket in sorted(plan.buckets.items())]

    def objects(self, aws_name: str, prefix: str, start: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": aws_name, "Prefix": prefix, "Delimiter": "/", "MaxKeys": PAGE}
        if start:
            kwargs["ContinuationToken"] = start
        page = self.client("s3").list_objects_v2(**kwargs)
        return {
            "objects": [
                {"key": o["Key"], "size": o["Size"], "modified": o["LastModified"].isoformat()}
                for o in page.get("Contents", [])
            ],
            "prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
            "next": page.get("NextContinuationToken"),
        }

    def object(self, aws_name: str, key: str, *, reveal: bool) -> dict[str, Any]:
        """An object's size and type, and its first :data:`PREVIEW` bytes when they are text."""
        got = self.client("s3").get_object(Bucket=aws_name, Key=key, Range=f"bytes=0-{PREVIEW - 1}")
        size = int(got.get("ContentRange", "/0").rsplit("/", 1)[-1] or got.get("ContentLength", 0))
        data = got["Body"].read()
        try:
            text: str | None = data.decode()
        except UnicodeDecodeError:
            text = None
        content_type = got.get("ContentType", "")
        if text is not None and not reveal:
            text = masking.mask_body(text, content_type)
        return {"key": key, "size": size, "content_type": content_type, "text": text, "truncated": size > len(data)}


def _plain(value: Any) -> Any:
    """DynamoDB's Decimal, set and Binary values as JSON values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | frozenset | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3's Binary
        return base64.b64encode(value.value).decode()
    return value
