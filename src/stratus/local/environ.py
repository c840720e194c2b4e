"""The environment variables of a service process, as AWS would set them.

A service gets the variables its plan declares (``stack.plan.services[name].environment``: identity, one per
resource it uses, the manifest's ``env``), each reference resolved to what the local cloud runs
(:func:`resolve`), plus what the platform sets: the credentials of a session of the service's role
(:mod:`stratus.local.roles`), AWS settings pointing at the local cloud (``AWS_ENDPOINT_URL``, which boto3
honours, and ``AWS_ENDPOINT_URL_LAMBDA`` for the local Invoke API) and, for a Lambda function, the variables the
Lambda runtime sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stratus import naming
from stratus.local.containers import base_environ
from stratus.manifest.refs import Ref

if TYPE_CHECKING:
    from pathlib import Path

    from stratus.local.aws import Provisioned
    from stratus.manifest import Stack
    from stratus.manifest.plan import Function


@dataclass(frozen=True)
class Endpoints:
    """Where the local cloud's parts listen, and what its AWS holds."""

    aws: str
    invoke: str
    api: str
    provisioned: Provisioned
    databases: dict[str, str] = field(default_factory=dict)


def resolve(ref: Ref, stack: Stack, endpoints: Endpoints) -> str:
    """What a reference of the plan is in the local cloud."""
    plan, provisioned, kind, name, attr = stack.plan, endpoints.provisioned, ref.kind, ref.name, ref.attr
    if kind == "queue":
        by_attr = {"url": provisioned.queue_urls, "dlq_url": provisioned.dlq_urls, "arn": provisioned.queue_arns,
                   "dlq_arn": provisioned.dlq_arns}  # fmt: skip
        return plan.queues[name].aws_name if attr == "name" else by_attr[attr][name]
    if kind == "table":
        table = plan.tables[name].aws_name
        arn = naming.table_arn(plan.region, naming.LOCAL_ACCOUNT_ID, table)
        return {"name": table, "arn": arn, "index_arns": f"{arn}/index/*"}[attr]
    if kind == "bucket":
        bucket = plan.buckets[name].aws_name
        arn = naming.bucket_arn(bucket)
        return {"name": bucket, "arn": arn, "objects_arn": f"{arn}/*"}[attr]
    if kind == "database":
        return endpoints.databases[name] if attr == "url" else provisioned.database_secrets[name]
    if kind == "secret":
        return provisioned.secrets[name]
    if kind == "model":
        model_id = stack.models[name].id
        return model_id if attr == "id" else naming.bedrock_model_arn(plan.region, model_id)
    if kind == "api":
        return endpoints.api
    return {"project": stack.project.name, "environment": stack.env, "region": stack.project.region}[attr]


def declared_environ(stack: Stack, name: str, endpoints: Endpoints) -> dict[str, str]:
    """The variables the plan declares for service ``name``, resolved here (what the Terraform sets in AWS)."""
    declared = stack.plan.services[name].environment
    return {
        key: resolve(value, stack, endpoints) if isinstance(value, Ref) else value for key, value in declared.items()
    }


def service_environ(stack: Stack, name: str, endpoints: Endpoints, session: str | None = None) -> dict[str, str]:
    """What any service process (Lambda or container) sees; ``session`` names its role's session (a function's
    name, or a container service's): its credentials, when the local cloud enforces IAM, else the account's."""
    env = base_environ()
    credentials = endpoints.provisioned.credentials
    env.update(credentials.get(session or stack.plan.services[name].aws_name) or naming.LOCAL_CREDENTIALS)
    env.update(
        {
            "AWS_REGION": stack.project.region,
            "AWS_DEFAULT_REGION": stack.project.region,
            "AWS_ENDPOINT_URL": endpoints.aws,
            "AWS_ENDPOINT_URL_LAMBDA": endpoints.invoke,
        }
    )
    env.update(declared_environ(stack, name, endpoints))
    return env


def lambda_environ(stack: Stack, function: Function, *, task_root: Path, endpoints: Endpoints) -> dict[str, str]:
    """A Lambda function's variables: its service's plus those the Lambda runtime sets."""
    env = service_environ(stack, function.service, endpoints, session=function.name)
    # Lambda's reserved variables win over the manifest's, as in AWS (which refuses to set them).
    env.update(runtime_environ(function, task_root))
    return env


def runtime_environ(function: Function, task_root: Path) -> dict[str, str]:
    """What the Lambda runtime sets for ``function``: AWS_EXECUTION_ENV names the manifest's runtime (what AWS
    will run, and what libraries such as Powertools read), whichever interpreter runs it here."""
    return {
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",  # what AWS sets for the manifest's runtime
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": sys.prefix,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PYTHONPATH": str(task_root),
    }
