"""The embedded AWS: a moto server on a free local port, provisioned with what the manifest declares.

Each queue gets its dead-letter queue and redrive policy, each table its keys, TTL and on-demand billing,
each bucket its versioning: the same resources, under the same names, as ``stratus infra`` creates.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

from stratus import naming
from stratus.errors import LocalCloudError
from stratus.local import processes

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.manifest import Stack

ACCOUNT_ID = "123456789012"  # moto's default account
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass
class Provisioned:
    """What the local AWS holds for the stack, by manifest name."""

    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)


class LocalAws:
    """Starts, provisions and stops the moto server."""

    def __init__(self, sink: LogSink, region: str, invoke_url: str = "") -> None:
        self.sink = sink
        self.region = region
        self.invoke_url = invoke_url  # where S3 notifications invoke Lambda functions
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=30),
        )

    async def start(self, timeout: float = 20.0) -> None:
        self.port = processes.free_port()
        # moto must not inherit AWS_* settings: an AWS_PROFILE naming a missing profile breaks every request.
        env = processes.clean_environ({"MOTO_ACCOUNT_ID": ACCOUNT_ID, "STRATUS_INVOKE_URL": self.invoke_url})
        self.process = await processes.spawn(
            [sys.executable, "-m", "stratus.local.aws_server", "-H", "127.0.0.1", "-p", str(self.port)], env=env
        )
        self._pump = asyncio.create_task(self._pump_output())
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise LocalCloudError(
                        f"the embedded AWS (moto server) exited with code {self.process.returncode}",
                        hint="its output is above; check that `moto[server]` is installed (uv sync)",
                    )
                try:
                    await client.get(f"{self.endpoint}/moto-api/data.json", timeout=1)
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        raise LocalCloudError(f"the embedded AWS did not answer within {timeout:.0f} s on port {self.port}")

    async def _pump_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            self.sink.write("aws", line.decode(errors="replace"))

    async def stop(self) -> None:
        if self.process is not None:
            await processes.stop(self.process, grace=2)
        if self._pump is not None:
            await asyncio.gather(self._pump, return_exceptions=True)

    async def provision(self, stack: Stack) -> Provisioned:
        return await asyncio.to_thread(self._provision, stack)

    def _provision(self, stack: Stack) -> Provisioned:
        out = Provisioned()
        sqs = self.client("sqs")
        for name, queue in stack.queues.items():
            suffix = ".fifo" if queue.fifo else ""
            base = {"MessageRetentionPeriod": str(queue.message_retention)}
            if queue.fifo:
                base["FifoQueue"] = "true"
            dlq_url = _ensure_queue(
                sqs, naming.dlq_name(stack.project.name, stack.env, name) + suffix,
                {**base, "MessageRetentionPeriod": "1209600"},
            )  # fmt: skip
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            url = _ensure_queue(
                sqs,
                stack.resource_name(name) + suffix,
                {
                    **base,
                    "VisibilityTimeout": str(queue.visibility_timeout),
                    "DelaySeconds": str(queue.delay_seconds),
                    "ReceiveMessageWaitTimeSeconds": str(queue.receive_wait),
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                    ),
                },
            )
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            out.queue_urls[name], out.dlq_urls[name], out.queue_arns[name] = url, dlq_url, arn

        dynamodb = self.client("dynamodb")
        for name, table in stack.tables.items():
            table_name = stack.resource_name(name)
            keys = [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
            attrs = [{"AttributeName": table.hash_key, "AttributeType": table.hash_key_type}]
            if table.range_key:
                keys.append({"AttributeName": table.range_key, "KeyType": "RANGE"})
                attrs.append({"AttributeName": table.range_key, "AttributeType": table.range_key_type})
            out.tables[name] = table_name
            try:
                dynamodb.create_table(
                    TableName=table_name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
                )
            except dynamodb.exceptions.ResourceInUseException:  # provisioned before (a manifest reload)
                continue
            if table.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )

        s3 = self.client("s3")
        for name, bucket in stack.buckets.items():
            bucket_name = stack.resource_name(name)
            try:
                if self.region == "us-east-1":
                    s3.create_bucket(Bucket=bucket_name)
                else:
                    s3.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": self.region})
            except s3.exceptions.BucketAlreadyOwnedByYou:  # provisioned before (a manifest reload)
                pass
            if bucket.versioning:
                s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_notification_configuration(
                Bucket=bucket_name,
                NotificationConfiguration={"LambdaFunctionConfigurations": _notifications(stack, name, self.region)},
            )
            out.buckets[name] = bucket_name
        return out


def _ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """Create the queue, or bring an existing one (a manifest reload) to these attributes."""
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
    url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={k: v for k, v in attributes.items() if k != "FifoQueue"})
    return url


def _notifications(stack: Stack, bucket: str, region: str) -> list[dict[str, Any]]:
    out = []
    for i, notification in enumerate(stack.buckets[bucket].notify):
        function = naming.notification_function_name(stack.project.name, stack.env, notification.service, bucket)
        rules = [{"Name": "prefix", "Value": notification.prefix}] if notification.prefix else []
        if notification.suffix:
            rules.append({"Name": "suffix", "Value": notification.suffix})
        config: dict[str, Any] = {
            "Id": f"{notification.service}-{i}",
            "LambdaFunctionArn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function}",
            "Events": list(notification.events),
        }
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        out.append(config)
    return out
