"""The embedded AWS: a moto server on a free local port, provisioned with what the manifest declares.

Each queue gets its dead-letter queue and redrive policy, each table its keys, indexes, TTL and on-demand billing,
each bucket its versioning and notifications, each database a secret with its credentials (as RDS keeps the
master user's): the same resources, under the same names (``stack.plan``), as ``stratus infra`` creates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx
from botocore.config import Config
from botocore.exceptions import ClientError
from stratus_common.aws import new_session

from stratus import naming
from stratus.errors import LocalCloudError
from stratus.local import processes, roles
from stratus.local.iam.enforcer import DENIED_MARK

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.manifest import Plan, Stack
    from stratus.manifest.plan import BucketPlan, DatabasePlan
    from stratus.manifest.schema import TableIndex


@dataclass
class Provisioned:
    """What the local AWS holds for the stack, by manifest name: what only exists once provisioned."""

    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dlq_arns: dict[str, str] = field(default_factory=dict)
    database_secrets: dict[str, str] = field(default_factory=dict)  # database -> its credentials' secret ARN
    secrets: dict[str, str] = field(default_factory=dict)  # declared secret -> its ARN
    roles: dict[str, str] = field(default_factory=dict)  # service -> its role's ARN (IAM enforced)
    # session name (a function's, or a container service's) -> the variables of its assumed-role credentials
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def aws_shaped(cls, plan: Plan, account: str) -> Provisioned:
        """What AWS would hold for ``plan`` in ``account``, without asking it (zips booted outside a stack)."""
        out = cls()
        for name, queue in plan.queues.items():
            out.queue_urls[name] = naming.queue_url(plan.region, account, queue.aws_name)
            out.dlq_urls[name] = naming.queue_url(plan.region, account, queue.dlq_name)
            out.queue_arns[name] = naming.queue_arn(plan.region, account, queue.aws_name)
            out.dlq_arns[name] = naming.queue_arn(plan.region, account, queue.dlq_name)
        for name, database in plan.databases.items():
            out.database_secrets[name] = naming.secret_arn(plan.region, account, database_secret_name(database))
        for name, secret in plan.secrets.items():
            out.secrets[name] = naming.secret_arn(plan.region, account, secret.aws_name)
        return out


# How long the sessions the local cloud issues to its functions and containers last. In AWS, Lambda and ECS
# renew them unseen (an execution environment is recycled, a container's credentials endpoint refreshes); a
# local process keeps the variables it started with, so its session outlives any `stratus dev` session.
SESSION_SECONDS = 30 * 24 * 3600


def database_secret_name(database: DatabasePlan) -> str:
    """The local stand-in for the secret RDS manages for a database's master user."""
    return f"{database.aws_name}-credentials"


