"""One root file per service: ``lambda-<name>.tf`` (the lambda-service module and, for an image, its ECR
repository), ``apprunner-<name>.tf`` or ``ecs-express-<name>.tf`` (the container module and its repository).

Everything comes from the plan of each environment (``stack.plan.services[name]``); what differs between
environments (memory, timeout, reserved concurrency, architecture, cpu, scaling, health, variables) is read
from a local chosen by ``var.environment``.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from stratus import naming
from stratus.infra import hcl
from stratus.infra.hcl import Expr
from stratus.infra.terraform import Block, Files, module_name, name_expr, per_env, split_environment, statements
from stratus.manifest.plan import Function, QueueTrigger, ScheduleTrigger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from stratus.manifest import Stack
    from stratus.manifest.plan import ServicePlan


def container_module(service: ServicePlan) -> str:
    """The root module of a container service: ``apprunner_<name>`` or ``ecs_<name>``."""
    return f"{'apprunner' if service.kind == 'apprunner' else 'ecs'}_{service.name}"


def image_uri(service: str) -> Expr:
    return Expr(f'"${{module.ecr_{service}.repository_url}}:${{var.image_tags[{hcl.quote(service)}]}}"')


def ecr_block(service: str) -> Block:
    return Block(
        f"ecr_{service}",
        "./modules/ecr-repository",
        [("name", name_expr(service))],
        comment=[f"Images of {service}: `stratus image` pushes them, tagged by version (var.image_tags)."],
    )


def _environment(name: str, stacks: Mapping[str, Stack], settings: dict[str, dict[str, object]]) -> object:
    """The ``environment_variables`` argument: literal where every environment agrees, else merged with the
    local of the environment (``settings`` gets each environment's differing part)."""
    common, varying = split_environment({env: view.plan.services[name].environment for env, view in stacks.items()})
    for env in stacks:
        settings[env]["environment"] = varying[env]
    return common


def _merge_environment(common: object, chosen: object) -> object:
    if isinstance(chosen, Expr):
        return Expr(f"merge({hcl.value(common, 2)}, {chosen})")
    return common


def _network_args(service: ServicePlan) -> list[tuple[str, object] | None]:
    """A service that uses a database runs in (a Lambda) or reaches (App Runner) the network's subnets: egress
    to the VPC (the database's port, HTTPS to the VPC endpoints) and to the gateway endpoints it uses."""
    if not service.in_vpc:
        return []
    kinds = {b.kind for b in service.bindings}
    gateways = [e for kind, e in (("table", "dynamodb"), ("bucket", "s3")) if kind in kinds]
    args: list[tuple[str, object] | None] = [
        None,
        ("vpc_id", Expr("local.vpc_id")),
        ("subnet_ids", Expr("local.subnet_ids")),
        ("egress_cidr_blocks", [Expr("local.vpc_cidr_block")]),
    ]
    if gateways:
        args.append(("egress_prefix_list_ids", [Expr(f"aws_vpc_endpoint.{e}.prefix_list_id") for e in gateways]))
    return args


def _function_args(fn: Function) -> dict[str, object]:
    """A function of the module's ``functions``; a migrations function has settings of its own in every environment
    (a comparison with the service's would miss an environment whose override happens to equal them)."""
    args: dict[str, object] = {
        "function_name": name_expr(fn.suffix),
        "handler": fn.handler,
        "description": fn.description,
    }
    if fn.kind == "migrate":  # stratus.manifest.functions: MIGRATION_TIMEOUT, no reserved concurrency
        args["timeout"] = fn.timeout
        args["unreserved"] = True
    return args


def lambda_file(files: Files, stack: Stack, stacks: Mapping[str, Stack], name: str) -> str:
    service = stack.plan.services[name]
    values: dict[str, dict[str, object]] = {}
    for env, view in stacks.items():
        http = view.plan.services[name].function("http")
        values[env] = {
            "memory_size": http.memory,
            "timeout": http.timeout,
            "reserved_concurrent_executions": http.reserved_concurrency,
            "provisioned_concurrency": http.provisioned_concurrency,
            "architecture": http.arch,
            "layer_parameters": [layer.parameter for layer in http.layers],
        }
    common = _environment(name, stacks, values)
    settings, local = per_env(f"{name}_settings", values)
    blocks: list[Block] = [ecr_block(name)] if service.image else []
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("role_name", name_expr(naming.suffixed(name, "role"))),
        ("async_dlq_name", name_expr(naming.suffixed(name, "async_dlq"))),
        (
            "functions",
            {fn.key: _function_args(fn) for fn in service.functions},
        ),
        None,
        ("package_type", "Image" if service.image else "Zip"),
    ]
    if service.image:
        args.append(("image_uri", image_uri(name)))
    else:
        args.append(("filename", Expr(f"var.lambda_packages[{hcl.quote(name)}]")))
        args.append(("artifacts_bucket", Expr("module.artifacts.bucket_name")))
        args.append(("runtime", service.function("http").runtime))
        if any(v["layer_parameters"] for v in values.values()):
            args.append(("layer_parameters", settings["layer_parameters"]))
    args += [
        ("architecture", settings["architecture"]),
        ("memory_size", settings["memory_size"]),
        ("timeout", settings["timeout"]),
        ("reserved_concurrent_executions", settings["reserved_concurrent_executions"]),
        ("provisioned_concurrency", settings["provisioned_concurrency"]),
        ("log_retention_days", Expr("var.log_retention_days")),
        None,
        ("environment_variables", _merge_environment(common, settings["environment"])),
        None,
        ("policy_statements", statements(service.grants)),
    ]
    sources: dict[str, object] = {}
    schedules: dict[str, object] = {}
    for fn in service.functions:
        trigger = fn.trigger
        if isinstance(trigger, QueueTrigger):
            sources[trigger.queue] = {
                "function": fn.key,
                "queue_arn": Expr(f"module.{module_name('queue', trigger.queue)}.queue_arn"),
                "batch_size": trigger.batch_size,
                "maximum_batching_window_in_seconds": trigger.batching_window,
                "function_response_types": ["ReportBatchItemFailures"] if trigger.report_batch_item_failures else [],
            }
        elif isinstance(trigger, ScheduleTrigger):
            schedules[trigger.schedule] = {"function": fn.key, "schedule_expression": trigger.expression}
    if sources or schedules:
        args.append(None)
    if sources:
        args.append(("event_sources", sources))
    if schedules:
        args.append(("schedules", schedules))
    args += _network_args(service)
    args += [
        None,
        ("errors_alarm_threshold", service.alarms.errors),
        ("throttles_alarm_threshold", service.alarms.throttles),
        ("duration_alarm_ratio", service.alarms.duration),
        ("alarm_actions", Expr("local.alarm_actions")),
    ]
    blocks.append(Block(f"lambda_{name}", "./modules/lambda-service", args))
    package = "image" if service.image else "zip"
    intro = [f"Service {name}: Lambda ({package}) behind {service.path} (stratus.toml [services.{name}])."]
    intro += [f"  {fn.key}: {fn.handler}" for fn in service.functions]
    locals_ = [(f"{name}_settings", local)] if local is not None else []
    if locals_:
        intro.append(f"Settings that differ by environment ([environments.*.services.{name}]) are in local.")
    return files.root(intro, blocks, locals_)


