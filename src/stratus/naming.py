"""Names: what things are called in AWS and in a service's environment.

One place for the conventions the local cloud and the Terraform share, so a queue is called the same
thing (and reaches a service under the same variable) wherever it runs:

- every AWS resource is ``<project>-<env>-<name>`` (a queue's DLQ adds ``-dlq``);
- a service finds what it ``uses`` in variables named after the resource: queue ``jobs`` ->
  ``JOBS_QUEUE_URL`` and ``JOBS_DLQ_URL``; table ``users`` -> ``USERS_TABLE_NAME``; bucket ``storage`` ->
  ``STORAGE_BUCKET_NAME``; database ``records`` -> ``RECORDS_DATABASE_URL``.
"""

from __future__ import annotations

import re
from typing import Literal

ResourceKind = Literal["queue", "table", "bucket", "database"]

SERVICE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RESOURCE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*([_-][a-z0-9]+)*$")
BUCKET_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# AWS's length limits on the names Stratus derives (``<project>-<env>-<name>[suffix]``).
NAME_LIMITS: dict[str, tuple[int, str]] = {
    "lambda": (64, "Lambda function names are at most 64 characters"),
    "apprunner": (40, "App Runner service names are at most 40 characters"),
    "ecs-express": (255, "ECS service names are at most 255 characters"),
    "iam_role": (64, "IAM role names are at most 64 characters"),
    "queue": (80, "SQS queue names are at most 80 characters"),
    "bucket": (63, "S3 bucket names are at most 63 characters"),
    "table": (255, "DynamoDB table names are at most 255 characters"),
    "database": (63, "RDS DB identifiers are at most 63 characters"),
}


def resource_name(project: str, env: str, name: str) -> str:
    """The AWS name of a declared thing: ``<project>-<env>-<name>``."""
    return f"{project}-{env}-{name}"


def dlq_name(project: str, env: str, queue: str) -> str:
    """The AWS name of a queue's dead-letter queue."""
    return f"{resource_name(project, env, queue)}-dlq"


def role_name(project: str, env: str, service: str) -> str:
    """The IAM role a service runs as."""
    return f"{resource_name(project, env, service)}-role"


def package_name(service: str) -> str:
    """The Python package of a service: its name with hyphens as underscores."""
    return service.replace("-", "_")


def env_prefix(name: str) -> str:
    """``rate-limits`` -> ``RATE_LIMITS``."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def binding_variables(kind: ResourceKind, name: str) -> dict[str, str]:
    """The variables a service gets for one resource it uses, by purpose."""
    prefix = env_prefix(name)
    if kind == "queue":
        return {"url": f"{prefix}_QUEUE_URL", "dlq_url": f"{prefix}_DLQ_URL", "name": f"{prefix}_QUEUE_NAME"}
    if kind == "table":
        return {"name": f"{prefix}_TABLE_NAME"}
    if kind == "bucket":
        return {"name": f"{prefix}_BUCKET_NAME"}
    return {"url": f"{prefix}_DATABASE_URL"}


def consumer_function_name(project: str, env: str, service: str, queue: str) -> str:
    """The Lambda function that consumes ``queue`` for ``service`` (one function has one handler)."""
    return f"{resource_name(project, env, service)}-{queue}-consumer"


def schedule_function_name(project: str, env: str, service: str, schedule: str) -> str:
    """The Lambda function a schedule of ``service`` runs."""
    return f"{resource_name(project, env, service)}-{schedule}"


def notification_function_name(project: str, env: str, service: str, bucket: str) -> str:
    """The Lambda function of ``service`` that ``bucket``'s notifications invoke."""
    return f"{resource_name(project, env, service)}-{bucket}-events"
