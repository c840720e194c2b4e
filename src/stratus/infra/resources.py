"""One root file per declared resource: ``sqs-<name>.tf``, ``dynamodb-<name>.tf``, ``s3-<name>.tf`` (with its
notifications of Lambda functions), ``postgres-<name>.tf``, ``secret-<name>.tf``; and ``network.tf`` when a
database needs a VPC."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus import naming
from stratus.infra import hcl
from stratus.infra.hcl import Expr
from stratus.infra.terraform import Block, Files, module_name, name_expr
from stratus.manifest import DEFAULT_ENV

if TYPE_CHECKING:
    from collections.abc import Mapping

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
        ("dlq_depth_alarm_threshold", stack.alarms.dlq_depth),
        ("alarm_actions", Expr("local.alarm_actions")),
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
    if spec.indexes:
        args.append(("attributes", spec.attribute_definitions()))
        indexes = [
            {"name": i.name, "hash_key": i.hash_key, "range_key": i.range_key, "projection_type": i.projection.upper()}
            for i in spec.indexes
        ]
        args.append(("global_secondary_indexes", indexes))
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
    clients = [s for s in database.clients if stack.plan.services[s].kind in ("lambda", "apprunner")]
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("db_name", database.db_name),
        ("engine_version", spec.version),
        ("instance_class", spec.instance_class),
        ("allocated_storage", spec.storage_gb),
        None,
        ("vpc_id", Expr("local.vpc_id")),
        ("subnet_ids", Expr("local.subnet_ids")),
        ("client_security_group_ids", {s: Expr(f"module.{_module(stack, s)}.security_group_id") for s in clients}),
        None,
        ("log_retention_days", Expr("var.log_retention_days")),
        ("alarm_actions", Expr("local.alarm_actions")),
    ]
    intro = [f"Database {name}: RDS PostgreSQL {spec.version} (stratus.toml [databases.{name}])."]
    if clients:
        intro.append(f"Used by: {', '.join(clients)}.")
    return files.root(intro, [Block(module_name("database", name), "./modules/postgres", args)])


def _module(stack: Stack, service: str) -> str:
    kind = stack.plan.services[service].kind
    return f"lambda_{service}" if kind == "lambda" else f"apprunner_{service}"


def secret_file(files: Files, stack: Stack, name: str) -> str:
    secret = stack.plan.secrets[name]
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("description", secret.spec.description or f"{name} (stratus.toml [secrets.{name}])"),
        ("generate_length", secret.spec.generate),
    ]
    readers = [s for s, service in sorted(stack.plan.services.items()) if any(b.name == name for b in service.bindings)]
    how = "generated at the first apply, never in the state" if secret.spec.generate else "set outside Terraform"
    intro = [f"Secret {name}: its value {how} (stratus.toml [secrets.{name}])."]
    if readers:
        intro.append(f"Read by: {', '.join(readers)}.")
    if secret.spec.external:
        intro.append(f"Set it: aws secretsmanager put-secret-value --secret-id {secret.aws_name} --secret-string '...'")
    return files.root(intro, [Block(module_name("secret", name), "./modules/secret", args)])


def model_file(files: Files, stack: Stack, name: str) -> str:
    """A Bedrock model: the data source its id and ARN come from."""
    variable = naming.binding_variables("model", name)["id"]
    return files.template("model.tf.j2", model=name, model_id=stack.models[name].id, variable=variable)


def network_file(files: Files, stack: Stack, views: Mapping[str, Stack]) -> str:
    """The VPC of the databases, with endpoints for the AWS services their clients reach from inside it."""
    kinds = {b.kind for service in stack.plan.services.values() if service.in_vpc for b in service.bindings}
    interface = (
        ["secretsmanager"] + (["sqs"] if "queue" in kinds else []) + (["bedrock-runtime"] if "model" in kinds else [])
    )
    gateway = (["dynamodb"] if "table" in kinds else []) + (["s3"] if "bucket" in kinds else [])
    by_env: dict[str, object] = {}
    for env, view in views.items():
        network = view.network
        assert network is not None, f"{env} has no network: stratus validate refuses this"
        by_env[env] = network.model_dump()
    default = by_env[DEFAULT_ENV] if DEFAULT_ENV in by_env else next(iter(by_env.values()))
    chosen = Expr(f"lookup({hcl.value(by_env, 2)}, var.environment, {hcl.value(default, 2)})")
    return files.template("network.tf.j2", network=chosen, interface_endpoints=interface, gateway_endpoints=gateway)