def container_file(files: Files, stack: Stack, stacks: Mapping[str, Stack], name: str) -> str:
    service = stack.plan.services[name]
    apprunner = service.kind == "apprunner"
    values: dict[str, dict[str, object]] = {}
    for env, view in stacks.items():
        container = view.plan.services[name].container
        assert container is not None
        health, scaling = container.health, container.scaling
        if apprunner:
            scaling_value: dict[str, object] = {"min_size": scaling.min, "max_size": scaling.max,
                                                "max_concurrency": scaling.concurrency}  # fmt: skip
            health_value: object = {
                "protocol": health.protocol,
                "path": health.path,
                "interval": health.interval,
                "timeout": health.timeout,
                "healthy_threshold": health.healthy,
                "unhealthy_threshold": health.unhealthy,
            }
        else:
            scaling_value = {"min_task_count": scaling.min, "max_task_count": scaling.max, "cpu_target_percent": 60}
            health_value = health.path
        values[env] = {"cpu": container.cpu, "memory": container.memory, "scaling": scaling_value,
                       "health": health_value}  # fmt: skip
    common = _environment(name, stacks, values)
    settings, local = per_env(f"{name}_settings", values)
    container = service.container
    assert container is not None
    args: list[tuple[str, object] | None] = [
        ("name", name_expr(name)),
        ("role_name", name_expr(naming.suffixed(name, "role"))),
        ("image_uri", image_uri(name)),
        ("ecr_repository_arn", Expr(f"module.ecr_{name}.repository_arn")),
        ("port", container.port),
        ("start_command", shlex.join(container.command)) if apprunner else ("command", list(container.command)),
        None,
        ("cpu", settings["cpu"]),
        ("memory", settings["memory"]),
        ("scaling", settings["scaling"]),
        ("health_check", settings["health"]) if apprunner else ("health_check_path", settings["health"]),
        None,
        ("environment_variables", _merge_environment(common, settings["environment"])),
        None,
        ("policy_statements", statements(service.grants)),
    ]
    if apprunner:
        args += _network_args(service)
        args += [
            None,
            ("server_errors_alarm_threshold", service.alarms.errors),
            ("alarm_actions", Expr("local.alarm_actions")),
        ]
    else:
        args += [None, ("log_retention_days", Expr("var.log_retention_days"))]
    source, platform = (
        ("./modules/apprunner-service", "App Runner")
        if apprunner
        else ("./modules/ecs-express-service", "ECS Express Mode")
    )
    blocks = [ecr_block(name), Block(container_module(service), source, args)]
    intro = [
        f"Service {name}: {platform} behind {service.path} (stratus.toml [services.{name}]), "
        "reached through the HTTP API."
    ]
    locals_ = [(f"{name}_settings", local)] if local is not None else []
    return files.root(intro, blocks, locals_)
