"""The environment the Terraform gives each function boots it.

For every zip-packaged Lambda service of the repository's stack: the Terraform is rendered and each function's
environment read back exactly as declared (tests/conformance/terraform_view.py); every module output in it is
resolved to what the local AWS holds under the same name (a moto server provisioned as `stratus dev` provisions
it, declared secrets included); the service's zip, built for this machine, is booted with that environment and
nothing else of ours through the Lambda Runtime API, and must answer `GET <path>/health` with 200. A value the
Terraform forgot (a missing secret, a variable the code needs) fails here as it would in AWS.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from stratus.build.package import Builder, BuildOptions
from stratus.build.targets import host_target
from stratus.deploy.artifact import Artifact, http_event, invoke_artifact
from stratus.infra.generate import environment_stacks
from stratus.infra.render import render
from stratus.local.aws import LocalAws
from stratus.local.logs import LogSink
from stratus.local.secrets import random_value
from stratus.manifest import find_root
from tests.conformance.terraform_view import TerraformView, Thing

pytestmark = pytest.mark.functional
HOST = host_target()
ROOT = find_root(Path(__file__))
# Each database at a port where nothing listens: booting and /health must not need it.
DATABASES = {name: f"postgresql://postgres@127.0.0.1:9/{name}" for name in environment_stacks(ROOT)["dev"].databases}


def _zip_services() -> list[str]:
    stack = environment_stacks(ROOT)["dev"]
    return [name for name, svc in stack.plan.services.items() if svc.kind == "lambda" and not svc.image]


def _what_aws_holds(aws: LocalAws) -> dict[Thing, str]:
    """Each thing the local AWS holds, as a Terraform output would name it, and its value."""
    out: dict[Thing, str] = {}
    sqs = aws.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        name = arn.rsplit(":", 1)[1]
        out.update({Thing("queue", name, "url"): url, Thing("queue", name, "arn"): arn,
                    Thing("queue", name, "name"): name})  # fmt: skip
    dynamodb = aws.client("dynamodb")
    for name in dynamodb.list_tables()["TableNames"]:
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        out.update({Thing("table", name, "name"): name, Thing("table", name, "arn"): arn})
    for bucket in aws.client("s3").list_buckets()["Buckets"]:
        out[Thing("bucket", bucket["Name"], "name")] = bucket["Name"]
    for secret in aws.client("secretsmanager").list_secrets()["SecretList"]:
        out[Thing("secret", secret["Name"], "arn")] = secret["ARN"]
    out[Thing("api", "", "url")] = "http://127.0.0.1:9"  # not called by /health
    for name, url in DATABASES.items():  # /health answers without its database (it reports it unreachable)
        out[Thing("database", name, "url")] = url
        out[Thing("database", name, "secret_arn")] = aws.provisioned.database_secrets[name]  # type: ignore[attr-defined]
    return out


def _resolved(environment: dict[str, Any], holds: dict[Thing, str], where: str) -> dict[str, str]:
    out = {}
    for key, value in environment.items():
        if isinstance(value, Thing):
            assert value in holds, f"{where}: {key} refers to {value}, which the local AWS does not hold"
            out[key] = holds[value]
        else:
            assert isinstance(value, str) and not value.startswith("<"), f"{where}: {key} = {value!r}"
            out[key] = value
    return out


@pytest.fixture(scope="module")
def local_aws() -> Any:
    stack = environment_stacks(ROOT)["dev"]
    aws = LocalAws(LogSink(io.StringIO()), stack.project.region)
    loop = asyncio.new_event_loop()  # the moto server's process belongs to the loop that started it

    async def start() -> None:
        await aws.start()
        values = {name: random_value(s.spec.generate or 64) for name, s in stack.plan.secrets.items()}
        aws.provisioned = await aws.provision(stack, DATABASES, values)  # type: ignore[attr-defined]

    try:
        loop.run_until_complete(start())
        yield aws
    finally:
        loop.run_until_complete(aws.stop())
        loop.close()


@pytest.mark.skipif(HOST is None, reason="boots zips: needs Linux on x86_64 or arm64, Python 3.11+")
@pytest.mark.parametrize("service", _zip_services())
def test_each_service_boots_with_the_environment_its_terraform_declares(service: str, local_aws: LocalAws) -> None:
    assert HOST is not None
    stacks = environment_stacks(ROOT)
    stack = stacks["dev"]
    terraform = TerraformView(render(stacks), env="dev", project=stack.project.name, region=stack.project.region)
    http = stack.plan.services[service].function("http")
    declared = terraform.functions()[http.name]["environment"]
    environment = _resolved(declared, _what_aws_holds(local_aws), f"{service} ({http.name})")
    # GIVEN the service's zip for this machine
    built = Builder(stack, BuildOptions(arch=HOST.arch, runtime=HOST.runtime, glibc=HOST.glibc)).build(service)
    # WHEN it boots with exactly that environment, against the local AWS, and gets a health check
    result = asyncio.run(
        invoke_artifact(
            Artifact.open(built.path), stack, service, http_event(stack, service), LogSink(io.StringIO()),
            endpoint=local_aws.endpoint, declared_env=environment,
        )
    )  # fmt: skip
    # THEN it answers 200
    assert result.function_error is None, result.payload.decode()
    response = json.loads(result.payload)
    assert response["statusCode"] == 200, response
