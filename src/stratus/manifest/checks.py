"""Cross-table rules: what no single table of ``stratus.toml`` can know.

Each rule refuses a manifest that one of the back ends could not honour (the local cloud, the Terraform, AWS
itself at apply time), naming the field, so ``stratus validate`` fails where ``stratus infra`` or a deploy
would have.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stratus import naming
from stratus.manifest.functions import functions
from stratus.manifest.problems import Problem
from stratus.manifest.route_checks import check_protection
from stratus.manifest.schema import (
    ACCESS_LEVELS,
    APPRUNNER_SIZES,
    FARGATE_SIZES,
    RESOURCE_TABLES,
    ContainerService,
    LambdaService,
    Service,
)

if TYPE_CHECKING:
    from stratus.manifest.stack import Stack


def check_stack(stack: Stack, envs: list[str]) -> list[Problem]:
    """Every cross-table problem of ``stack``, whose names must fit AWS's limits in each of ``envs``."""
    problems: list[Problem] = []
    problems += _check_names(stack, envs)
    problems += _check_notifications(stack)
    for name, svc in stack.services.items():
        if isinstance(svc, LambdaService):
            problems += _check_lambda(stack, name, svc)
        else:
            problems += _check_container(stack, name, svc)
        problems += _check_env(name, svc)
    problems += check_protection(stack, envs)
    problems += _check_derived_names(stack, envs)
    problems += _check_network(stack, envs)
    return problems


def check_paths(raw_services: dict[str, Any]) -> list[Problem]:
    """Two services on one path (checked on the raw tables, so a service with a bad field still counts)."""
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    for name, entry in raw_services.items():
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str):
            continue
        if path in owners:
            problems.append(Problem(f"services.{name}.path", f"{path!r} is already routed to service {owners[path]!r}"))
        else:
            owners[path] = name
    return problems


def check_uses(stack: Stack, raw_services: dict[str, Any]) -> list[Problem]:
    """Each ``uses`` entry names a declared resource with an access level of its kind."""
    problems: list[Problem] = []
    for name, entry in raw_services.items():
        uses = entry.get("uses") if isinstance(entry, dict) else None
        if isinstance(uses, dict):
            problems += _check_service_uses(stack, name, uses)
    return problems


# --------------------------------------------------------------------------------------------------- names


