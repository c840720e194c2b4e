"""The derived plan: every fact a back end needs, worked out once from the manifest.

``stack.plan`` (:func:`derive`) answers the questions the local cloud, the Terraform, the builds and the deploy
all ask: which Lambda functions a service has (handler, memory, timeout, trigger), which routes the HTTP API
has and which authorizer guards each, what every resource is called in AWS, what each service finds in its
environment and what its role may do. The back ends read the plan and work nothing out again, so what runs
under ``stratus dev`` is what ``stratus infra`` declares; ``tests/conformance`` compares the two.

Values only a running stack knows (a queue's URL, the API's endpoint, the environment's name in a Terraform
configuration shared by every environment) are :class:`Ref` s: the local cloud resolves them to what it
provisioned, the Terraform to module outputs and variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from stratus import naming
from stratus.manifest.functions import (
    ESM_LONG_POLL_S,
    BucketTrigger,
    Function,
    Notification,
    QueueTrigger,
    ScheduleTrigger,
    functions,
    notifications,
)
from stratus.manifest.grants import Grant, service_grants
from stratus.manifest.refs import Ref, Value
from stratus.manifest.routes import Authorizer, Route, authorizers, routes
from stratus.manifest.schema import AlarmThresholds, ContainerService, LambdaService
from stratus.manifest.wiring import environment

if TYPE_CHECKING:
    from stratus.manifest.schema import Bucket, Database, HealthCheck, Queue, Scaling, Secret, Table
    from stratus.manifest.stack import Binding, Stack

__all__ = [
    "DLQ_RETENTION_S",
    "ESM_LONG_POLL_S",
    "Authorizer",
    "BucketPlan",
    "BucketTrigger",
    "ContainerPlan",
    "DatabasePlan",
    "Function",
    "Grant",
    "Notification",
    "Plan",
    "QueuePlan",
    "QueueTrigger",
    "Ref",
    "Route",
    "ScheduleTrigger",
    "SecretPlan",
    "ServicePlan",
    "TablePlan",
    "Value",
    "derive",
]

DLQ_RETENTION_S = 1_209_600  # 14 days, SQS's maximum: time to inspect and redrive what failed


@dataclass(frozen=True)
class ContainerPlan:
    """How a container service runs: App Runner or ECS Express."""

    command: tuple[str, ...]
    port: int
    cpu: int
    memory: int
    scaling: Scaling
    health: HealthCheck


@dataclass(frozen=True)
class ServicePlan:
    name: str
    kind: Literal["lambda", "apprunner", "ecs-express"]
    path: str
    aws_name: str
    role_name: str
    image: bool  # AWS gets the code as a container image in ECR, not as a zip
    integration_timeout_ms: int
    bindings: tuple[Binding, ...]
    environment: Mapping[str, Value]  # as declared to AWS; the platform's own variables are not in it
    grants: tuple[Grant, ...]
    in_vpc: bool = False  # it uses a database, so it runs in (or reaches) the network
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)  # its own, else [alarms]
    functions: tuple[Function, ...] = ()  # Lambda services
    container: ContainerPlan | None = None  # container services

    def function(self, key: str) -> Function:
        for function in self.functions:
            if function.key == key:
                return function
        raise KeyError(f"{self.name} has no function {key!r}")


# --------------------------------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class QueuePlan:
    name: str
    spec: Queue
    suffix: str  # the AWS name without the <project>-<env>- prefix, with .fifo for a FIFO queue
    dlq_suffix: str
    aws_name: str
    dlq_name: str
    dlq_retention: int
    consumers: tuple[str, ...]  # sources of the functions that consume it


@dataclass(frozen=True)
class TablePlan:
    name: str
    spec: Table
    aws_name: str


@dataclass(frozen=True)
class BucketPlan:
    name: str
    spec: Bucket
    aws_name: str
    notifications: tuple[Notification, ...]


@dataclass(frozen=True)
class SecretPlan:
    name: str
    spec: Secret
    aws_name: str


@dataclass(frozen=True)
class DatabasePlan:
    name: str
    spec: Database
    aws_name: str
    db_name: str
    clients: tuple[str, ...]  # services that use it


# --------------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Plan:
    prefix: str  # <project>-<env>
    region: str
    services: Mapping[str, ServicePlan]
    routes: tuple[Route, ...]
    authorizers: Mapping[str, Authorizer]
    queues: Mapping[str, QueuePlan]
    tables: Mapping[str, TablePlan]
    buckets: Mapping[str, BucketPlan]
    databases: Mapping[str, DatabasePlan]
    secrets: Mapping[str, SecretPlan]


def derive(stack: Stack) -> Plan:
    """The plan of ``stack`` (use ``stack.plan``: it is derived once per stack)."""
    every = notifications(stack)
    services = {name: _service(stack, name) for name in stack.services}
    consumers: dict[str, list[str]] = {}
    for service in services.values():
        for function in service.functions:
            if isinstance(function.trigger, QueueTrigger):
                consumers.setdefault(function.trigger.queue, []).append(function.source)
    return Plan(
        prefix=stack.prefix,
        region=stack.project.region,
        services=services,
        routes=tuple(routes(stack)),
        authorizers=authorizers(stack),
        queues={name: _queue(stack, name, consumers.get(name, [])) for name in stack.queues},
        tables={name: TablePlan(name, table, stack.resource_name(name)) for name, table in stack.tables.items()},
        buckets={
            name: BucketPlan(name, bucket, stack.resource_name(name), tuple(n for n in every if n.bucket == name))
            for name, bucket in stack.buckets.items()
        },
        databases={
            name: DatabasePlan(
                name=name,
                spec=database,
                aws_name=stack.resource_name(name),
                db_name=naming.package_name(name),
                clients=tuple(s for s in sorted(stack.services) if any(b.name == name for b in stack.bindings(s))),
            )
            for name, database in stack.databases.items()
        },
        secrets={name: SecretPlan(name, secret, stack.resource_name(name)) for name, secret in stack.secrets.items()},
    )


def _queue(stack: Stack, name: str, consumers: list[str]) -> QueuePlan:
    queue = stack.queues[name]
    fifo = naming.FIFO_SUFFIX if queue.fifo else ""
    suffix, dlq_suffix = name + fifo, naming.suffixed(name, "dlq") + fifo
    return QueuePlan(
        name=name,
        spec=queue,
        suffix=suffix,
        dlq_suffix=dlq_suffix,
        aws_name=stack.resource_name(suffix),
        dlq_name=stack.resource_name(dlq_suffix),
        dlq_retention=DLQ_RETENTION_S,
        consumers=tuple(sorted(consumers)),
    )


def _service(stack: Stack, name: str) -> ServicePlan:
    svc = stack.services[name]
    container = None
    if isinstance(svc, ContainerService):
        container = ContainerPlan(tuple(stack.command(name)), svc.port, svc.cpu, svc.memory, svc.scaling, svc.health)
    return ServicePlan(
        name=name,
        kind=svc.kind,
        path=svc.path,
        aws_name=stack.resource_name(name),
        role_name=stack.resource_name(naming.suffixed(name, "role")),
        image=stack.ships_image(name),
        integration_timeout_ms=integration_timeout_ms(svc.integration_timeout),
        bindings=tuple(stack.bindings(name)),
        environment=environment(stack, name),
        grants=tuple(service_grants(stack, name)),
        in_vpc=stack.in_vpc(name),
        alarms=svc.alarms or stack.alarms,
        functions=tuple(functions(stack, name)) if isinstance(svc, LambdaService) else (),
        container=container,
    )


def integration_timeout_ms(seconds: float) -> int:
    """The HTTP API's integration timeout: 50 ms to 30 s (https://docs.aws.amazon.com/apigateway/latest/
    developerguide/http-api-quotas.html)."""
    return min(30_000, max(50, round(seconds * 1000)))
