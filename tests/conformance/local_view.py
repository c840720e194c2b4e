"""What the local cloud runs for a stack, built with its own code: the embedded AWS provisioned (in-process moto,
through :class:`stratus.local.aws.LocalAws`), the service units (:class:`stratus.local.units.UnitFactory`: Lambda
functions with their environments, SQS event sources, schedules, containers) and the HTTP API
(:class:`stratus.local.cloud.LocalCloud`: routes and authorizers). Nothing is started: no process, no socket.

Values are read back as :class:`~tests.conformance.terraform_view.Thing` where they denote something the local
AWS holds (a queue's URL, a table's name), so they compare with what the Terraform declares.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from moto import mock_aws

from stratus import naming
from stratus.local.authorizer import LocalAuthorizer
from stratus.local.cloud import DevOptions, LocalCloud
from stratus.local.environ import Endpoints
from stratus.local.gateway import LambdaIntegration
from stratus.local.logs import LogSink
from stratus.local.postgres import PostgresServer
from stratus.local.units import UnitFactory
from stratus.testing.inprocess import MockedAws, provision
from tests.conformance.terraform_view import Thing

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stratus.manifest import Stack

API, AWS, INVOKE = "http://127.0.0.1:8080", "http://127.0.0.1:5000", "http://127.0.0.1:8081"


def _role_policies(iam: Any, stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Service -> the statements of its role's inline policy in the local IAM."""
    out = {}
    for name, service in stack.plan.services.items():
        for policy in iam.list_role_policies(RoleName=service.role_name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=service.role_name, PolicyName=policy)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            out.setdefault(name, []).extend(document["Statement"])
    return out


def _credentials() -> dict[str, str]:
    return {k.lower(): v for k, v in naming.LOCAL_CREDENTIALS.items()}


