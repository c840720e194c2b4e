"""The derived plan (`stack.plan`): what every back end reads, worked out once."""

from __future__ import annotations

import re
import textwrap
from importlib import resources
from pathlib import Path

import pytest
from stratus_common.database import database_secret_env_var, database_url_env_var
from stratus_common.secrets import secret_env_var
from stratus_common.settings import resource_env_var

from stratus import naming
from stratus.manifest import load_stack
from stratus.manifest.plan import BucketTrigger, QueueTrigger, ScheduleTrigger
from stratus.manifest.refs import Ref

MANIFEST = """
[project]
name = "acme"
arch = "arm64"

[environments.prod]
services.worker.memory = 2048

[api]
cors = { allow_origins = ["https://app.example"] }

[services.gateway]
kind = "lambda"
path = "/"
uses = { sessions = "read" }

[services.worker]
kind = "lambda"
path = "/worker"
auth = "api_key"
arch = "x86_64"
timeout = 60
uses = { jobs = "send", uploads = "read-write" }
consumes = [{ queue = "jobs", handler = "worker.consumer.handler", batch_size = 5, batching_window = 2 }]
schedules = [{ cron = "0 3 * * ? *", handler = "worker.nightly.handler" }]

[services.web]
kind = "apprunner"
path = "/web"
port = 9000

[queues.jobs]
visibility_timeout = 360

[tables.sessions]
hash_key = "id"

[buckets.uploads]
notify = [{ service = "worker", handler = "worker.files.handler", prefix = "in/" }]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stratus.toml").write_text(textwrap.dedent(MANIFEST))
    return tmp_path


def test_a_lambda_service_has_one_function_per_trigger(root: Path) -> None:
    worker = load_stack(root).plan.services["worker"]
    got = [(f.key, f.source, f.name, f.kind, f.handler) for f in worker.functions]
    assert got == [
        ("http", "worker", "acme-dev-worker", "http", "worker.main.handler"),
        ("consumer-jobs", "worker/jobs", "acme-dev-worker-jobs-consumer", "sqs", "worker.consumer.handler"),
        ("schedule-nightly", "worker/nightly", "acme-dev-worker-nightly", "schedule", "worker.nightly.handler"),
        ("notify-uploads", "worker/uploads", "acme-dev-worker-uploads-events", "s3", "worker.files.handler"),
    ]
    assert worker.function("consumer-jobs").trigger == QueueTrigger("jobs", 5, 2, True, 20)
    assert worker.function("schedule-nightly").trigger == ScheduleTrigger(
        "nightly", "cron(0 3 * * ? *)", "acme-dev-worker-nightly"
    )
    assert worker.function("notify-uploads").trigger == BucketTrigger("uploads")
    # every function of the service shares its settings; the service's arch wins over the project's
    assert {(f.memory, f.timeout, f.arch, f.runtime) for f in worker.functions} == {(512, 60, "x86_64", "python3.13")}
    assert worker.function("http").log_group == "/aws/lambda/acme-dev-worker"


def test_the_authorizer_is_a_function_of_its_service(root: Path) -> None:
    plan = load_stack(root).plan
    authorizer = plan.services["gateway"].function("authorizer")
    assert (authorizer.name, authorizer.handler) == ("acme-dev-gateway-authorizer", "gateway.authorizer.handler")
    assert plan.authorizers["api_key"].function_name == "acme-dev-gateway-authorizer"
    assert plan.authorizers["api_key"].identity_sources == ("$request.header.x-api-key",)


def test_routes_carry_their_authorizer_and_preflights_bypass_it(root: Path) -> None:
    routes = {r.key: (r.target, r.authorizer) for r in load_stack(root).plan.routes}
    assert routes == {
        "$default": ("gateway", None),
        "ANY /web": ("web", None),
        "ANY /web/{proxy+}": ("web", None),
        "ANY /worker": ("worker", "api_key"),
        "ANY /worker/{proxy+}": ("worker", "api_key"),
        "OPTIONS /worker": ("worker", None),
        "OPTIONS /worker/{proxy+}": ("worker", None),
    }


def test_environments_refer_to_resources_and_the_stack_not_to_local_values(root: Path) -> None:
    plan = load_stack(root).plan
    worker, web = plan.services["worker"].environment, plan.services["web"].environment
    assert worker["JOBS_QUEUE_URL"] == Ref("queue", "jobs", "url")
    assert worker["JOBS_DLQ_URL"] == Ref("queue", "jobs", "dlq_url")
    assert worker["UPLOADS_BUCKET_NAME"] == Ref("bucket", "uploads", "name")
    assert worker["STRATUS_ENV"] == Ref("stack", "", "environment")
    assert worker["STRATUS_BASE_PATH"] == "/worker"
    assert "AWS_REGION" not in worker  # Lambda sets it, and refuses it
    assert (web["AWS_REGION"], web["PORT"], web["HOST"]) == (Ref("stack", "", "region"), "9000", "0.0.0.0")
    assert plan.services["gateway"].environment["STRATUS_ROUTES"] == (
        '{"ANY /worker":{"auth":"api_key"},"ANY /worker/{proxy+}":{"auth":"api_key"}}'
    )


def test_per_environment_values_reach_the_functions(root: Path) -> None:
    assert load_stack(root, env="prod").plan.services["worker"].function("http").memory == 2048


def test_names_of_queues_and_roles(root: Path) -> None:
    plan = load_stack(root).plan
    jobs = plan.queues["jobs"]
    assert (jobs.aws_name, jobs.dlq_name, jobs.dlq_retention, jobs.consumers) == (
        "acme-dev-jobs", "acme-dev-jobs-dlq", 1_209_600, ("worker/jobs",)
    )  # fmt: skip
    assert jobs.spec.receive_wait == 20  # long polling unless the manifest says otherwise, locally and in AWS alike
    assert plan.services["worker"].role_name == "acme-dev-worker-role"
    assert plan.buckets["uploads"].notifications[0].function_name == "acme-dev-worker-uploads-events"


@pytest.mark.parametrize("kind", ["queue", "table", "bucket", "database", "model"])
def test_services_read_their_resources_from_the_variables_the_plan_sets(kind: str) -> None:
    # stratus_common (the services' side) and stratus.naming (the toolkit's) must agree on every variable name
    variables = naming.binding_variables(kind, "rate-limits")  # type: ignore[arg-type]
    primary = {"queue": "url", "table": "name", "bucket": "name", "database": "url", "model": "id"}[kind]
    assert resource_env_var(kind, "rate-limits") == variables[primary]  # type: ignore[arg-type]
    if kind == "queue":
        assert resource_env_var("dlq", "rate-limits") == variables["dlq_url"]


def test_services_read_their_secrets_from_the_variables_the_plan_sets() -> None:
    assert secret_env_var("token-signing") == naming.binding_variables("secret", "token-signing")["arn"]
    assert database_secret_env_var("rate-limits") == naming.binding_variables("database", "rate-limits")["secret_arn"]
    assert database_url_env_var("rate-limits") == naming.binding_variables("database", "rate-limits")["url"]


PASSED_IN = ("dlq", "role", "async_dlq", "authorizer", "migrate")


@pytest.mark.parametrize("what", sorted(w for w in naming.SUFFIXES if w not in PASSED_IN))
def test_the_modules_spell_the_suffixes_the_length_checks_use(what: str) -> None:
    # names the plan passes to the modules (dlq, role, async_dlq) or names itself (authorizer) are not spelled there
    suffix = naming.SUFFIXES[what][0]
    modules = resources.files("stratus.infra") / "modules"
    texts = [(modules / m / "main.tf").read_text() for m in ("apprunner-service", "ecs-express-service", "postgres")]
    assert any(f'"${{var.name}}{suffix}"' in text for text in texts), f"no module names a resource <name>{suffix}"


def test_no_module_derives_a_name_the_plan_passes_in() -> None:
    modules = resources.files("stratus.infra") / "modules"
    for module in ("sqs-queue", "lambda-service", "apprunner-service", "ecs-express-service"):
        text = (modules / module / "main.tf").read_text()
        for suffix in ("-dlq", "-role", "-async-dlq"):
            assert not re.search(rf'name\s*=\s*"\$\{{var\.name\}}{suffix}', text), (module, suffix)
