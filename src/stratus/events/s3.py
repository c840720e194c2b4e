"""S3 -> Lambda: the notification event
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).

A record: ``eventVersion`` "2.1", ``eventSource`` "aws:s3", ``awsRegion``, ``eventTime``, ``eventName``
without the ``s3:`` prefix (``ObjectCreated:Put``), ``userIdentity.principalId``,
``requestParameters.sourceIPAddress``, ``responseElements`` (``x-amz-request-id``, ``x-amz-id-2``) and
``s3`` (schema 1.0, ``configurationId``, ``bucket`` {name, ownerIdentity, arn}, ``object`` {key, size, eTag,
versionId when versioned, sequencer}; an ``ObjectRemoved`` record has no size or eTag: captures in
aws-powertools/powertools-lambda-python#4173 and awslabs/swift-aws-lambda-runtime#195). The key is URL-encoded
form-style (``red flower.jpg`` -> ``red+flower.jpg``; decode with ``unquote_plus``); a ``/`` stays as it is.
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

PRINCIPAL = "AWS:AIDAINPONIXQXHT3IKHL2"  # a placeholder principal id, as in AWS's examples


def encode_key(key: str) -> str:
    return quote_plus(key, safe="/")


def record(
    *,
    event_name: str,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    region: str,
    configuration_id: str,
    version_id: str | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    obj: dict[str, Any] = {"key": encode_key(key)}
    if not event_name.removeprefix("s3:").startswith("ObjectRemoved"):  # a removed object has no size or ETag
        obj.update(size=size, eTag=etag)
    if version_id:
        obj["versionId"] = version_id
    obj["sequencer"] = f"{time.time_ns():016X}"[-16:]
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "eventName": event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": PRINCIPAL},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": secrets.token_hex(8).upper(),
            "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode(),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": PRINCIPAL}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def complete(event: dict[str, Any]) -> dict[str, Any]:
    """Bring an event built by moto to AWS's shape: every field, and the key encoded as S3 encodes it."""
    records = []
    for raw in event.get("Records", []):
        s3 = raw.get("s3", {})
        obj = s3.get("object", {})
        records.append(
            record(
                event_name=raw.get("eventName", "ObjectCreated:Put"),
                bucket=s3.get("bucket", {}).get("name", ""),
                key=unquote_plus(obj.get("key", "")),
                size=int(obj.get("size") or 0),
                etag=obj.get("eTag", ""),
                region=raw.get("awsRegion", "us-east-1"),
                configuration_id=s3.get("configurationId", ""),
                version_id=obj.get("versionId"),
            )
        )
    return {"Records": records}
