"""Property: any valid manifest renders Terraform whose every reference resolves (and, on a few, checkov
passes). Bounded: 20 examples, checkov (~5 s) on one rich one (the reference stack has its own checkov run)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stratus.infra.check import check_references, run_checkov
from stratus.infra.render import render
from stratus.infra.writer import write
from stratus.manifest import APPRUNNER_SIZES, parse_stack

NAMES = ["alpha", "beta", "gamma", "delta"]
CHECKOV_RUNS = 1  # on the first rich example: every kind of service, or a database behind an authorizer
ACCESS = {
    "queues": ["send", "receive", "send-receive"],
    "tables": ["read", "write", "read-write"],
    "buckets": ["read", "write", "read-write"],
    "databases": ["read", "read-write"],
    "secrets": ["read"],
}
PREFIX = {"queues": "q-", "tables": "t_", "buckets": "b-", "databases": "d-"}


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    resources: dict[str, dict[str, Any]] = {}
    resources["queues"] = {
        PREFIX["queues"] + n: {"visibility_timeout": 900, "fifo": draw(st.booleans()),
                               "max_receive_count": draw(st.integers(1, 10))}
        for n in draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))
    }  # fmt: skip
    resources["tables"] = {
        PREFIX["tables"] + n: {
            "hash_key": "id",
            **({"range_key": "at", "range_key_type": "N"} if draw(st.booleans()) else {}),
            **({"ttl_attribute": "expires"} if draw(st.booleans()) else {}),
        }
        for n in draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))
    }
    resources["buckets"] = {
        PREFIX["buckets"] + n: {"versioning": draw(st.booleans()),
                                **({"expire_days": draw(st.integers(1, 400))} if draw(st.booleans()) else {})}
        for n in draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))
    }  # fmt: skip
    resources["databases"] = {
        PREFIX["databases"] + n: {} for n in draw(st.lists(st.sampled_from(NAMES), max_size=1, unique=True))
    }
    resources["secrets"] = {
        f"k-{n}": draw(st.sampled_from([{"generate": 64}, {"external": True}]))
        for n in draw(st.lists(st.sampled_from(NAMES), max_size=1, unique=True))
    }
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    services = {f"s-{name}": _service(draw, i, name, resources) for i, name in enumerate(names)}
    lambdas = [n for n, s in services.items() if s["kind"] == "lambda"]
    api: dict[str, Any] = {}
    if lambdas and draw(st.booleans()):
        api["authorizer"] = {"service": lambdas[0], "handler": "auth.handler"}
        for svc in services.values():
            svc["auth"] = draw(st.sampled_from(["none", "api_key", "token"]))
    if draw(st.booleans()):
        api["cors"] = {"allow_origins": ["https://example.com"]}
    if draw(st.booleans()):
        api["throttle"] = {"rate": 10, "burst": 20}
    environments: dict[str, Any] = {"dev": {"log_retention_days": 7}, "prod": {"log_retention_days": 30}}
    if lambdas and draw(st.booleans()):
        environments["prod"]["services"] = {lambdas[-1]: {"memory": 3008}}
    if resources["databases"] and draw(st.booleans()):  # their network: Stratus's own VPC, or in prod an existing one
        subnets = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
        environments["prod"]["network"] = {"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_ids": subnets}
    network = {"network": {"create": True}} if resources["databases"] else {}
    return {"project": {"name": draw(st.sampled_from(["acme", "zeta"]))}, "environments": environments,
            "api": api, "services": services, **resources, **network}  # fmt: skip


def _service(draw: st.DrawFn, i: int, name: str, resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["lambda", "lambda", "apprunner", "ecs-express"]))
    svc: dict[str, Any] = {"kind": kind, "path": "/" if i == 0 and draw(st.booleans()) else f"/{name}"}
    uses = {}
    for table, entries in resources.items():
        if table == "databases" and kind == "ecs-express":
            continue  # an ECS Express service cannot reach a database (validate refuses it)
        for res in entries:
            if draw(st.booleans()):
                uses[res] = draw(st.sampled_from(ACCESS[table]))
    svc["uses"] = uses
    if draw(st.booleans()):
        svc["env"] = {"LOG_LEVEL": draw(st.sampled_from(["DEBUG", "INFO"]))}
    if kind == "lambda":
        svc["memory"] = draw(st.sampled_from([128, 512, 1769]))
        svc["package"] = draw(st.sampled_from(["zip", "image"]))
        if resources["queues"] and draw(st.booleans()):
            queue = draw(st.sampled_from(sorted(resources["queues"])))
            svc["consumes"] = [{"queue": queue, "handler": f"{name}.consumer.handler"}]
        if draw(st.booleans()):
            svc["schedules"] = [{"rate": "10 minutes", "handler": f"{name}.tick.handler"}]
    elif kind == "apprunner":
        cpu = draw(st.sampled_from(sorted(APPRUNNER_SIZES)))
        svc.update(cpu=cpu, memory=draw(st.sampled_from(APPRUNNER_SIZES[cpu])))
    else:
        svc.update(cpu=512, memory=1024)
    return svc


checkov_runs: list[int] = []


def rich(raw: dict[str, Any]) -> bool:
    kinds = {svc["kind"] for svc in raw["services"].values()}
    return len(kinds) == 3 or bool(raw["databases"] and raw["api"].get("authorizer"))


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_valid_manifests_render_terraform_whose_references_all_resolve(raw: dict[str, Any]) -> None:
    stacks = {env: parse_stack(raw, root=Path("/nowhere"), env=env) for env in ("dev", "prod")}  # valid by design
    files = render(stacks)
    assert render(stacks) == files  # deterministic
    for name, svc in stacks["dev"].services.items():
        prefix = "lambda" if svc.kind == "lambda" else "apprunner" if svc.kind == "apprunner" else "ecs-express"
        assert f"{prefix}-{name}.tf" in files
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write(out, files)
        assert check_references(out) == []
        if rich(raw) and len(checkov_runs) < CHECKOV_RUNS:
            checkov_runs.append(1)
            result = run_checkov(out)
            assert result.failed == [] and result.parsing_errors == [], [f.check_id for f in result.failed]
