"""The Lambda functions of a service, and what invokes each: its HTTP routes, an SQS queue it consumes, a
schedule, a bucket's notifications, the HTTP API's authorizer, or the deploy (its database migrations).

One function has one handler, so a service with a consumer, a schedule and a notified bucket is four
functions of one package, one role and one environment. Their AWS names derive from the service's
(:mod:`stratus.naming`): ``worker``, ``worker-jobs-consumer``, ``worker-sweeper``, ``worker-uploads-events``,
``gateway-authorizer``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from stratus import naming
from stratus.manifest.layers import ManagedLayer, powertools_layer
from stratus.manifest.schema import LambdaService

if TYPE_CHECKING:
    from stratus.manifest.stack import Stack

# Lambda's SQS pollers long-poll (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): not settable.
ESM_LONG_POLL_S = 20

TriggerKind = Literal["http", "sqs", "schedule", "s3", "authorizer", "migrate"]
# The alias of a function with provisioned concurrency (``aws_lambda_alias.live`` in the lambda-service module).
LIVE_ALIAS = "live"
MIGRATION_TIMEOUT = 900  # seconds, Lambda's longest: a migration may rewrite a table (in every environment)
Arch = Literal["arm64", "x86_64"]


@dataclass(frozen=True, slots=True)
class QueueTrigger:
    """An SQS event source mapping: batches of ``queue`` invoke the function."""

    queue: str
    batch_size: int
    batching_window: int  # seconds; 0: invoke as soon as messages arrive
    report_batch_item_failures: bool = True  # function_response_types = ["ReportBatchItemFailures"]
    long_poll: int = ESM_LONG_POLL_S


@dataclass(frozen=True, slots=True)
class ScheduleTrigger:
    """An EventBridge rule named ``rule`` invokes the function on ``expression`` (UTC)."""

    schedule: str
    expression: str
    rule: str


@dataclass(frozen=True, slots=True)
class Notification:
    """S3 -> Lambda: ``events`` on keys matching ``prefix``/``suffix`` of ``bucket`` invoke a function."""

    bucket: str
    id: str  # the configuration's Id in the bucket's notification configuration
    service: str
    function: str  # the function's key in its service
    function_name: str
    events: tuple[str, ...]
    prefix: str
    suffix: str


@dataclass(frozen=True, slots=True)
class BucketTrigger:
    """S3 invokes the function (asynchronously) for the notifications of ``bucket`` aimed at it."""

    bucket: str


Trigger = QueueTrigger | ScheduleTrigger | BucketTrigger | None  # None: HTTP, or the authorizer (see ``kind``)


@dataclass(frozen=True)
class Function:
    """One Lambda function of a service. Every function of a service runs the same package with the same
    role and environment; they differ by handler and by what invokes them."""

    service: str
    key: str  # within the service: http, consumer-<queue>, schedule-<name>, notify-<bucket>, authorizer
    source: str  # what the local cloud, its logs and `stratus invoke` call it: worker, worker/jobs, ...
    suffix: str  # the AWS name without the <project>-<env>- prefix
    name: str  # the AWS name in this environment
    kind: TriggerKind
    handler: str
    description: str
    memory: int
    timeout: int
    reserved_concurrency: int | None
    provisioned_concurrency: int | None  # environments kept initialized: the HTTP function's only
    arch: Arch
    runtime: str
    trigger: Trigger = None
    layers: tuple[ManagedLayer, ...] = ()  # AWS's managed layers attached (zips only): [project] powertools

    @property
    def log_group(self) -> str:
        return naming.log_group(self.name)

    @property
    def alias(self) -> str | None:
        """The alias the HTTP API invokes: ``live``, on the version published for provisioned concurrency (the
        lambda-service module's ``aws_lambda_alias.live``, created only when provisioned concurrency is set)."""
        return LIVE_ALIAS if self.provisioned_concurrency else None

    def arn(self, region: str, account: str) -> str:
        return naming.lambda_arn(region, account, self.name)


def functions(stack: Stack, name: str) -> list[Function]:
    """The functions of Lambda service ``name``: HTTP, each consumer, each schedule, each notified bucket and
    the authorizer, in that order."""
    svc = stack.services[name]
    assert isinstance(svc, LambdaService)
    arch = svc.arch or stack.project.arch
    layers: tuple[ManagedLayer, ...] = ()
    if stack.project.powertools == "layer" and not stack.ships_image(name):
        layers = (powertools_layer(stack.root, stack.project.runtime, arch),)

    def function(key: str, source: str, suffix: str, kind: TriggerKind, handler: str, description: str,
                 trigger: Trigger = None) -> Function:  # fmt: skip
        return Function(
            service=name, key=key, source=source, suffix=suffix, name=stack.resource_name(suffix),
            kind=kind, handler=handler, description=description, memory=svc.memory, timeout=svc.timeout,
            reserved_concurrency=svc.reserved_concurrency,
            provisioned_concurrency=svc.provisioned_concurrency if kind == "http" else None,
            arch=arch, runtime=stack.project.runtime, trigger=trigger, layers=layers,
        )  # fmt: skip

    out = [function("http", name, name, "http", stack.handler(name), f"{name}: HTTP API routes {svc.path}")]
    for consumer in svc.consumes:
        trigger: Trigger = QueueTrigger(consumer.queue, consumer.batch_size, consumer.batching_window)
        out.append(
            function(f"consumer-{consumer.queue}", f"{name}/{consumer.queue}",
                     naming.consumer_suffix(name, consumer.queue), "sqs", consumer.handler,
                     f"{name}: consumer of queue {consumer.queue}", trigger)
        )  # fmt: skip
    for schedule in svc.schedules:
        suffix = naming.schedule_suffix(name, schedule.key)
        trigger = ScheduleTrigger(schedule.key, schedule.expression, stack.resource_name(suffix))
        out.append(
            function(f"schedule-{schedule.key}", f"{name}/{schedule.key}", suffix, "schedule", schedule.handler,
                     f"{name}: schedule {schedule.key}, {schedule.expression}", trigger)
        )  # fmt: skip
    for bucket, handler in _notified(stack, name):
        out.append(
            function(f"notify-{bucket}", f"{name}/{bucket}", naming.notification_suffix(name, bucket), "s3",
                     handler, f"{name}: notifications of bucket {bucket}", BucketTrigger(bucket))
        )  # fmt: skip
    if svc.migrations is not None:
        migrate = function("migrate", f"{name}/migrate", naming.suffixed(name, "migrate"), "migrate", svc.migrations,
                           f"{name}: database migrations, invoked by stratus deploy and stratus migrate")  # fmt: skip
        out.append(replace(migrate, timeout=MIGRATION_TIMEOUT, reserved_concurrency=None))
    authorizer = stack.authorizer
    if authorizer is not None and authorizer.service == name:
        out.append(
            function("authorizer", f"{name}/authorizer", naming.suffixed(name, "authorizer"), "authorizer",
                     authorizer.handler, f"{name}: authorizer of the HTTP API's protected routes")
        )  # fmt: skip
    return out


def _notified(stack: Stack, service: str) -> list[tuple[str, str]]:
    """(bucket, handler) of each bucket whose notifications invoke ``service``: one function per bucket (the
    manifest check refuses two handlers of one service for one bucket)."""
    out: dict[str, str] = {}
    for bucket_name, bucket in stack.buckets.items():
        for notification in bucket.notify:
            if notification.service == service:
                out.setdefault(bucket_name, notification.handler)
    return list(out.items())


def notifications(stack: Stack) -> list[Notification]:
    """Every S3 -> Lambda notification of the stack, in the order of the manifest."""
    out = []
    for bucket_name, bucket in stack.buckets.items():
        for i, notification in enumerate(bucket.notify):
            suffix = naming.notification_suffix(notification.service, bucket_name)
            out.append(
                Notification(
                    bucket=bucket_name,
                    id=f"{notification.service}-{i}",
                    service=notification.service,
                    function=f"notify-{bucket_name}",
                    function_name=stack.resource_name(suffix),
                    events=tuple(notification.events),
                    prefix=notification.prefix,
                    suffix=notification.suffix,
                )
            )
    return out
