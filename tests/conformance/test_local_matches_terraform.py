"""What runs under ``stratus dev`` is what ``stratus infra`` deploys.

For each environment of a stack, the Terraform is rendered and read back from its HCL (:mod:`terraform_view`),
and the local cloud's parts are built with its own code (:mod:`local_view`); the two must agree on:

- every Lambda function: AWS name, handler, memory, timeout, reserved concurrency, and environment variables
  (same names; values that denote the same queue, table, bucket, database, secret or API; literals equal);
- every container's environment;
- the SQS event source mappings (queue, batch size, batching window, partial-failure reporting), the schedules
  (rule, expression), the bucket notifications (function, events, prefix, suffix);
- the queues (DLQ, FIFO, visibility, retention, delay, long-poll wait, max receives), tables (keys, TTL), buckets
  (versioning), databases (the database created) and secrets (names; the length of a generated value);
- the HTTP API's routes, their integrations (function, timeout) and authorizers (function, identity sources, TTL);
- each service's role policy, as the local IAM holds it (what the enforcer evaluates), against the role's
  ``policy_statements`` in the Terraform (actions on the same resources).

Over the reference stacks (the repository's and the infra snapshots') and over generated manifests (hypothesis,
bounded). A difference fails naming the fact and the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stratus import naming
from stratus.infra.render import render
from stratus.local.containers import base_environ
from stratus.manifest import ManifestError, Stack, parse_stack
from tests.conformance.local_view import LocalView
from tests.conformance.terraform_view import TerraformView

REPOSITORY = Path(__file__).parents[2]
REFERENCE = REPOSITORY / "tests" / "infra" / "reference"

# What the platform sets that a Terraform configuration does not: the Lambda runtime's reserved variables
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), the
# region, and locally the endpoints and credentials of the local AWS and the process basics.
LAMBDA_RUNTIME = {
    "_HANDLER", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_XRAY_CONTEXT_MISSING", "TZ", "LANG",
    "PYTHONPATH", "AWS_REGION", "AWS_DEFAULT_REGION",
}  # fmt: skip
LOCAL_PLATFORM = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", *naming.LOCAL_CREDENTIALS, *base_environ()}
# A container's port and address are the platform's to choose locally (a free port on 127.0.0.1: 8080 for every
# service would collide); their names are declared alike.
ASSIGNED_LOCALLY = {"PORT", "HOST"}


def conform(stacks: dict[str, Stack], scratch: Path) -> None:
    """Every fact the local cloud runs equals what the Terraform declares, in every environment."""
    files = render(stacks)
    for env, stack in stacks.items():
        terraform = TerraformView(files, env=env, project=stack.project.name, region=stack.project.region)
        local = LocalView(stack, scratch / env)
        where = f"[{env}] "
        _same(where + "functions", terraform.functions(), local.functions(), _environment_names)
        _same(where + "containers", terraform.containers(), local.containers(), _environment_names)
        _same(where + "event sources", terraform.event_sources(), local.event_sources())
        _same(where + "schedules", terraform.schedules(), local.schedules())
        _same(where + "bucket notifications", terraform.notifications(), local.notifications)
        _same(where + "queues", terraform.queues(), local.queues)
        _same(where + "tables", terraform.tables(), local.tables)
        _same(where + "buckets", terraform.buckets(), local.buckets)
        _same(where + "databases", terraform.databases(), local.database_names)
        _same(where + "secrets", terraform.secrets(), local.secrets)
        _same(where + "routes", terraform.routes(), local.routes())
        _same(where + "grants", terraform.grants(), local.grants())


def _same(what: str, declared: dict[Any, Any], running: dict[Any, Any], compare: Any = None) -> None:
    assert sorted(map(str, declared)) == sorted(map(str, running)), (
        f"{what}: the Terraform declares {sorted(map(str, declared))}, the local cloud runs {sorted(map(str, running))}"
    )
    for key, expected in declared.items():
        got = running[key]
        if compare is not None:
            expected, got = compare(f"{what} {key}", expected, got)
        if isinstance(expected, dict):
            for field in expected:
                assert got.get(field) == expected[field], (
                    f"{what} {key}: {field}: the Terraform has {expected[field]!r}, the local cloud {got.get(field)!r}"
                )
        assert expected == got, f"{what} {key}: the Terraform has {expected!r}, the local cloud {got!r}"


def _environment_names(where: str, declared: dict[str, Any], running: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Every declared variable runs locally with the same meaning; locally there is only the platform's beside."""
    declared, running = dict(declared), dict(running)
    env_declared, env_running = declared.pop("environment"), running.pop("environment")
    extra = set(env_running) - set(env_declared) - LAMBDA_RUNTIME - LOCAL_PLATFORM
    assert not extra, f"{where}: the local cloud sets {sorted(extra)}, which the Terraform does not declare"
    for name, value in env_declared.items():
        assert name in env_running, f"{where}: environment {name}: declared by the Terraform, missing locally"
        if name not in ASSIGNED_LOCALLY:
            assert env_running[name] == value, (
                f"{where}: environment {name}: the Terraform has {value!r}, the local cloud {env_running[name]!r}"
            )
    return declared, running


