"""Names: what things are called in AWS and in a service's environment.

The one home of the conventions the local cloud, the Terraform and the artifacts share, so a queue is called
the same thing (and reaches a service under the same variable) wherever it runs:

- every AWS resource is ``<project>-<env>-<name>``; what Stratus derives from a declared thing adds a suffix
  (:data:`SUFFIXES`: a queue's DLQ ``-dlq``, a service's role ``-role``, the authorizer ``-authorizer``, …);
- a Lambda function's ARN and log group follow from its name (:func:`lambda_arn`, :func:`log_group`);
- a service finds what it ``uses`` in variables named after the resource: queue ``jobs`` -> ``JOBS_QUEUE_URL``
  and ``JOBS_DLQ_URL``; table ``users`` -> ``USERS_TABLE_NAME``; bucket ``storage`` -> ``STORAGE_BUCKET_NAME``;
  database ``records`` -> ``RECORDS_DATABASE_URL`` and ``RECORDS_DATABASE_SECRET_ARN``; secret ``token-signing``
  -> ``TOKEN_SIGNING_SECRET_ARN``;
- the local cloud is one account (:data:`LOCAL_ACCOUNT_ID`) reached with :data:`LOCAL_CREDENTIALS`.
"""

from __future__ import annotations

import re
from typing import Literal

ResourceKind = Literal["queue", "table", "bucket", "database", "secret", "model"]

SERVICE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RESOURCE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*([_-][a-z0-9]+)*$")
BUCKET_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# The account of the local cloud (moto's default) and of zips booted by `stratus invoke --artifact`.
LOCAL_ACCOUNT_ID = "123456789012"
# What every client of the local cloud signs with (the local AWS checks no signature unless told to).
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}

# AWS's length limits on the names Stratus derives (``<project>-<env>-<name>[suffix]``).
NAME_LIMITS: dict[str, tuple[int, str]] = {
    "lambda": (64, "Lambda function names are at most 64 characters"),
    "apprunner": (40, "App Runner service names are at most 40 characters"),
    "apprunner_autoscaling": (32, "App Runner auto scaling configuration names are at most 32 characters"),
    "ecs-express": (255, "ECS service names are at most 255 characters"),
    "iam_role": (64, "IAM role names are at most 64 characters"),
    "queue": (80, "SQS queue names are at most 80 characters"),
    "bucket": (63, "S3 bucket names are at most 63 characters"),
    "table": (255, "DynamoDB table names are at most 255 characters"),
    "database": (63, "RDS DB identifiers are at most 63 characters"),
    "secret": (512, "Secrets Manager secret names are at most 512 characters"),
    "model": (512, "a model is named only in stratus.toml"),
    "rule": (64, "EventBridge rule names are at most 64 characters"),
}

# Names derived from a service's or a resource's own (``<project>-<env>-<name><suffix>``), with the limit of
# each. The Terraform modules spell the same suffixes (``"${var.name}-role"``): a test reads them there.
SUFFIXES: dict[str, tuple[str, str]] = {
    "dlq": ("-dlq", "queue"),  # a queue's dead-letter queue
    "role": ("-role", "iam_role"),  # the role a service runs as
    "authorizer": ("-authorizer", "lambda"),  # the HTTP API authorizer's own function
    "migrate": ("-migrate", "lambda"),  # a service's database migrations
    "async_dlq": ("-async-dlq", "queue"),  # dead-letter queue of a Lambda service's asynchronous invocations
    "ecr_access_role": ("-ecr-access", "iam_role"),  # App Runner's role to pull from ECR
    "execution_role": ("-execution", "iam_role"),  # ECS task execution role
    "infrastructure_role": ("-infrastructure", "iam_role"),  # ECS Express infrastructure role
    "monitoring_role": ("-monitoring", "iam_role"),  # RDS enhanced monitoring role
}
FIFO_SUFFIX = ".fifo"
# The bucket stratus deploy uploads Lambda zips to (``<project>-<env>-lambda-artifacts``).
ARTIFACTS_BUCKET = "lambda-artifacts"


def prefix(project: str, env: str) -> str:
    """What every AWS name of the stack in ``env`` starts with: ``<project>-<env>``."""
    return f"{project}-{env}"


def resource_name(project: str, env: str, name: str) -> str:
    """The AWS name of a declared thing: ``<project>-<env>-<name>``."""
    return f"{prefix(project, env)}-{name}"


def suffixed(name: str, what: str) -> str:
    """``name`` with the suffix of ``what`` (a key of :data:`SUFFIXES`): ``jobs`` -> ``jobs-dlq``."""
    return name + SUFFIXES[what][0]


def dlq_name(project: str, env: str, queue: str) -> str:
    """The AWS name of a queue's dead-letter queue (before any ``.fifo``)."""
    return resource_name(project, env, suffixed(queue, "dlq"))


def consumer_suffix(service: str, queue: str) -> str:
    """The function of ``service`` that consumes ``queue`` (one function has one handler), without the prefix."""
    return f"{service}-{queue}-consumer"


def schedule_suffix(service: str, schedule: str) -> str:
    """The function a schedule of ``service`` runs (and its EventBridge rule), without the prefix."""
    return f"{service}-{schedule}"


def notification_suffix(service: str, bucket: str) -> str:
    """The function of ``service`` that ``bucket``'s notifications invoke, without the prefix."""
    return f"{service}-{bucket}-events"


def lambda_arn(region: str, account: str, function: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function}"


def log_group(function: str) -> str:
    """The CloudWatch log group a Lambda function writes to."""
    return f"/aws/lambda/{function}"


def queue_arn(region: str, account: str, queue: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{queue}"


def queue_url(region: str, account: str, queue: str) -> str:
    """A queue's URL in AWS (the local AWS has its own host)."""
    return f"https://sqs.{region}.amazonaws.com/{account}/{queue}"


def table_arn(region: str, account: str, table: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def secret_arn(region: str, account: str, secret: str) -> str:
    """A Secrets Manager ARN (AWS appends six random characters to the name; callers that know them add them)."""
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"


def package_name(service: str) -> str:
    """The Python package of a service: its name with hyphens as underscores."""
    return service.replace("-", "_")


def env_prefix(name: str) -> str:
    """``rate-limits`` -> ``RATE_LIMITS``."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def bedrock_model_arn(region: str, model_id: str) -> str:
    """The ARN of a Bedrock foundation model (what ``aws_bedrock_foundation_model``'s ``model_arn`` is)."""
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def binding_variables(kind: ResourceKind, name: str) -> dict[str, str]:
    """The variables a service gets for one resource it uses, by the attribute each holds."""
    prefix = env_prefix(name)
    if kind == "queue":
        return {"url": f"{prefix}_QUEUE_URL", "dlq_url": f"{prefix}_DLQ_URL", "name": f"{prefix}_QUEUE_NAME"}
    if kind == "table":
        return {"name": f"{prefix}_TABLE_NAME"}
    if kind == "bucket":
        return {"name": f"{prefix}_BUCKET_NAME"}
    if kind == "secret":
        return {"arn": f"{prefix}_SECRET_ARN"}
    if kind == "model":
        return {"id": f"{prefix}_MODEL_ID"}
    return {"url": f"{prefix}_DATABASE_URL", "secret_arn": f"{prefix}_DATABASE_SECRET_ARN"}
