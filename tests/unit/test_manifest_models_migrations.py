"""Bedrock models a service uses, and the migrations function of a service with a database, in the plan and in
what AWS is asked to do (the grant, the variables, the deploy's invocation)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from stratus.deploy.migrate import migration_functions, run_migrations
from stratus.errors import StratusError
from stratus.infra.terraform import statements
from stratus.manifest import parse_stack

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def stack(**service: object):
    raw = {
        "project": {"name": "acme"},
        "services": {"svc": {"kind": "lambda", "path": "/svc", **service}},
        "models": {"writer": {"id": MODEL}, "judge": {"id": "amazon.nova-micro-v1:0"}},
    }
    return parse_stack(raw, root=Path("/nowhere"))


def test_a_used_model_is_granted_invoke_on_its_arn_only_and_named_in_the_environment() -> None:
    plan = stack(uses={"writer": "invoke"}).plan.services["svc"]
    rendered = statements(plan.grants)
    assert [(s["sid"], s["actions"], [str(r) for r in s["resources"]]) for s in rendered] == [  # type: ignore[index]
        ("ModelWriter", ["bedrock:InvokeModel"], ["data.aws_bedrock_foundation_model.writer.model_arn"])
    ]
    env = {k: str(v) for k, v in plan.environment.items()}
    assert env["WRITER_MODEL_ID"] == env["BEDROCK_MODEL_ID"] == "model.writer.id"


def test_with_two_models_each_has_its_variable_and_bedrock_model_id_is_not_guessed() -> None:
    env = stack(uses={"writer": "invoke", "judge": "invoke"}).plan.services["svc"].environment
    assert "WRITER_MODEL_ID" in env and "JUDGE_MODEL_ID" in env
    assert "BEDROCK_MODEL_ID" not in env


def test_a_model_id_that_is_not_a_bedrock_id_names_the_field() -> None:
    from stratus.manifest import ManifestError

    raw = {"project": {"name": "acme"}, "models": {"writer": {"id": "gpt 4"}}}
    with pytest.raises(ManifestError) as caught:
        parse_stack(raw, root=Path("/nowhere"))
    assert any(p.location == "models.writer.id" for p in caught.value.problems)


def test_migrations_are_a_function_of_the_service_with_a_longer_timeout_and_no_trigger() -> None:
    s = stack(timeout=10, reserved_concurrency=2, migrations="svc.migrate.handler")
    fn = next(f for f in s.plan.services["svc"].functions if f.kind == "migrate")
    assert (fn.key, fn.source, fn.name, fn.handler) == ("migrate", "svc/migrate", "acme-dev-svc-migrate",
                                                       "svc.migrate.handler")  # fmt: skip
    assert fn.timeout == 900 and fn.trigger is None and fn.reserved_concurrency is None
    assert migration_functions(s) == [("svc/migrate", "acme-dev-svc-migrate")]
    assert migration_functions(stack()) == []


def _lambda_client():
    return boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_the_deploy_invokes_each_migrations_function_and_returns_its_answer() -> None:
    client = _lambda_client()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": io.BytesIO(b'{"status": "ok", "revision": "0001"}')},
            {"FunctionName": "acme-dev-svc-migrate", "InvocationType": "RequestResponse", "Payload": b"{}"},
        )
        done = run_migrations(stack(migrations="svc.migrate.handler"), client)
        stub.assert_no_pending_responses()
    assert done == {"svc/migrate": {"status": "ok", "revision": "0001"}}


def test_a_failed_migration_stops_with_the_functions_error() -> None:
    client = _lambda_client()
    error = {"errorType": "OperationalError", "errorMessage": "relation exists"}
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(error).encode())},
        )
        with pytest.raises(
            StratusError, match="the migrations of svc/migrate failed: OperationalError: relation exists"
        ):
            run_migrations(stack(migrations="svc.migrate.handler"), client)
