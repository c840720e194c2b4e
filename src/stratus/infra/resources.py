"""One root file per declared resource: ``sqs-<name>.tf``, ``dynamodb-<name>.tf``, ``s3-<name>.tf`` (with its
notifications of Lambda functions), ``postgres-<name>.tf``; and ``network.tf`` when a database needs a VPC."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.infra.hcl import Expr
from stratus.infra.terraform import Block, Files, module_name, name_expr

if TYPE_CHECKING:
    from stratus.manifest import Stack


def queue_file(files: Files, stack: Stack, name: str) -> str:
    queue = stack.plan.queues[name]
    spec = queue.spec
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(queue.suffix)),
        ("dlq_name", name_expr(queue.dlq_suffix)),
        ("fifo", spec.fifo),
        ("visibility_timeout_seconds", spec.visibility_timeout),
        ("message_retention_seconds", spec.message_retention),
        ("dlq_message_retention_seconds", queue.dlq_retention),
        ("delay_seconds", spec.delay_seconds),
        ("receive_wait_time_seconds", spec.receive_wait),
        ("max_receive_count", spec.max_receive_count),
        None,
        ("alarm_actions", Expr("var.alarm_actions")),
    ]
    intro = [f"Queue {name} and its dead-letter queue (stratus.toml [queues.{name}])."]
    if queue.consumers:
        intro.append(f"Consumed by: {', '.join(queue.consumers)}.")
    return files.root(intro, [Block(module_name("queue", name), "./modules/sqs-queue", args)])


def table_file(files: Files, stack: Stack, name: str) -> str:
    spec = stack.plan.tables[name].spec
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("hash_key", spec.hash_key),
        ("hash_key_type", spec.hash_key_type),
    ]
    if spec.range_key is not None:
        args += [("range_key", spec.range_key), ("range_key_type", spec.range_key_type)]
    if spec.ttl_attribute is not None:
        args.append(("ttl_attribute", spec.ttl_attribute))
    intro = [f"Table {name} (stratus.toml [tables.{name}])."]
    return files.root(intro, [Block(module_name("table", name), "./modules/dynamodb-table", args)])


def bucket_file(files: Files, stack: Stack, name: str) -> str:
    bucket = stack.plan.buckets[name]
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("versioning", bucket.spec.versioning),
        ("expire_days", bucket.spec.expire_days),
    ]
    intro = [f"Bucket {name} (stratus.toml [buckets.{name}])."]
    if bucket.notifications:
        notifications = []
        for n in bucket.notifications:
            module = f"module.lambda_{n.service}"
            notifications.append(
                {
                    "id": n.id,
                    "function_arn": Expr(f'{module}.function_arns["{n.function}"]'),
                    "function_name": Expr(f'{module}.function_names["{n.function}"]'),
                    "events": list(n.events),
                    "prefix": n.prefix,
                    "suffix": n.suffix,
                }
            )
            keys = [f"prefix {n.prefix!r}"] if n.prefix else []
            keys += [f"suffix {n.suffix!r}"] if n.suffix else []
            on = f" on keys with {' and '.join(keys)}" if keys else ""
            intro.append(f"  {', '.join(n.events)}{on} -> {n.service} ({n.function})")
        args += [None, ("notifications", notifications)]
    return files.root(intro, [Block(module_name("bucket", name), "./modules/s3-bucket", args)])


def database_file(files: Files, stack: Stack, name: str) -> str:
    database = stack.plan.databases[name]
    spec = database.spec
    clients = [s for s in database.clients if stack.plan.services[s].kind == "lambda"]
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("db_name", database.db_name),
        ("engine_version", spec.version),
        ("instance_class", spec.instance_class),
        ("allocated_storage", spec.storage_gb),
        None,
        ("vpc_id", Expr("local.vpc_id")),
        ("subnet_ids", Expr("local.subnet_ids")),
        ("client_security_group_ids", {s: Expr(f"module.lambda_{s}.security_group_id") for s in clients}),
        None,
        ("log_retention_days", Expr("var.log_retention_days")),
        ("alarm_actions", Expr("var.alarm_actions")),
    ]
    intro = [f"Database {name}: RDS PostgreSQL {spec.version} (stratus.toml [databases.{name}])."]
    if clients:
        intro.append(f"Used by: {', '.join(clients)}.")
    return files.root(intro, [Block(module_name("database", name), "./modules/postgres", args)])


def network_file(files: Files, stack: Stack) -> str:
    """The VPC of the databases, with endpoints for the AWS services their clients reach from inside it."""
    kinds = {
        b.kind
        for service in stack.plan.services.values()
        if any(b.kind == "database" for b in service.bindings)
        for b in service.bindings
    }
    interface = ["secretsmanager"] + (["sqs"] if "queue" in kinds else [])
    gateway = (["dynamodb"] if "table" in kinds else []) + (["s3"] if "bucket" in kinds else [])
    return files.template("network.tf.j2", interface_endpoints=interface, gateway_endpoints=gateway)
