"""The manifest -> Terraform: ``render(stacks)`` returns ``{path under infra/terraform: text}``, pure.

``stacks`` holds the manifest seen from each environment (``load_stack(env=...)``), already validated: what
one configuration cannot express (a per-environment ``path``, say) ``stratus validate`` refuses. One
configuration serves every environment: what may differ between them is chosen by ``var.environment`` in the
service's own file. Every fact comes from the plan (``stack.plan``), the one the local cloud runs.

What is generated, and from what:

- ``modules/<name>/``: the hand-written modules of ``stratus/infra/modules``, copied;
- one root file per service (``lambda-<name>.tf``, ``apprunner-<name>.tf``, ``ecs-express-<name>.tf``:
  :mod:`stratus.infra.services`) and per resource (``sqs-<name>.tf``, ``dynamodb-<name>.tf``, ``s3-<name>.tf``,
  ``postgres-<name>.tf``, ``secret-<name>.tf``: :mod:`stratus.infra.resources`), so that changing a service
  changes its file (and ``api-gateway.tf`` when its routes change: :mod:`stratus.infra.api`);
- ``alarms.tf`` (where alarms go, the artifacts bucket), ``outputs.tf`` and ``variables.tf``
  (:mod:`stratus.infra.outputs`), ``main.tf`` (the provider, with the manifest's tags), ``versions.tf``, ``backend.tf``,
  ``network.tf`` (only with databases), ``environments/<env>.tfvars`` and ``environments/<env>.s3.tfbackend``,
  ``bootstrap/main.tf`` (the state bucket and lock table).

Every generated file starts with :data:`HEADER` (:data:`MD_HEADER` for Markdown): the writer overwrites and
removes only files that carry it.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from stratus import naming
from stratus.infra.api import api_file
from stratus.infra.outputs import outputs_file, variables_file
from stratus.infra.resources import (
    bucket_file,
    database_file,
    model_file,
    network_file,
    queue_file,
    secret_file,
    table_file,
)
from stratus.infra.services import container_file, lambda_file
from stratus.infra.terraform import HEADER, MARKER, MD_HEADER, MODULE_HEADER, Files, prefix_expr
from stratus.manifest import DEFAULT_ENV

if TYPE_CHECKING:
    from collections.abc import Mapping

    from stratus.manifest import Stack

__all__ = ["HEADER", "MARKER", "MD_HEADER", "MODULES", "MODULE_HEADER", "render"]

MODULES = (
    "apprunner-service",
    "bootstrap",
    "dynamodb-table",
    "ecr-repository",
    "ecs-express-service",
    "http-api",
    "lambda-service",
    "postgres",
    "s3-bucket",
    "secret",
    "sqs-queue",
)


def render(stacks: Mapping[str, Stack]) -> dict[str, str]:
    """Every file of ``infra/terraform`` for the manifest seen from each environment in ``stacks``."""
    if not stacks:
        raise ValueError("render needs the stack of at least one environment")
    envs = sorted(stacks)
    stack = stacks[DEFAULT_ENV] if DEFAULT_ENV in stacks else stacks[envs[0]]
    views = {env: stacks[env] for env in envs}
    files = Files()
    out: dict[str, str] = {}
    for name, service in stack.plan.services.items():
        if service.kind == "lambda":
            out[f"lambda-{name}.tf"] = lambda_file(files, stack, views, name)
        else:
            out[f"{service.kind}-{name}.tf"] = container_file(files, stack, views, name)
    for name in stack.queues:
        out[f"sqs-{name}.tf"] = queue_file(files, stack, name)
    for name in stack.tables:
        out[f"dynamodb-{name}.tf"] = table_file(files, stack, name)
    for name in stack.buckets:
        out[f"s3-{name}.tf"] = bucket_file(files, stack, name)
    for name in stack.databases:
        out[f"postgres-{name}.tf"] = database_file(files, stack, name)
    for name in stack.secrets:
        out[f"secret-{name}.tf"] = secret_file(files, stack, name)
    for name in stack.models:
        out[f"bedrock-{name}.tf"] = model_file(files, stack, name)
    if stack.databases:
        out["network.tf"] = network_file(files, stack, views)
    out["api-gateway.tf"] = api_file(files, stack)
    out["outputs.tf"] = outputs_file(files, stack)
    out["variables.tf"] = variables_file(files, stack)
    out["alarms.tf"] = _alarms_file(files, stack)
    out.update(_project_files(files, stack, views))
    out.update(module_files())
    return dict(sorted(out.items()))


def module_files() -> dict[str, str]:
    """The hand-written modules, as copied under ``modules/``, each file with its header."""
    out: dict[str, str] = {}
    base = resources.files("stratus.infra") / "modules"
    for module in MODULES:
        for name in ("README.md", "main.tf", "outputs.tf", "variables.tf", "versions.tf"):
            text = (base / module / name).read_text(encoding="utf-8")
            header = MD_HEADER if name.endswith(".md") else MODULE_HEADER
            out[f"modules/{module}/{name}"] = f"{header}\n{text}"
    return out


def _project_files(files: Files, stack: Stack, views: Mapping[str, Stack]) -> dict[str, str]:
    """main.tf, versions.tf, the state backend, and each environment's tfvars and backend settings."""
    project = stack.project
    state_bucket = project.state_bucket or f"{project.name}-terraform-state"
    lock_table = f"{project.name}-terraform-locks"
    out = {
        "main.tf": files.template(
            "main.tf.j2", project=project, counts=_counts(stack), prefix=prefix_expr(), tags=dict(project.tags)
        ),
        "versions.tf": files.template("versions.tf.j2"),
        "backend.tf": files.template(
            "backend.tf.j2", bucket=state_bucket, region=project.region, lock_table=lock_table
        ),
        "bootstrap/main.tf": files.template(
            "bootstrap.tf.j2", region=project.region, project=project.name, bucket=state_bucket, lock_table=lock_table
        ),
    }
    for env, view in views.items():
        domain = view.domain
        out[f"environments/{env}.tfvars"] = files.template(
            "tfvars.j2",
            env=env,
            project=project,
            retention=view.log_retention_days,
            domain_name=domain.name if domain else None,
            zone_id=domain.zone_id if domain else None,
            cors_origins=view.cors_origins if view.api.cors is not None else None,
        )
        out[f"environments/{env}.s3.tfbackend"] = files.template(
            "tfbackend.j2", key=f"{project.name}/{env}/terraform.tfstate"
        )
    return out


def _alarms_file(files: Files, stack: Stack) -> str:
    """Where alarms go ([alarms]), and the artifacts bucket when a service ships a zip."""
    zips = any(s.kind == "lambda" and not s.image for s in stack.plan.services.values())
    alarms = stack.alarms
    return files.template(
        "alarms.tf.j2",
        email=alarms.email,
        topic_arn=alarms.topic_arn,
        artifacts=naming.ARTIFACTS_BUCKET if zips else None,
    )


def _counts(stack: Stack) -> str:
    parts = [(len(stack.services), "service"), (len(stack.queues), "queue"), (len(stack.tables), "table"),
             (len(stack.buckets), "bucket"), (len(stack.databases), "database")]  # fmt: skip
    return ", ".join(f"{n} {what}{'s' * (n != 1)}" for n, what in parts)