class LocalView:
    def __init__(self, stack: Stack, scratch: Path) -> None:
        self.stack = stack
        sink = LogSink(io.StringIO())
        databases = {
            name: PostgresServer(name, database.db_name, scratch / name, port=5432 + i).url
            for i, (name, database) in enumerate(sorted(stack.plan.databases.items()))
        }
        region = stack.project.region
        with mock_aws():
            provisioned = provision(stack, databases)
            MockedAws(sink, region).provision_roles(stack, provisioned)
            self.policies = _role_policies(boto3.client("iam", region_name=region, **_credentials()), stack)
            self._read_aws(lambda service: boto3.client(service, region_name=region, **_credentials()))
            manager = boto3.client("secretsmanager", region_name=region, **_credentials())
            self.secrets = {}
            for arn in provisioned.secrets.values():
                found = manager.get_secret_value(SecretId=arn)
                generated = stack.plan.secrets[found["Name"].removeprefix(stack.plan.prefix + "-")].spec.generate
                # what the local cloud holds: a value of the length Terraform generates (None: set by hand)
                self.secrets[found["Name"]] = {"length": len(found["SecretString"]) if generated else None}
        self.endpoints = Endpoints(aws=AWS, invoke=INVOKE, api=API, provisioned=provisioned, databases=databases)
        self.index: dict[str, Thing] = dict(self._things)
        self.index[API] = Thing("api", "", "url")
        for name, url in databases.items():
            self.index[url] = Thing("database", name, "url")
            self.index[provisioned.database_secrets[name]] = Thing("database", name, "secret_arn")
        for name, arn in provisioned.secrets.items():
            self.index[arn] = Thing("secret", stack.plan.secrets[name].aws_name, "arn")
        self.database_names = {name: urlsplit(url).path.lstrip("/") for name, url in databases.items()}
        factory = UnitFactory(
            stack=stack, endpoints=self.endpoints, identity=None, sink=sink, http=None,  # type: ignore[arg-type]
            sqs_client=lambda session: None, max_environments=1,
        )  # fmt: skip
        cloud = LocalCloud(stack, DevOptions(), sink)
        cloud.units = {name: factory.build(name) for name in stack.services}
        cloud._index_functions()
        self.units = cloud.units
        self.api = cloud._http_api()
        asyncio.run(cloud._http.aclose())

    def thing(self, value: str) -> Thing | str:
        return self.index.get(value, value)

    # ------------------------------------------------------------------------------------------- the AWS

    def _read_aws(self, client: Callable[[str], Any]) -> None:
        """What the local AWS holds once provisioned."""
        sqs, dynamodb, s3 = (client(s) for s in ("sqs", "dynamodb", "s3"))
        self._things: dict[str, Thing] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        arns: dict[str, str] = {}
        attributes: dict[str, dict[str, str]] = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            name = attrs["QueueArn"].rsplit(":", 1)[1]
            arns[attrs["QueueArn"]], attributes[name] = name, attrs
            self._things.update({url: Thing("queue", name, "url"), attrs["QueueArn"]: Thing("queue", name, "arn"),
                                 name: Thing("queue", name, "name")})  # fmt: skip
        for name, attrs in attributes.items():
            if "RedrivePolicy" not in attrs:
                continue
            redrive = json.loads(attrs["RedrivePolicy"])
            dlq = arns[redrive["deadLetterTargetArn"]]
            self.queues[name] = {
                "dlq": dlq,
                "fifo": attrs.get("FifoQueue") == "true",
                "visibility_timeout": int(attrs["VisibilityTimeout"]),
                "retention": int(attrs["MessageRetentionPeriod"]),
                "dlq_retention": int(attributes[dlq]["MessageRetentionPeriod"]),
                "delay": int(attrs["DelaySeconds"]),
                "receive_wait": int(attrs["ReceiveMessageWaitTimeSeconds"]),
                "max_receive_count": int(redrive["maxReceiveCount"]),
            }
        self.tables: dict[str, dict[str, Any]] = {}
        for name in dynamodb.list_tables()["TableNames"]:
            table = dynamodb.describe_table(TableName=name)["Table"]
            types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
            ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            self.tables[name] = {
                "keys": [(k["AttributeName"], types[k["AttributeName"]]) for k in table["KeySchema"]],
                "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
                "indexes": sorted(
                    (
                        index["IndexName"],
                        tuple((k["AttributeName"], types[k["AttributeName"]]) for k in index["KeySchema"]),
                        index["Projection"]["ProjectionType"],
                    )
                    for index in table.get("GlobalSecondaryIndexes", [])
                ),
            }
            self._things.update(
                {
                    name: Thing("table", name, "name"),
                    table["TableArn"]: Thing("table", name, "arn"),
                    f"{table['TableArn']}/index/*": Thing("table", name, "index_arns"),
                }
            )
        self.buckets: dict[str, dict[str, Any]] = {}
        self.notifications: dict[tuple[str, str], dict[str, Any]] = {}
        for bucket in s3.list_buckets()["Buckets"]:
            name = bucket["Name"]
            self.buckets[name] = {"versioning": s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled"}
            arn = f"arn:aws:s3:::{name}"  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-arn-format.html
            self._things.update({name: Thing("bucket", name, "name"), arn: Thing("bucket", name, "arn"),
                                 f"{arn}/*": Thing("bucket", name, "objects")})  # fmt: skip
            config = s3.get_bucket_notification_configuration(Bucket=name)
            for n in config.get("LambdaFunctionConfigurations", []):
                filters = n.get("Filter", {}).get("Key", {}).get("FilterRules", [])
                rules = {r["Name"].lower(): r["Value"] for r in filters}
                self.notifications[(name, n["Id"])] = {
                    "function": n["LambdaFunctionArn"].split(":function:", 1)[1],
                    "events": sorted(n["Events"]),
                    "prefix": rules.get("prefix", ""),
                    "suffix": rules.get("suffix", ""),
                }

    # ------------------------------------------------------------------------------------------- facts

    def functions(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, unit in self.units.items():
            for function in unit.functions.values():
                config = function.config
                out[config.name] = {
                    "provisioned_concurrency": unit.provisioned if function is unit.functions[name] else None,
                    "service": name,
                    "handler": config.handler,
                    "memory": config.memory,
                    "timeout": config.timeout,
                    "reserved_concurrency": config.reserved_concurrency,
                    "environment": {k: self.thing(v) for k, v in config.environ.items()},
                }
        return out

    def containers(self) -> dict[str, dict[str, Any]]:
        return {
            name: {"environment": {k: self.thing(v) for k, v in unit.container.environ.items()}}
            for name, unit in self.units.items()
            if unit.container is not None
        }

    def event_sources(self) -> dict[str, dict[str, Any]]:
        out = {}
        for unit in self.units.values():
            for source in unit.sources.values():
                queue = self.thing(source.queue_url)
                assert isinstance(queue, Thing), f"{source.queue_url} is not a queue of the local AWS"
                out[source.function.config.name] = {
                    "queue": queue.name,
                    "batch_size": source.batch_size,
                    "batching_window": source.batching_window,
                    "report_batch_item_failures": source.report_batch_item_failures,
                }
        return out

    def schedules(self) -> dict[str, dict[str, Any]]:
        return {
            rule.function.config.name: {"rule": rule.rule, "expression": rule.schedule.expression}
            for unit in self.units.values()
            for rule in unit.rules.values()
        }

    def grants(self) -> dict[str, list[tuple[str, tuple[str, ...], tuple[Thing | str, ...]]]]:
        """Each service's role policy as the local IAM holds it (what the enforcer evaluates)."""
        return {
            name: [
                (s["Sid"], tuple(s["Action"]), tuple(self.thing(r) for r in s["Resource"]))
                for s in self.policies.get(name, [])
            ]
            for name in self.stack.plan.services
        }

    def routes(self) -> dict[str, dict[str, Any]]:
        out = {}
        for route in self.api.routes.routes:
            integration = self.api.integrations[route.target]
            guard = self.api.authorizers.get(route.authorizer) if route.authorizer else None
            assert guard is None or isinstance(guard, LocalAuthorizer)
            out[route.key] = {
                "service": route.target,
                "function": integration.function.config.name if isinstance(integration, LambdaIntegration) else None,
                "timeout_ms": round(integration.timeout * 1000),  # type: ignore[attr-defined]
                "authorizer": None
                if route.authorizer is None
                else ((guard.function.config.name, tuple(guard.identity_sources), guard.ttl) if guard else "missing"),
            }
        return out
