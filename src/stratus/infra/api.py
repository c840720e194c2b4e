"""``api-gateway.tf``: the HTTP API with the plan's routes, integrations and authorizers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.infra.hcl import Expr
from stratus.infra.services import container_module
from stratus.infra.terraform import Block, Files

if TYPE_CHECKING:
    from stratus.manifest import Stack


def api_file(files: Files, stack: Stack) -> str:
    plan = stack.plan
    lambda_integrations: dict[str, object] = {}
    http_integrations: dict[str, object] = {}
    routes: dict[str, object] = {}
    for route in plan.routes:
        service = plan.services[route.target]
        timeout = service.integration_timeout_ms
        if service.kind == "lambda":
            lambda_integrations[service.name] = {
                "function_name": Expr(f'module.lambda_{service.name}.function_names["http"]'),
                "invoke_arn": Expr(f'module.lambda_{service.name}.invoke_arns["http"]'),
                "timeout_milliseconds": timeout,
                "qualifier": Expr(f'module.lambda_{service.name}.qualifiers["http"]'),
            }
            target = service.name
        else:
            # An HTTP_PROXY integration per kind of route: the service's root, and the rest of the path.
            url = f"module.{container_module(service)}.service_url"
            if route.greedy and service.path != "/":
                target, uri = f"{service.name}/proxy", f'"${{{url}}}/{{proxy}}"'
            else:
                target, uri = f"{service.name}/root", f'"${{{url}}}"' if service.path == "/" else f'"${{{url}}}/"'
            http_integrations[target] = {"uri": Expr(uri), "timeout_milliseconds": timeout}
        routes[route.key] = {"integration": target, "authorizer": route.authorizer}
    args: list[tuple[str, object] | None] = [
        ("name", Expr("local.prefix")),
        ("description", f"{stack.project.name}: every service of stratus.toml, routed by path"),
        ("log_retention_days", Expr("var.log_retention_days")),
    ]
    cors = stack.api.cors
    if cors is not None:
        args.append(("cors", {**cors.model_dump(), "allow_origins": Expr("var.cors_allow_origins")}))
    if stack.api.throttle is not None:
        args.append(("throttle", {"rate_limit": stack.api.throttle.rate, "burst_limit": stack.api.throttle.burst}))
    args += [
        None,
        ("domain_name", Expr("var.custom_domain_name")),
        ("zone_id", Expr("var.route53_zone_id")),
        None,
        ("lambda_integrations", lambda_integrations),
        ("http_integrations", http_integrations),
        ("routes", routes),
    ]
    authorizers = {
        key: {
            "function_name": Expr(f'module.lambda_{a.service}.function_names["{a.function}"]'),
            "invoke_arn": Expr(f'module.lambda_{a.service}.invoke_arns["{a.function}"]'),
            "ttl": a.ttl,
            "identity_sources": list(a.identity_sources),
        }
        for key, a in plan.authorizers.items()
    }
    if authorizers:
        args += [None, ("authorizers", authorizers)]
    args += [None, ("alarm_actions", Expr("local.alarm_actions"))]
    intro = ["The HTTP API: every service's routes ([api] and each service's path in stratus.toml)."]
    for name in sorted(stack.services):
        svc = stack.services[name]
        intro.append(f"  {svc.path} -> {name} ({svc.kind}{', auth ' + svc.auth if svc.auth != 'none' else ''})")
    return files.root(intro, [Block("api", "./modules/http-api", args)])
