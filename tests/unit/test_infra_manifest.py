"""What `stratus validate` refuses because AWS would refuse the Terraform, with AWS's rule in the message;
and the manifest fields `stratus infra` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stratus.manifest import DEFAULT_AUTHORIZER, ManifestError, Stack, parse_stack


def stack(**tables: Any) -> Stack:
    raw = {"project": {"name": "acme"}, **tables}
    return parse_stack(raw, root=Path("/nowhere"))


def problems(**tables: Any) -> list[str]:
    with pytest.raises(ManifestError) as info:
        stack(**tables)
    return [p.render() for p in info.value.problems]


def lam(path: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "lambda", "path": path, **fields}


def test_apprunner_names_must_fit_the_auto_scaling_configuration_limit() -> None:
    # GIVEN an App Runner service whose prefixed name is 33 characters in the longest environment (dev)
    name = "w" * (33 - len("acme-dev-"))
    out = problems(services={name: {"kind": "apprunner", "path": "/w"}})
    assert out == [
        f"stratus.toml: services.{name}: 'acme-dev-{name}' is 33 characters: App Runner auto scaling configuration "
        "names are at most 32 characters; use a shorter name"
    ]


def test_consumer_and_schedule_functions_must_fit_lambdas_limit() -> None:
    long_queue = "q" * 40
    out = problems(
        services={"worker": lam("/w", consumes=[{"queue": long_queue, "handler": "worker.c.handler"}],
                                schedules=[{"rate": "1 hour", "handler": "worker.s.handler", "name": "s" * 50}])},
        queues={long_queue: {}},
    )  # fmt: skip
    assert any("services.worker.consumes[0]" in p and "Lambda function names are at most 64" in p for p in out)
    assert any("services.worker.schedules[0]" in p and "Lambda function names are at most 64" in p for p in out)


def test_derived_role_names_must_fit_iams_limit() -> None:
    name = "e" * (64 - len("acme-dev--infrastructure") + 1)
    out = problems(services={name: {"kind": "ecs-express", "path": "/e", "cpu": 256, "memory": 512}})
    assert any("-infrastructure' is 65 characters: IAM role names are at most 64" in p for p in out)


def test_fifo_dead_letter_queue_names_count_the_fifo_suffix() -> None:
    name = "f" * (80 - len("acme-dev--dlq.fifo") + 1)
    out = problems(queues={name: {"fifo": True}})
    assert out == [
        f"stratus.toml: queues.{name}: 'acme-dev-{name}-dlq.fifo' is 81 characters: SQS queue names are at most "
        "80 characters; use a shorter name"
    ]


def test_rds_identifiers_allow_no_underscore() -> None:
    out = problems(databases={"game_records": {}}, network={"create": True})
    assert out == [
        "stratus.toml: databases.game_records: RDS DB identifiers allow only letters, digits and hyphens; "
        "rename without '_'"
    ]


def test_a_protected_service_needs_an_authorizer() -> None:
    out = problems(services={"api": lam("/api", auth="token")})
    assert len(out) == 1 and out[0].startswith("stratus.toml: services.api.auth: 'token' needs an authorizer")


def test_the_authorizer_defaults_to_the_gateway_service() -> None:
    s = stack(services={"gateway": lam("/"), "api": lam("/api", auth="api_key")})
    assert s.authorizer == DEFAULT_AUTHORIZER
    assert s.authorizer is not None and s.authorizer.handler == "gateway.authorizer.handler"


def test_an_explicit_authorizer_must_be_a_lambda_service_and_cache_on_identity_sources() -> None:
    out = problems(
        api={"authorizer": {"service": "web", "handler": "web.auth.handler", "ttl": 60}},
        services={"web": {"kind": "apprunner", "path": "/web"}},
    )
    assert "stratus.toml: api.authorizer.service: 'web' is a apprunner service; API Gateway authorizers are Lambda " \
           "functions" in out  # fmt: skip
    assert any(p.startswith("stratus.toml: api.authorizer.identity_sources: caching (ttl > 0)") for p in out)
    out = problems(api={"authorizer": {"service": "nope", "handler": "a.b"}}, services={"x": lam("/x")})
    assert out == ["stratus.toml: api.authorizer.service: no service named 'nope' (declared: x)"]


def test_infra_fields_have_defaults_and_are_validated() -> None:
    s = stack(services={"w": lam("/w")}, environments={"prod": {"domain": {"name": "api.acme.example",
                                                                          "zone_id": "Z123ABC"}}})  # fmt: skip
    svc = s.services["w"]
    assert getattr(svc, "package", None) == "zip"
    assert s.project.state_bucket is None and s.domain is None
    assert s.environments["prod"].domain is not None and s.environments["prod"].domain.zone_id == "Z123ABC"
    out = problems(services={"w": lam("/w", package="wheel")},
                   environments={"prod": {"domain": {"name": "not a domain", "zone_id": "x"}}})  # fmt: skip
    assert "stratus.toml: services.w.package: must be one of 'zip' or 'image' (got 'wheel')" in out
    assert "stratus.toml: environments.prod.domain.name: must be a DNS name (got 'not a domain')" in out
    assert any(p.startswith("stratus.toml: environments.prod.domain.zone_id: must be a Route 53") for p in out)
