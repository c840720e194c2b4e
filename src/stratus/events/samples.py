"""Sample events to start from (``stratus events``), built by the same adapters the local cloud uses, in the
local cloud's account and region unless told otherwise. Services' tests build their Lambda events here too, so that
a test event has exactly the shape the local cloud sends."""

from __future__ import annotations

import hashlib
import json as _json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from stratus import naming
from stratus.events import s3, sqs
from stratus.events.httpapi import HttpRequest, build_event
from stratus.events.schedule import rule_arn, scheduled_event

ACCOUNT = naming.LOCAL_ACCOUNT_ID
REGION = "us-east-1"


def http(
    *,
    method: str = "GET",
    path: str = "/",
    body: str = "",
    content_type: str = "application/json",
    json: Any = None,
    headers: Sequence[tuple[str, str]] = (),
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API request, payload format 2.0 (``path`` may carry a query string).

    ``json``: a body to send as JSON, in place of ``body``. ``headers`` are added to the sample's own.
    ``authorizer``: the context a Lambda authorizer returned for the request, which the event carries as
    ``requestContext.authorizer.lambda``; ``None`` for a route without one.
    """
    raw_path, _, query = path.partition("?")
    if json is not None:
        body = _json.dumps(json)
    all_headers = [("host", "127.0.0.1:8080"), ("user-agent", "stratus"), ("accept", "*/*"), *headers]
    if body and not any(name.lower() == "content-type" for name, _ in headers):
        all_headers.append(("content-type", content_type))
    request = HttpRequest(method.upper(), raw_path, query, all_headers, body.encode(), "127.0.0.1")
    return build_event(
        request,
        route_key="$default",
        path_parameters=None,
        api_id="local",
        account_id=ACCOUNT,
        domain_name="127.0.0.1:8080",
        request_id="sample-request-id",
        authorizer=None if authorizer is None else {"lambda": dict(authorizer)},
    )


def sqs_batch(*, body: str = '{"hello": "world"}', queue: str = "my-queue", count: int = 1,
              region: str = REGION) -> dict[str, Any]:  # fmt: skip
    """An SQS event source mapping batch of ``count`` copies of ``body``."""
    messages = [
        {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": uuid.uuid4().hex,
            "Body": body,
            "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1700000000000",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1700000000001",
            },
        }
        for _ in range(count)
    ]
    return sqs_delivery(messages, queue=queue, region=region)


def sqs_delivery(
    messages: Sequence[dict[str, Any]], *, queue: str = "my-queue", region: str = REGION
) -> dict[str, Any]:
    """The batch an SQS event source mapping delivers for ``messages``, as ReceiveMessage returned them."""
    arn = naming.queue_arn(region, ACCOUNT, queue)
    return sqs.event([sqs.record(message, queue_arn=arn, region=region) for message in messages])


def schedule(*, rule: str = "my-schedule", region: str = REGION) -> dict[str, Any]:
    """The Scheduled Event an EventBridge rule named ``rule`` delivers."""
    return scheduled_event(rule_arn=rule_arn(region=region, account_id=ACCOUNT, rule=rule), account_id=ACCOUNT,
                           region=region)  # fmt: skip


def s3_notification(*, bucket: str = "my-bucket", key: str = "uploads/photo one.jpg", event: str = "ObjectCreated:Put",
                    size: int = 1024, region: str = REGION) -> dict[str, Any]:  # fmt: skip
    """An S3 notification of one object."""
    record = s3.record(
        event_name=event, bucket=bucket, key=key, size=size, etag="d41d8cd98f00b204e9800998ecf8427e",
        region=region, configuration_id="sample",
    )  # fmt: skip
    return {"Records": [record]}
