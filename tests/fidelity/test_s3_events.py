"""S3 event notifications as a Lambda receives them, compared with AWS's record.

The queue lab (tests/e2e/lab.py) notifies ``qlab-dev-consumer-uploads-events`` of ``s3:ObjectCreated:*`` and
``s3:ObjectRemoved:*`` in bucket ``qlab-dev-uploads`` for keys with prefix ``in/`` and suffix ``.txt``; its handler
appends every record it gets to ``<root>/deliveries.jsonl``. This module makes its objects once (under a prefix of
its own, so that other users of the stack do not disturb it) and checks the records they caused. The shape is
compared with ``tests/events/s3Event.json`` (an ``ObjectCreated:Put`` record, from aws-powertools'
tests/events).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import pytest

from stratus.local.client import client
from stratus.testing.launcher import DevStack
from tests.events import load_event

pytestmark = pytest.mark.e2e

STRUCTURE = "DOC https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html"
TYPES = (
    "DOC https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html"
)
FILTERS = "DOC https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html"
SAMPLE = "OBS aws-powertools/powertools-lambda-python tests/events/s3Event.json (an ObjectCreated:Put record)"
BUCKET = "qlab-dev-uploads"


@dataclass
class Uploads:
    """What this module did to the bucket, and the records the function got for it."""

    prefix: str
    etags: dict[str, str]  # key -> the ETag S3 answered
    started: float
    records: list[dict[str, Any]]

    def of(self, key: str, event_name: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records if r["s3"]["object"]["key"] == key
                and (event_name is None or r["eventName"] == event_name)]  # fmt: skip

    def one(self, key: str, event_name: str) -> dict[str, Any]:
        (record,) = self.of(key, event_name)
        return record


def s3_client(stack: DevStack) -> Any:
    return client(stack.dev_state(), "s3")


def delivered(stack: DevStack) -> list[dict[str, Any]]:
    path = stack.root / "deliveries.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [entry for line in lines if "s3" in (entry := json.loads(line))]


@pytest.fixture(scope="module")
def uploads(queue_lab: DevStack) -> Iterator[Uploads]:
    s3 = s3_client(queue_lab)
    prefix = f"in/{uuid.uuid4().hex[:8]}/"
    started = time.time()
    etags = {}
    for key, body in (("red flower.txt", b"hello"), ("a+b&c=é.txt", b"x" * 10), ("twice.txt", b"1")):
        etags[key] = s3.put_object(Bucket=BUCKET, Key=prefix + key, Body=body)["ETag"]
    s3.put_object(Bucket=BUCKET, Key=prefix + "twice.txt", Body=b"22")
    s3.copy_object(Bucket=BUCKET, Key=prefix + "copy.txt", CopySource={"Bucket": BUCKET, "Key": prefix + "twice.txt"})
    s3.delete_object(Bucket=BUCKET, Key=prefix + "red flower.txt")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=prefix + "parts.txt")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key=prefix + "parts.txt", UploadId=upload, PartNumber=1, Body=b"p" * 100)
    etags["parts.txt"] = s3.complete_multipart_upload(
        Bucket=BUCKET, Key=prefix + "parts.txt", UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )["ETag"]  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key="out/" + prefix + "skipped.txt", Body=b"x")  # outside the prefix
    s3.put_object(Bucket=BUCKET, Key=prefix + "skipped.bin", Body=b"x")  # without the suffix
    expected = 7  # 3 puts, a second put, a copy, a delete, a multipart upload
    deadline = time.monotonic() + 15
    while True:
        records = [d["s3"] for d in delivered(queue_lab) if prefix in d["s3"]["s3"]["object"]["key"]]
        if len(records) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.3)  # anything notified late (the filtered-out keys must not be)
    records = [d["s3"] for d in delivered(queue_lab) if prefix in d["s3"]["s3"]["object"]["key"]]
    assert len(records) >= expected, records
    yield Uploads(prefix, etags, started, records)


# ----------------------------------------------------------------------------------------------- the shape


@pytest.mark.aws(SAMPLE + "; " + STRUCTURE)
def test_a_record_has_the_keys_of_awss_record(uploads: Uploads) -> None:
    record = uploads.one(uploads.prefix + "red+flower.txt", "ObjectCreated:Put")
    sample = load_event("s3Event")["Records"][0]
    assert set(record) == set(sample)
    assert set(record["s3"]) == set(sample["s3"])
    assert set(record["s3"]["bucket"]) == set(sample["s3"]["bucket"])
    assert set(record["s3"]["object"]) == set(sample["s3"]["object"])


@pytest.mark.aws(SAMPLE)
def test_a_records_values_have_the_json_types_of_awss_record(uploads: Uploads) -> None:
    record = uploads.one(uploads.prefix + "red+flower.txt", "ObjectCreated:Put")
    sample = load_event("s3Event")["Records"][0]

    def shape(value: Any) -> Any:
        return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else type(value).__name__

    assert shape(record) == shape(sample)


@pytest.mark.aws(SAMPLE + " (no versionId in a bucket without versioning); " + STRUCTURE)
def test_an_unversioned_buckets_record_has_no_version_id(uploads: Uploads) -> None:
    assert "versionId" not in uploads.one(uploads.prefix + "red+flower.txt", "ObjectCreated:Put")["s3"]["object"]


@pytest.mark.aws(STRUCTURE + ' (eventSource "aws:s3", s3SchemaVersion "1.0")')
def test_the_event_source_is_aws_s3_and_the_schema_1_0(uploads: Uploads) -> None:
    for record in uploads.records:
        assert (record["eventSource"], record["s3"]["s3SchemaVersion"]) == ("aws:s3", "1.0")


@pytest.mark.aws(STRUCTURE + " (eventVersion 2.x: 2.1 in the example and in " + SAMPLE + ")")
def test_the_event_version_is_a_2_x_version(uploads: Uploads) -> None:
    assert all(re.fullmatch(r"2\.\d+", record["eventVersion"]) for record in uploads.records)


@pytest.mark.aws(STRUCTURE + " (awsRegion: the bucket's Region)")
def test_the_region_is_the_buckets(uploads: Uploads) -> None:
    assert {record["awsRegion"] for record in uploads.records} == {"us-east-1"}


@pytest.mark.aws(STRUCTURE + " (eventTime: ISO-8601, e.g. 1970-01-01T00:00:00.000Z, when S3 finished the request)")
def test_the_event_time_is_iso_8601_in_milliseconds_after_the_request(uploads: Uploads) -> None:
    for record in uploads.records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"]), record["eventTime"]
        moment = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
        assert uploads.started - 1 <= moment <= time.time()


# ------------------------------------------------------------------------------------------------ event names


@pytest.mark.aws(TYPES + " (s3:ObjectCreated:Put; the record's eventName has no s3: prefix: " + SAMPLE + ")")
def test_a_put_is_object_created_put(uploads: Uploads) -> None:
    assert [r["eventName"] for r in uploads.of(uploads.prefix + "a%2Bb%26c%3D%C3%A9.txt")] == ["ObjectCreated:Put"]


@pytest.mark.aws(TYPES + " (s3:ObjectCreated:Copy)")
def test_a_copy_is_object_created_copy(uploads: Uploads) -> None:
    assert [r["eventName"] for r in uploads.of(uploads.prefix + "copy.txt")] == ["ObjectCreated:Copy"]


@pytest.mark.aws(TYPES + " (s3:ObjectRemoved:Delete: an unversioned object deleted)")
def test_a_delete_is_object_removed_delete(uploads: Uploads) -> None:
    assert uploads.one(uploads.prefix + "red+flower.txt", "ObjectRemoved:Delete")


@pytest.mark.aws(TYPES + " (s3:ObjectCreated:CompleteMultipartUpload: an object created by a multipart upload)")
def test_a_multipart_upload_is_one_complete_multipart_upload_event(uploads: Uploads) -> None:
    records = uploads.of(uploads.prefix + "parts.txt")
    assert [r["eventName"] for r in records] == ["ObjectCreated:CompleteMultipartUpload"]  # not also a Put
    assert records[0]["s3"]["object"]["size"] == 100
    assert records[0]["s3"]["object"]["eTag"] == uploads.etags["parts.txt"].strip('"')


@pytest.mark.aws(
    "OBS aws-powertools/powertools-lambda-python#4173 ('Object deletion event doesn't contain size' nor eTag); "
    "awslabs/swift-aws-lambda-runtime#195 (an ObjectRemoved:* record captured without size)"
)
def test_a_removed_objects_record_has_no_size_or_etag(uploads: Uploads) -> None:
    obj = uploads.one(uploads.prefix + "red+flower.txt", "ObjectRemoved:Delete")["s3"]["object"]
    assert set(obj) == {"key", "sequencer"}


@pytest.mark.aws(STRUCTURE + " (x-amz-id-2, as S3 answers it in its x-amz-id-2 header: base64)")
def test_the_id_2_response_element_is_base64(uploads: Uploads) -> None:
    for record in uploads.records:
        value = record["responseElements"]["x-amz-id-2"]
        assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value) and len(value) % 4 == 0, value


@pytest.mark.aws(TYPES + " (every put is an event: a key written twice is notified twice)")
def test_each_put_of_a_key_is_notified(uploads: Uploads) -> None:
    assert len(uploads.of(uploads.prefix + "twice.txt", "ObjectCreated:Put")) == 2


# -------------------------------------------------------------------------------------------- bucket and object


@pytest.mark.aws(STRUCTURE + " (s3.bucket: name and arn)")
def test_the_bucket_is_named_with_its_arn(uploads: Uploads) -> None:
    bucket = uploads.one(uploads.prefix + "red+flower.txt", "ObjectCreated:Put")["s3"]["bucket"]
    assert (bucket["name"], bucket["arn"]) == (BUCKET, f"arn:aws:s3:::{BUCKET}")


@pytest.mark.aws(STRUCTURE + " ('The s3 key ... is URL encoded': red flower.jpg -> red+flower.jpg)")
def test_a_space_in_the_key_is_encoded_as_a_plus(uploads: Uploads) -> None:
    assert uploads.of(uploads.prefix + "red+flower.txt")
    assert not [r for r in uploads.records if " " in r["s3"]["object"]["key"]]


@pytest.mark.aws(STRUCTURE + " (URL encoded as a form: + & = and UTF-8 bytes escaped, '/' kept)")
def test_reserved_and_non_ascii_characters_in_the_key_are_percent_encoded(uploads: Uploads) -> None:
    keys = {r["s3"]["object"]["key"] for r in uploads.of(uploads.prefix + "a%2Bb%26c%3D%C3%A9.txt")}
    assert keys == {uploads.prefix + "a%2Bb%26c%3D%C3%A9.txt"}
    assert unquote_plus(keys.pop()) == uploads.prefix + "a+b&c=é.txt"


@pytest.mark.aws(STRUCTURE + " (s3.object.size: the object's size in bytes)")
def test_the_size_is_the_objects_size_in_bytes(uploads: Uploads) -> None:
    assert uploads.one(uploads.prefix + "a%2Bb%26c%3D%C3%A9.txt", "ObjectCreated:Put")["s3"]["object"]["size"] == 10
    sizes = sorted(r["s3"]["object"]["size"] for r in uploads.of(uploads.prefix + "twice.txt", "ObjectCreated:Put"))
    assert sizes == [1, 2]


@pytest.mark.aws(STRUCTURE + " (s3.object.eTag); " + SAMPLE + " (the ETag without its quotes)")
def test_the_etag_is_the_objects_etag_without_quotes(uploads: Uploads) -> None:
    record = uploads.one(uploads.prefix + "red+flower.txt", "ObjectCreated:Put")
    assert record["s3"]["object"]["eTag"] == uploads.etags["red flower.txt"].strip('"')


@pytest.mark.aws(
    STRUCTURE + " (sequencer: a hexadecimal string; for one key, a later event has a greater sequencer, "
    "compared as strings after padding the shorter with zeros on the right)"
)
def test_a_later_event_on_a_key_has_a_greater_sequencer(uploads: Uploads) -> None:
    created = uploads.one(uploads.prefix + "red+flower.txt", "ObjectCreated:Put")["s3"]["object"]["sequencer"]
    removed = uploads.one(uploads.prefix + "red+flower.txt", "ObjectRemoved:Delete")["s3"]["object"]["sequencer"]
    assert re.fullmatch(r"[0-9A-F]+", created) and re.fullmatch(r"[0-9A-F]+", removed)
    width = max(len(created), len(removed))
    assert removed.ljust(width, "0") > created.ljust(width, "0")


@pytest.mark.aws(STRUCTURE + " (configurationId: the ID found in the bucket notification configuration)")
def test_the_configuration_id_is_the_notifications_id(queue_lab: DevStack, uploads: Uploads) -> None:
    configuration = s3_client(queue_lab).get_bucket_notification_configuration(Bucket=BUCKET)
    ids = {c["Id"] for c in configuration["LambdaFunctionConfigurations"]}
    assert {r["s3"]["configurationId"] for r in uploads.records} <= ids and ids


# ---------------------------------------------------------------------------------------------------- filters


@pytest.mark.aws(FILTERS + " (prefix: only keys that start with it are notified)")
def test_a_key_outside_the_prefix_is_not_notified(uploads: Uploads) -> None:
    assert not [r for r in uploads.records if r["s3"]["object"]["key"].startswith("out/")]


@pytest.mark.aws(FILTERS + " (suffix: only keys that end with it are notified)")
def test_a_key_without_the_suffix_is_not_notified(uploads: Uploads) -> None:
    assert not uploads.of(uploads.prefix + "skipped.bin")


@pytest.mark.aws(
    "DOC https://docs.aws.amazon.com/lambda/latest/dg/with-s3.html (S3 invokes the function the notification names)"
)
def test_the_notification_invokes_its_own_function(queue_lab: DevStack, uploads: Uploads) -> None:
    functions = {d["function"] for d in delivered(queue_lab) if uploads.prefix in d["s3"]["s3"]["object"]["key"]}
    assert functions == {"qlab-dev-consumer-uploads-events"}