def stacks_of(raw: dict[str, Any], root: Path) -> dict[str, Stack]:
    base = parse_stack(raw, root=root)
    return {env: parse_stack(raw, root=root, env=env) for env in base.environment_names}


# --------------------------------------------------------------------------------------------------- stacks


@pytest.mark.parametrize("root", [REPOSITORY, REFERENCE], ids=["repository", "infra-reference"])
def test_the_reference_stacks_run_locally_as_their_terraform_declares(root: Path, tmp_path: Path) -> None:
    raw = tomllib.loads((root / "stratus.toml").read_text())
    conform(stacks_of(raw, root), tmp_path)


def test_a_difference_fails_with_the_field_that_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a local cloud whose event sources would poll with another batch size than the Terraform's mappings
    from stratus.local import sqs_source

    original = sqs_source.SqsEventSource.__init__

    def drifted(self: Any, **kwargs: Any) -> None:
        original(self, **{**kwargs, "batch_size": kwargs["batch_size"] + 1})

    monkeypatch.setattr(sqs_source.SqsEventSource, "__init__", drifted)
    raw = tomllib.loads((REFERENCE / "stratus.toml").read_text())
    # THEN the comparison names the function and the field
    with pytest.raises(AssertionError, match=r"event sources acme-dev-worker-jobs-consumer: batch_size"):
        conform(stacks_of(raw, REFERENCE), tmp_path)


# --------------------------------------------------------------------------------------------------- generated

