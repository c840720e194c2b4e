"""``outputs.tf`` (what a deployed stack tells ``stratus deploy`` and its users) and ``variables.tf``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.infra.hcl import Expr
from stratus.infra.services import container_module
from stratus.infra.terraform import Files, Output, module_name

if TYPE_CHECKING:
    from stratus.manifest import Stack


def outputs_file(files: Files, stack: Stack) -> str:
    plan = stack.plan
    outputs = [
        Output("primary_endpoint", "Where clients call the stack: the custom domain, else the API's endpoint.",
               Expr("module.api.endpoint")),
        Output("api_gateway_url", "The HTTP API's execute-api endpoint.", Expr("module.api.api_endpoint")),
        Output("api_id", "ID of the HTTP API.", Expr("module.api.api_id")),
        Output("certificate_arn", "ARN of the custom domain's certificate, if any.",
               Expr("module.api.certificate_arn")),
    ]  # fmt: skip
    idents = _output_idents(stack)
    for name, service in sorted(plan.services.items()):
        ident = idents[("service", name)]
        if service.kind == "lambda":
            outputs.append(
                Output(f"lambda_{ident}_function_name", f"Name of {name}'s HTTP function.",
                       Expr(f'module.lambda_{name}.function_names["http"]'))
            )  # fmt: skip
        else:
            module, platform = container_module(service), "App Runner" if service.kind == "apprunner" else "ECS Express"
            kind = "apprunner" if service.kind == "apprunner" else "ecs"
            outputs += [
                Output(f"{kind}_{ident}_url", f"{platform} URL of {name} (direct, not through the API).",
                       Expr(f"module.{module}.service_url")),
                Output(f"{kind}_{ident}_arn", f"ARN of {name}'s {platform} service.",
                       Expr(f"module.{module}.service_arn")),
            ]  # fmt: skip
            if service.kind == "apprunner":
                outputs.append(
                    Output(f"apprunner_{ident}_status", f"Status of {name}'s App Runner service.",
                           Expr(f"module.{module}.status"))
                )  # fmt: skip
        if service.image:
            outputs.append(
                Output(f"ecr_{ident}_repository_url", f"ECR repository of {name}'s images.",
                       Expr(f"module.ecr_{name}.repository_url"))
            )  # fmt: skip
    for name in sorted(plan.queues):
        ident, module = idents[("queue", name)], module_name("queue", name)
        outputs += [
            Output(f"{ident}_queue_url", f"URL of queue {name}.", Expr(f"module.{module}.queue_url")),
            Output(f"{ident}_queue_arn", f"ARN of queue {name}.", Expr(f"module.{module}.queue_arn")),
            Output(f"{ident}_dlq_url", f"URL of queue {name}'s dead-letter queue.", Expr(f"module.{module}.dlq_url")),
        ]
    for name in sorted(plan.tables):
        ident, module = idents[("table", name)], module_name("table", name)
        outputs.append(Output(f"{ident}_table_name", f"Name of table {name}.", Expr(f"module.{module}.table_name")))
    for name in sorted(plan.buckets):
        ident, module = idents[("bucket", name)], module_name("bucket", name)
        outputs.append(Output(f"{ident}_bucket_name", f"Name of bucket {name}.", Expr(f"module.{module}.bucket_name")))
    for name in sorted(plan.databases):
        ident, module = idents[("database", name)], module_name("database", name)
        outputs += [
            Output(f"{ident}_database_address", f"Host of database {name}.", Expr(f"module.{module}.address")),
            Output(f"{ident}_database_secret_arn", f"Secret holding database {name}'s credentials.",
                   Expr(f"module.{module}.secret_arn")),
        ]  # fmt: skip
    for name in sorted(plan.secrets):
        ident, module = idents[("secret", name)], module_name("secret", name)
        outputs.append(Output(f"{ident}_secret_arn", f"ARN of secret {name}.", Expr(f"module.{module}.secret_arn")))
    return files.template("outputs.tf.j2", outputs=outputs)


def variables_file(files: Files, stack: Stack) -> str:
    services = stack.plan.services
    zips = sorted(n for n, s in services.items() if s.kind == "lambda" and not s.image)
    images = sorted(n for n, s in services.items() if s.image)
    cors = stack.api.cors is not None
    return files.template("variables.tf.j2", zip_services=zips, image_services=images, cors=cors)


def _output_idents(stack: Stack) -> dict[tuple[str, str], str]:
    """Output name parts: underscores for hyphens, unless two names of a kind would then collide."""
    out: dict[tuple[str, str], str] = {}
    groups: dict[str, list[str]] = {"service": list(stack.services)}
    for kind, table in (("queue", stack.queues), ("table", stack.tables), ("bucket", stack.buckets),
                        ("database", stack.databases), ("secret", stack.secrets)):  # fmt: skip
        groups[kind] = list(table)
    taken = [n.replace("-", "_") for kind, names in groups.items() if kind != "service" for n in names]
    for kind, names in groups.items():
        for name in names:
            ident = name.replace("-", "_")
            clash = kind != "service" and taken.count(ident) > 1
            out[(kind, name)] = name if clash else ident
    return out