class LocalAws:
    """Starts, provisions and stops the moto server."""

    def __init__(
        self,
        sink: LogSink,
        region: str,
        invoke_url: str = "",
        *,
        iam: bool = True,
        on_denied: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.sink = sink
        self.region = region
        self.invoke_url = invoke_url  # where S3 notifications invoke Lambda functions
        self.iam = iam  # enforce IAM: each service runs with its role's credentials
        self.on_denied = on_denied  # told of each call IAM refused (the enforcer's line, parsed)
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, credentials: Mapping[str, str] | None = None) -> Any:
        """A boto3 client of the local AWS: the account's own credentials, or ``credentials`` (a session's
        ``AWS_*`` variables)."""
        keys = credentials or naming.LOCAL_CREDENTIALS
        return new_session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=keys["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=30),
        )

    async def start(self, timeout: float = 20.0) -> None:
        # The listening socket is made here and handed over (werkzeug serves an inherited one, as under its
        # reloader): a port only picked here could be taken before the server binds it, by a runtime API listener
        # of this very stack, which would then answer the AWS calls.
        listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
        self.port = int(listener.getsockname()[1])
        # moto must not inherit AWS_* settings: an AWS_PROFILE naming a missing profile breaks every request.
        env = processes.clean_environ(
            {
                "MOTO_ACCOUNT_ID": naming.LOCAL_ACCOUNT_ID,
                "STRATUS_INVOKE_URL": self.invoke_url,
                "STRATUS_IAM": "enforce" if self.iam else "off",
                "WERKZEUG_RUN_MAIN": "true",
                "WERKZEUG_SERVER_FD": str(listener.fileno()),
            }
        )
        try:
            self.process = await processes.spawn(
                [sys.executable, "-m", "stratus.local.aws_server", "-H", "127.0.0.1", "-p", str(self.port)],
                env=env,
                pass_fds=(listener.fileno(),),
            )
        finally:
            listener.close()
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
                    ready = await client.get(f"{self.endpoint}/moto-api/data.json", timeout=1)
                    if ready.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise LocalCloudError(f"the embedded AWS did not answer within {timeout:.0f} s on port {self.port}")

    async def _pump_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace")
            if line.startswith(DENIED_MARK):
                try:
                    denied = json.loads(line[len(DENIED_MARK) :])
                except ValueError:
                    denied = None
                if isinstance(denied, dict) and self.on_denied is not None:
                    self.on_denied(denied)
                    continue
            self.sink.write("aws", line)

    async def stop(self) -> None:
        if self.process is not None:
            await processes.stop(self.process, grace=2)
        if self._pump is not None:
            await asyncio.gather(self._pump, return_exceptions=True)

    async def provision(self, stack: Stack, databases: Mapping[str, str], secrets: Mapping[str, str]) -> Provisioned:
        """Create what ``stack`` declares (idempotent: a reloaded manifest adds what is new); ``databases`` are
        the URLs of the local PostgreSQL servers, whose credentials go to each database's secret, and ``secrets``
        the values of the declared secrets."""
        provisioned = await asyncio.to_thread(self.provision_now, stack.plan, databases, secrets)
        if self.iam:
            await asyncio.to_thread(self.provision_roles, stack, provisioned)
        return provisioned

    def provision_roles(self, stack: Stack, provisioned: Provisioned) -> None:
        """Each service's role with its policy (:mod:`stratus.local.roles`), and credentials of a session of it
        for each function and container, in ``provisioned``. Sessions are issued by the local cloud as Lambda
        and ECS issue them, for :data:`SESSION_SECONDS`."""
        iam, sts = self.client("iam"), self.client("sts")
        for role in roles.roles(stack, provisioned):
            try:
                arn = iam.create_role(
                    RoleName=role.name, AssumeRolePolicyDocument=role.trust_policy, MaxSessionDuration=43200
                )["Role"]["Arn"]
            except iam.exceptions.EntityAlreadyExistsException:  # a reloaded manifest: the policy may differ
                arn = iam.get_role(RoleName=role.name)["Role"]["Arn"]
            if role.policy is not None:
                document = json.dumps(role.policy)
                iam.put_role_policy(RoleName=role.name, PolicyName=role.policy_name, PolicyDocument=document)
            else:
                with contextlib.suppress(iam.exceptions.NoSuchEntityException):
                    iam.delete_role_policy(RoleName=role.name, PolicyName=role.policy_name)
            provisioned.roles[role.service] = arn
            for session in role.sessions:
                issued = sts.assume_role(RoleArn=arn, RoleSessionName=session[:64], DurationSeconds=SESSION_SECONDS)
                keys = issued["Credentials"]
                provisioned.credentials[session] = {
                    "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": keys["SessionToken"],
                }

    def provision_now(self, plan: Plan, databases: Mapping[str, str], secrets: Mapping[str, str]) -> Provisioned:
        """What :meth:`provision` does, in this thread (a test's AWS of its own, :mod:`stratus.testing.inprocess`)."""
        out = Provisioned()
        sqs = self.client("sqs")
        for name, queue in plan.queues.items():
            spec = queue.spec
            base = {"MessageRetentionPeriod": str(spec.message_retention)}
            if spec.fifo:
                base["FifoQueue"] = "true"
            dlq_url = _ensure_queue(sqs, queue.dlq_name, {**base, "MessageRetentionPeriod": str(queue.dlq_retention)})
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            url = _ensure_queue(
                sqs,
                queue.aws_name,
                {
                    **base,
                    "VisibilityTimeout": str(spec.visibility_timeout),
                    "DelaySeconds": str(spec.delay_seconds),
                    "ReceiveMessageWaitTimeSeconds": str(spec.receive_wait),
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
                    ),
                },
            )
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            out.queue_urls[name], out.dlq_urls[name] = url, dlq_url
            out.queue_arns[name], out.dlq_arns[name] = arn, dlq_arn

        dynamodb = self.client("dynamodb")
        for table in plan.tables.values():
            key = table.spec
            attrs = [{"AttributeName": a, "AttributeType": t} for a, t in key.attribute_definitions().items()]
            indexes = [_index(index) for index in key.indexes]
            try:
                dynamodb.create_table(
                    TableName=table.aws_name,
                    KeySchema=_key_schema(key.hash_key, key.range_key),
                    AttributeDefinitions=attrs,
                    BillingMode="PAY_PER_REQUEST",
                    **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
                )
            except dynamodb.exceptions.ResourceInUseException:  # provisioned before (a reload, or kept data)
                _add_missing_indexes(dynamodb, table.aws_name, attrs, indexes)
                continue
            if key.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=table.aws_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": key.ttl_attribute},
                )

        s3 = self.client("s3")
        for bucket in plan.buckets.values():
            try:
                if self.region == "us-east-1":
                    s3.create_bucket(Bucket=bucket.aws_name)
                else:
                    location = {"LocationConstraint": self.region}
                    s3.create_bucket(Bucket=bucket.aws_name, CreateBucketConfiguration=location)
            except s3.exceptions.BucketAlreadyOwnedByYou:  # provisioned before (a manifest reload)
                pass
            if bucket.spec.versioning:
                s3.put_bucket_versioning(Bucket=bucket.aws_name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_notification_configuration(
                Bucket=bucket.aws_name,
                NotificationConfiguration={"LambdaFunctionConfigurations": _notifications(bucket, self.region)},
            )

        if plan.databases or plan.secrets:
            manager = self.client("secretsmanager")
            for name, database in plan.databases.items():
                secret = database_secret_name(database)
                out.database_secrets[name] = _ensure_secret(manager, secret, _credentials(databases[name]))
            for name, declared in plan.secrets.items():
                out.secrets[name] = _ensure_secret(manager, declared.aws_name, secrets[name])
        return out


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return keys


def _index(index: TableIndex) -> dict[str, Any]:
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.hash_key, index.range_key),
        "Projection": {"ProjectionType": index.projection.upper()},
    }