def _check_names(stack: Stack, envs: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for name, svc in stack.services.items():
        if not naming.SERVICE_NAME_RE.fullmatch(name):
            problems.append(
                Problem(f"services.{name}", "service names must be lowercase letters, digits and single hyphens")
            )
            continue
        limit_key = "lambda" if isinstance(svc, LambdaService) else svc.kind
        problems += _check_length(stack, envs, f"services.{name}", name, limit_key)
        problems += _check_length(stack, envs, f"services.{name}", naming.suffixed(name, "role"), "iam_role")
    seen: dict[str, str] = {}
    for table, (kind, _) in RESOURCE_TABLES.items():
        for name in getattr(stack, table):
            where = f"{table}.{name}"
            regex = naming.BUCKET_NAME_RE if kind == "bucket" else naming.RESOURCE_NAME_RE
            if not regex.fullmatch(name):
                allowed = "lowercase letters, digits and hyphens (S3 bucket names allow no '_')"
                if kind != "bucket":
                    allowed = "lowercase letters, digits, '-' and '_'"
                problems.append(Problem(where, f"names must be {allowed}"))
                continue
            if name in seen:
                problems.append(
                    Problem(where, f"the name is also used by {seen[name]}; `uses` refers to resources by name")
                )
            seen[name] = where
            if kind == "queue":
                fifo = naming.FIFO_SUFFIX if stack.queues[name].fifo else ""
                problems += _check_length(stack, envs, where, naming.suffixed(name, "dlq") + fifo, kind)
            else:
                problems += _check_length(stack, envs, where, name, kind)
    return problems


def _check_length(stack: Stack, envs: list[str], where: str, name: str, limit_key: str) -> list[Problem]:
    """``<project>-<env>-<name>`` fits AWS's limit for ``limit_key`` in the longest environment name."""
    size, rule = naming.NAME_LIMITS[limit_key]
    full = naming.resource_name(stack.project.name, max(envs, key=len), name)
    if len(full) > size:
        return [Problem(where, f"{full!r} is {len(full)} characters: {rule}; use a shorter name")]
    return []


class _Names:
    """The AWS names the stack takes, by namespace: a second claim to one is a problem where it is made."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.owners: dict[tuple[str, str], str] = {}  # (namespace, name without prefix) -> where
        self.problems: list[Problem] = []

    def claim(self, namespace: str, name: str, where: str, what: str) -> None:
        other = self.owners.setdefault((namespace, name), where)
        if other != where:
            self.problems.append(
                Problem(where, f"its {what} would be named {self.stack.resource_name(name)!r}, as is one of "
                        f"{other}; rename one of them")
            )  # fmt: skip


def _check_derived_names(stack: Stack, envs: list[str]) -> list[Problem]:
    """The names Stratus derives (functions, rules, roles, dead-letter queues, the artifacts bucket) fit AWS's
    limits and are unique where AWS needs them unique."""
    names = _Names(stack)
    problems: list[Problem] = []
    if any(svc.package == "zip" for _, svc in stack.lambdas()):  # stratus deploy uploads the zips there
        names.owners[("bucket", naming.ARTIFACTS_BUCKET)] = "[project] (the bucket stratus deploy uploads zips to)"
        problems += _check_length(stack, envs, "project.name", naming.ARTIFACTS_BUCKET, "bucket")
    for name in stack.buckets:
        if naming.BUCKET_NAME_RE.fullmatch(name):
            names.claim("bucket", name, f"buckets.{name}", "bucket")
    for name in stack.queues:
        if naming.RESOURCE_NAME_RE.fullmatch(name):
            names.claim("queue", name, f"queues.{name}", "queue")
            names.claim("queue", naming.suffixed(name, "dlq"), f"queues.{name}", "dead-letter queue")
    for name, svc in stack.services.items():
        if naming.SERVICE_NAME_RE.fullmatch(name):
            problems += _check_service_names(stack, envs, names, name, svc)
    for name in stack.databases:
        if "_" in name:
            rule = "RDS DB identifiers allow only letters, digits and hyphens; rename without '_'"
            problems.append(Problem(f"databases.{name}", rule))
        elif naming.RESOURCE_NAME_RE.fullmatch(name):
            problems += _check_suffix(stack, envs, f"databases.{name}", name, "monitoring_role")
            names.claim("role", naming.suffixed(name, "monitoring_role"), f"databases.{name}", "monitoring role")
    return problems + names.problems


def _check_service_names(stack: Stack, envs: list[str], names: _Names, name: str, svc: Service) -> list[Problem]:
    where = f"services.{name}"
    problems: list[Problem] = []
    names.claim("role", naming.suffixed(name, "role"), where, "role")
    if isinstance(svc, LambdaService):
        problems += _check_suffix(stack, envs, where, name, "async_dlq")
        names.claim("queue", naming.suffixed(name, "async_dlq"), where, "asynchronous invocations' dead-letter queue")
        for function in functions(stack, name):
            at = _function_field(stack, name, svc, function.key)
            problems += _check_length(stack, envs, at, function.suffix, "lambda")
            if function.kind == "schedule":
                problems += _check_length(stack, envs, at, function.suffix, "rule")
            names.claim("lambda", function.suffix, at, "function")
    elif svc.kind == "apprunner":
        problems += _check_length(stack, envs, where, name, "apprunner_autoscaling")
        problems += _check_suffix(stack, envs, where, name, "ecr_access_role")
        names.claim("role", naming.suffixed(name, "ecr_access_role"), where, "App Runner ECR access role")
    else:
        for what in ("execution_role", "infrastructure_role"):
            problems += _check_suffix(stack, envs, where, name, what)
            names.claim("role", naming.suffixed(name, what), where, what.replace("_", " "))
    return problems


def _function_field(stack: Stack, name: str, svc: LambdaService, key: str) -> str:
    """Where the manifest declares the function of ``key``."""
    kind, _, rest = key.partition("-")
    if kind == "consumer":
        return f"services.{name}.consumes[{[c.queue for c in svc.consumes].index(rest)}]"
    if kind == "schedule":
        return f"services.{name}.schedules[{[s.key for s in svc.schedules].index(rest)}]"
    if kind == "notify":
        return f"buckets.{rest}.notify"
    if key == "authorizer":
        return "api.authorizer" if stack.api.authorizer is not None else f"services.{name}"
    return f"services.{name}"


def _check_suffix(stack: Stack, envs: list[str], where: str, name: str, what: str) -> list[Problem]:
    return _check_length(stack, envs, where, naming.suffixed(name, what), naming.SUFFIXES[what][1])


# --------------------------------------------------------------------------------------------------- services


def _check_service_uses(stack: Stack, name: str, uses: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for res, access in uses.items():
        where = f"services.{name}.uses.{res}"
        kind = stack.resources.get(res)
        if kind is None:
            declared = ", ".join(sorted(stack.resources)) or "none"
            problems.append(
                Problem(
                    where,
                    f"no queue, table, bucket, database or secret named {res!r} is declared (declared: {declared})",
                )
            )
        elif access not in ACCESS_LEVELS[kind]:
            allowed = ", ".join(repr(a) for a in ACCESS_LEVELS[kind])
            problems.append(Problem(where, f"access to a {kind} must be one of {allowed} (got {access!r})"))
    return problems


# A variable named like this holds a secret, unless it only points at one (an ARN, an id, a name, a URL).
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|ACCESS_KEY|TOKEN|CREDENTIAL")
_POINTER_NAME = re.compile(r"_(ARN|ID|NAME|URL|PATH|FILE|TTL|SECONDS|DAYS|LENGTH|ISSUER|AUDIENCE)$")


def _check_env(name: str, svc: Service) -> list[Problem]:
    """A secret in ``env`` would be written into the Terraform, a file users commit: refuse it."""
    return [
        Problem(
            f"services.{name}.env.{key}",
            "looks like a secret, and env values are written into the Terraform (a committed file): declare "
            f"[secrets.<name>] instead and add it to services.{name}.uses (the service reads <NAME>_SECRET_ARN)",
        )
        for key in svc.env
        if _SECRET_NAME.search(key.upper()) and not _POINTER_NAME.search(key.upper())
    ]


def _check_lambda(stack: Stack, name: str, svc: LambdaService) -> list[Problem]:
    problems: list[Problem] = []
    seen_schedules: set[str] = set()
    for i, schedule in enumerate(svc.schedules):
        if schedule.key in seen_schedules:
            problems.append(
                Problem(f"services.{name}.schedules[{i}]", f"two schedules are named {schedule.key!r}; give one a name")
            )
        seen_schedules.add(schedule.key)
    seen_queues: set[str] = set()
    for i, consumer in enumerate(svc.consumes):
        where = f"services.{name}.consumes[{i}].queue"
        queue = stack.queues.get(consumer.queue)
        if consumer.queue in seen_queues:
            problems.append(Problem(where, f"queue {consumer.queue!r} is consumed twice; one consumer per queue"))
        seen_queues.add(consumer.queue)
        if queue is None:
            problems.append(Problem(where, f"no queue named {consumer.queue!r} is declared under [queues]"))
        elif queue.visibility_timeout < svc.timeout:
            problems.append(
                Problem(
                    where,
                    f"Queue visibility timeout: {queue.visibility_timeout} seconds is less than Function timeout: "
                    f"{svc.timeout} seconds (AWS refuses the event source mapping; raise "
                    f"queues.{consumer.queue}.visibility_timeout to at least {svc.timeout}, ideally 6x)",
                )
            )
        elif queue.fifo and consumer.batching_window:
            problems.append(Problem(where, "FIFO queues do not support a batching window"))
    provisioned, reserved = svc.provisioned_concurrency, svc.reserved_concurrency
    if provisioned is not None and reserved is not None and provisioned > reserved:
        problems.append(
            Problem(f"services.{name}.provisioned_concurrency", f"{provisioned} is more than the service's "
                    f"reserved_concurrency ({reserved}): AWS refuses provisioned concurrency beyond it")
        )  # fmt: skip
    return problems


def _check_container(stack: Stack, name: str, svc: ContainerService) -> list[Problem]:
    table, platform = (APPRUNNER_SIZES, "App Runner") if svc.kind == "apprunner" else (FARGATE_SIZES, "ECS Fargate")
    where = f"services.{name}"
    problems: list[Problem] = []
    for res in svc.uses:
        if stack.resources.get(res) == "database" and svc.kind == "ecs-express":
            problems.append(
                Problem(f"{where}.uses.{res}", "an ECS Express service in private subnets gets an internal load "
                        "balancer, which the HTTP API cannot reach; use the database from a Lambda or an App Runner "
                        "service (kind = \"apprunner\", which reaches the VPC through a connector)")
            )  # fmt: skip
    if svc.cpu not in table:
        problems.append(
            Problem(f"{where}.cpu", f"{platform} cpu must be one of {', '.join(map(str, table))} (got {svc.cpu})")
        )
        return problems
    if svc.memory not in table[svc.cpu]:
        allowed = ", ".join(map(str, table[svc.cpu]))
        problems.append(
            Problem(f"{where}.memory", f"{platform} allows memory {allowed} MB with cpu {svc.cpu} (got {svc.memory})")
        )
    if svc.scaling.min > svc.scaling.max:
        problems.append(Problem(f"{where}.scaling", f"min ({svc.scaling.min}) is above max ({svc.scaling.max})"))
    if svc.health.timeout > svc.health.interval:
        problems.append(Problem(f"{where}.health.timeout", "must not exceed health.interval"))
    return problems


def _check_network(stack: Stack, envs: list[str]) -> list[Problem]:
    """What needs a VPC (a database, and the services that use it) has one in every environment."""
    if not stack.databases:
        return []
    missing = [env for env in envs if not _network_of(stack, env)]
    if not missing:
        return []
    which = f"environments {', '.join(missing)} have" if len(missing) > 1 else f"environment {missing[0]} has"
    return [
        Problem(
            f"databases.{next(iter(stack.databases))}",
            f"a database needs a network, and {which} none: declare [network] create = true (Stratus creates a "
            "private VPC), or vpc_id and subnet_ids of an existing one (or per environment: "
            "[environments.<env>.network])",
        )
    ]


def _network_of(stack: Stack, env: str) -> bool:
    config = stack.environments.get(env)
    return (config is not None and config.network is not None) or stack.declared_network is not None


# --------------------------------------------------------------------------------------------------- buckets


def _check_notifications(stack: Stack) -> list[Problem]:
    """S3 notifies Lambda services; one function per bucket and service; no two configurations of a bucket
    that S3 would call ambiguous."""
    problems: list[Problem] = []
    for bucket_name, bucket in stack.buckets.items():
        handlers: dict[str, str] = {}
        for i, notification in enumerate(bucket.notify):
            where = f"buckets.{bucket_name}.notify[{i}]"
            target = stack.services.get(notification.service)
            if not isinstance(target, LambdaService):
                what = "no such service" if target is None else f"{notification.service!r} is not a Lambda service"
                problems.append(Problem(f"{where}.service", f"{what}: S3 notifies Lambdas"))
                continue
            first = handlers.setdefault(notification.service, notification.handler)
            if first != notification.handler:
                problems.append(
                    Problem(f"{where}.handler", f"{notification.service!r} already handles this bucket's events with "
                            f"{first!r}: one function per bucket and service, so use one handler and branch on the "
                            "event's key or name")
                )  # fmt: skip
            for j, other in enumerate(bucket.notify[:i]):
                if _overlap(notification, other):
                    problems.append(
                        Problem(where, f"overlaps notify[{j}] (same event types, prefixes and suffixes that can "
                                "match one key): S3 refuses ambiguous notification configurations")
                    )  # fmt: skip
    return problems


def _overlap(a: Any, b: Any) -> bool:
    """Whether S3 would call two configurations ambiguous: an event type in common (``s3:ObjectCreated:*``
    covers every ``s3:ObjectCreated:...``), and prefixes and suffixes one of which extends the other
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html)."""

    def covers(x: str, y: str) -> bool:
        return x == y or (x.endswith(":*") and y.startswith(x[:-1]))

    events = any(covers(x, y) or covers(y, x) for x in a.events for y in b.events)
    prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    return events and prefixes and suffixes
