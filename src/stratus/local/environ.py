"""The environment variables of a service process, as AWS would set them.

Every service gets its identity (``STRATUS_*``), AWS settings pointing at the local cloud
(``AWS_ENDPOINT_URL``, which boto3 honours, and ``AWS_ENDPOINT_URL_LAMBDA`` for the local Invoke API),
one variable per resource it uses (:func:`stratus.naming.binding_variables`), and the manifest's ``env``.
Lambda services also get the variables the Lambda runtime sets
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stratus import naming
from stratus.local.aws import CREDENTIALS
from stratus.local.containers import base_environ

if TYPE_CHECKING:
    from pathlib import Path

    from stratus.local.aws import Provisioned
    from stratus.manifest import LambdaService, Stack


@dataclass(frozen=True)
class Endpoints:
    """Where the local cloud's parts listen."""

    aws: str
    invoke: str
    api: str
    provisioned: Provisioned
    databases: dict[str, str] = field(default_factory=dict)


def service_environ(stack: Stack, name: str, endpoints: Endpoints) -> dict[str, str]:
    """What any service process (Lambda or container) sees."""
    svc = stack.services[name]
    env = base_environ()
    env.update(CREDENTIALS)
    env.update(
        {
            "STRATUS_PROJECT": stack.project.name,
            "STRATUS_ENV": stack.env,
            "ENVIRONMENT": stack.env,
            "STRATUS_SERVICE": name,
            "SERVICE_NAME": name,
            "SERVICE_VERSION": stack.project.version,
            "STRATUS_BASE_PATH": svc.path,
            "STRATUS_API_URL": endpoints.api,
            "POWERTOOLS_SERVICE_NAME": name,
            "AWS_REGION": stack.project.region,
            "AWS_DEFAULT_REGION": stack.project.region,
            "AWS_ENDPOINT_URL": endpoints.aws,
            "AWS_ENDPOINT_URL_LAMBDA": endpoints.invoke,
        }
    )
    provisioned = endpoints.provisioned
    for binding in stack.bindings(name):
        names = naming.binding_variables(binding.kind, binding.name)
        if binding.kind == "queue":
            env[names["url"]] = provisioned.queue_urls[binding.name]
            env[names["dlq_url"]] = provisioned.dlq_urls[binding.name]
            env[names["name"]] = stack.resource_name(binding.name)
        elif binding.kind == "table":
            env[names["name"]] = provisioned.tables[binding.name]
        elif binding.kind == "bucket":
            env[names["name"]] = provisioned.buckets[binding.name]
        else:
            env[names["url"]] = endpoints.databases[binding.name]
    authorizer = stack.authorizer
    if authorizer is not None and authorizer.service == name:  # what the gateway authorizer decides by
        env["STRATUS_ROUTE_AUTH"] = json.dumps(stack.route_auth(), sort_keys=True)
        env["STRATUS_RATE_LIMITS"] = json.dumps(stack.route_rate_limits(), sort_keys=True)
    env.update(svc.env)
    return env


def lambda_environ(
    stack: Stack,
    name: str,
    svc: LambdaService,
    *,
    function: str,
    handler: str,
    task_root: Path,
    endpoints: Endpoints,
) -> dict[str, str]:
    """A Lambda function's variables: its service's plus those the Lambda runtime sets."""
    env = service_environ(stack, name, endpoints)
    reserved = {
        "_HANDLER": handler,
        # The interpreter that really runs here (the manifest's runtime is what AWS will run).
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(svc.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": sys.prefix,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PYTHONPATH": str(task_root),
    }
    # Lambda's reserved variables win over the manifest's, as in AWS (which refuses to set them).
    env.update(reserved)
    return env