def _add_missing_indexes(dynamodb: Any, table: str, attrs: list[dict[str, str]], indexes: list[dict[str, Any]]) -> None:
    """A table kept from an earlier run gets the indexes declared since (as Terraform would add them in AWS)."""
    described = dynamodb.describe_table(TableName=table)["Table"]
    existing = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    for index in indexes:
        if index["IndexName"] not in existing:
            dynamodb.update_table(
                TableName=table, AttributeDefinitions=attrs, GlobalSecondaryIndexUpdates=[{"Create": index}]
            )


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


def _ensure_secret(manager: Any, name: str, value: str) -> str:
    """Create the secret, or give an existing one (a reloaded manifest) this value if it has another; its ARN."""
    try:
        return str(manager.create_secret(Name=name, SecretString=value)["ARN"])
    except manager.exceptions.ResourceExistsException:
        current = manager.get_secret_value(SecretId=name)
        if current.get("SecretString") != value:
            manager.put_secret_value(SecretId=name, SecretString=value)
        return str(current["ARN"])


def _credentials(url: str) -> str:
    """What RDS keeps in a database's managed master secret (username and password), from a local URL."""
    parts = urlsplit(url)
    return json.dumps({"username": unquote(parts.username or ""), "password": unquote(parts.password or "")})


def _notifications(bucket: BucketPlan, region: str) -> list[dict[str, Any]]:
    out = []
    for notification in bucket.notifications:
        rules = [{"Name": "prefix", "Value": notification.prefix}] if notification.prefix else []
        if notification.suffix:
            rules.append({"Name": "suffix", "Value": notification.suffix})
        config: dict[str, Any] = {
            "Id": notification.id,
            "LambdaFunctionArn": naming.lambda_arn(region, naming.LOCAL_ACCOUNT_ID, notification.function_name),
            "Events": list(notification.events),
        }
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        out.append(config)
    return out