QUEUES, TABLES, BUCKETS = ("jobs", "mail", "orders"), ("users", "job-records"), ("uploads", "media")
ACCESS = {"queue": ("send", "receive", "send-receive"), "table": ("read", "write", "read-write"),
          "bucket": ("read", "write", "read-write"), "database": ("read", "read-write"),
          "secret": ("read",), "model": ("invoke",)}  # fmt: skip


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A manifest with every kind of fact the back ends derive: not every one is valid (those are skipped)."""
    queues = {
        q: {
            "visibility_timeout": draw(st.sampled_from([60, 300, 900])),
            "max_receive_count": draw(st.integers(1, 5)),
            "delay_seconds": draw(st.sampled_from([0, 5])),
            "fifo": draw(st.booleans()),
            **({"receive_wait": draw(st.integers(0, 20))} if draw(st.booleans()) else {}),
        }
        for q in draw(st.lists(st.sampled_from(QUEUES), unique=True, max_size=2))
    }
    tables = {
        t: {"hash_key": "id", **({"range_key": "at", "range_key_type": "N"} if draw(st.booleans()) else {}),
            **({"ttl_attribute": "expires_at"} if draw(st.booleans()) else {}),
            **({"indexes": [{"name": "by-owner", "hash_key": "owner", **({"range_key": "at", "range_key_type": "N"}
                                                                       if draw(st.booleans()) else {}),
                             "projection": draw(st.sampled_from(["all", "keys_only"]))}]}
               if draw(st.booleans()) else {})}
        for t in draw(st.lists(st.sampled_from(TABLES), unique=True, max_size=2))
    }  # fmt: skip
    chosen = draw(st.lists(st.sampled_from(BUCKETS), unique=True, max_size=2))
    buckets: dict[str, Any] = {b: {"versioning": draw(st.booleans())} for b in chosen}
    databases = {"records": {}} if draw(st.booleans()) else {}
    secrets = {
        s: draw(st.sampled_from([{"generate": 64}, {"generate": 40}, {"external": True}]))
        for s in draw(st.lists(st.sampled_from(["signing", "partner-key"]), unique=True))
    }
    models = {m: {"id": "anthropic.claude-3-haiku-20240307-v1:0"}
              for m in draw(st.lists(st.sampled_from(["writer", "judge"]), unique=True))}  # fmt: skip
    resources = {**dict.fromkeys(queues, "queue"), **dict.fromkeys(tables, "table"), **dict.fromkeys(models, "model"),
                 **dict.fromkeys(buckets, "bucket"), **dict.fromkeys(databases, "database"),
                 **dict.fromkeys(secrets, "secret")}  # fmt: skip
    services: dict[str, Any] = {}
    if draw(st.booleans()):
        services["gateway"] = {"kind": "lambda", "path": "/"}
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["lambda", "lambda", "apprunner", "ecs-express"]))
        usable = [r for r in resources if kind != "ecs-express" or resources[r] != "database"]
        chosen = draw(st.lists(st.sampled_from(usable), unique=True)) if usable else []
        uses = {r: draw(st.sampled_from(ACCESS[resources[r]])) for r in chosen}
        service: dict[str, Any] = {"kind": kind, "path": f"/svc{i}", "uses": uses,
                                   "auth": draw(st.sampled_from(["none", "api_key", "token"]))}  # fmt: skip
        if kind == "lambda":
            service["memory"] = draw(st.sampled_from([128, 512, 1769]))
            service["timeout"] = draw(st.sampled_from([10, 30, 60]))
            consumed = draw(st.lists(st.sampled_from(sorted(queues)), unique=True)) if queues else []
            service["consumes"] = [
                {"queue": q, "handler": f"svc{i}.consumer.handler", "batch_size": draw(st.integers(1, 10)),
                 "batching_window": 0 if queues[q]["fifo"] else draw(st.integers(0, 5))}
                for q in consumed
            ]  # fmt: skip
            service["schedules"] = [
                {"rate": rate, "handler": f"svc{i}.tasks.{name}"}
                for name, rate in draw(st.lists(st.sampled_from([("sweep", "5 minutes"), ("report", "1 hour")]),
                                                unique=True))
            ]  # fmt: skip
            if draw(st.booleans()):
                service["reserved_concurrency"] = draw(st.integers(1, 5))
            if draw(st.booleans()):
                service["provisioned_concurrency"] = 1
            if draw(st.booleans()):
                service["migrations"] = f"svc{i}.migrate.handler"
        else:
            service["cpu"], service["memory"] = draw(st.sampled_from([(1024, 2048), (512, 1024)]))
        if draw(st.booleans()):
            service["env"] = {"LOG_LEVEL": "DEBUG"}
        if draw(st.booleans()):  # protection per route: a public route, a scoped one, a route of another mode
            service["routes"] = {
                "GET /top": {"auth": "none"},
                "POST /": {"auth": "token", "scopes": ["write"]},
                "DELETE /{item_id}": {"auth": draw(st.sampled_from(["api_key", "token"]))},
            }
        services[f"svc{i}"] = service
    lambdas = [n for n, s in services.items() if s["kind"] == "lambda"]
    for bucket in buckets:
        targets = draw(st.lists(st.sampled_from(lambdas), unique=True, max_size=2)) if lambdas else []
        events = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
        buckets[bucket]["notify"] = [
            {"service": t, "handler": f"{t}.files.handler", "events": [events[j]],
             "prefix": draw(st.sampled_from(["", "in/"])), "suffix": draw(st.sampled_from(["", ".csv"]))}
            for j, t in enumerate(targets)
        ]  # fmt: skip
    environments: dict[str, Any] = {"dev": {"log_retention_days": 7}}
    if draw(st.booleans()):
        overrides: dict[str, Any] = {}
        for name in draw(st.lists(st.sampled_from(sorted(services)), unique=True, max_size=2)):
            lambda_ = services[name]["kind"] == "lambda"
            overrides[name] = (
                {"memory": 2048, "provisioned_concurrency": 1} if lambda_ else {"env": {"LOG_LEVEL": "INFO"}}
            )
        environments["prod"] = {"log_retention_days": 30, "services": overrides}
    api: dict[str, Any] = {}
    if draw(st.booleans()):
        api["cors"] = {"allow_origins": ["https://app.example"]}
    if draw(st.booleans()) and lambdas:
        api["authorizer"] = {"service": draw(st.sampled_from(lambdas)), "handler": "auth.check.handler",
                             **({"ttl": 60, "identity_sources": ["$request.header.Authorization"]}
                                if draw(st.booleans()) else {})}  # fmt: skip
    return {"project": {"name": draw(st.sampled_from(["acme", "shop"])), "region": "eu-west-1"},
            "environments": environments, "api": api, "services": services, "queues": queues, "tables": tables,
            "buckets": buckets, "databases": databases, "secrets": secrets, "models": models,
            **({"network": {"create": True}} if databases else {})}  # fmt: skip


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(raw=manifests())
def test_generated_manifests_run_locally_as_their_terraform_declares(raw: dict[str, Any], tmp_path: Path) -> None:
    try:
        stacks = stacks_of(raw, tmp_path)
    except ManifestError:
        assume(False)
        return
    conform(stacks, tmp_path)
