"""stratus.infra.render: the reference stack's Terraform (snapshots), least privilege read back from the HCL,
determinism, the same variables as the local cloud, and what one configuration cannot express."""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from importlib import resources
from typing import Any

import pytest

from stratus.infra.render import HEADER, MD_HEADER, MODULE_HEADER, MODULES, render
from stratus.manifest import ManifestError
from tests.infra.helpers import (
    REFERENCE,
    SNAPSHOTS,
    module_block,
    one,
    parse,
    reference_files,
    reference_stacks,
    stacks_from,
)

UPDATE = os.environ.get("STRATUS_UPDATE_SNAPSHOTS") == "1"


def reference_raw() -> dict[str, Any]:
    return tomllib.loads((REFERENCE / "stratus.toml").read_text())


def root_files(files: dict[str, str]) -> dict[str, str]:
    return {path: text for path, text in files.items() if not path.startswith("modules/")}


# --------------------------------------------------------------------------------------------------- snapshots


def test_the_reference_stack_renders_exactly_its_snapshot() -> None:
    files = root_files(reference_files())
    if UPDATE:
        for old in SNAPSHOTS.rglob("*"):
            if old.is_file():
                old.unlink()
        for path, text in files.items():
            (SNAPSHOTS / path).parent.mkdir(parents=True, exist_ok=True)
            (SNAPSHOTS / path).write_text(text)
    snapshot = {p.relative_to(SNAPSHOTS).as_posix(): p.read_text() for p in SNAPSHOTS.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(snapshot), "files differ; STRATUS_UPDATE_SNAPSHOTS=1 pytest ... to accept"
    for path, text in files.items():
        assert text == snapshot[path], f"{path} differs from its snapshot; STRATUS_UPDATE_SNAPSHOTS=1 to accept"


def test_the_file_list_has_one_file_per_service_and_resource() -> None:
    files = root_files(reference_files())
    assert sorted(files) == [
        "alarms.tf",
        "api-gateway.tf",
        "apprunner-web.tf",
        "backend.tf",
        "bootstrap/main.tf",
        "dynamodb-job-records.tf",
        "dynamodb-sessions.tf",
        "ecs-express-admin.tf",
        "environments/dev.s3.tfbackend",
        "environments/dev.tfvars",
        "environments/prod.s3.tfbackend",
        "environments/prod.tfvars",
        "lambda-gateway.tf",
        "lambda-records.tf",
        "lambda-worker.tf",
        "main.tf",
        "network.tf",
        "outputs.tf",
        "postgres-records.tf",
        "s3-uploads.tf",
        "secret-partner-api-key.tf",
        "secret-token-signing.tf",
        "sqs-events.tf",
        "sqs-jobs.tf",
        "variables.tf",
        "versions.tf",
    ]


def test_every_generated_file_says_so_in_its_first_line() -> None:
    for path, text in reference_files().items():
        first = text.splitlines()[0]
        expected = MD_HEADER if path.endswith(".md") else MODULE_HEADER if path.startswith("modules/") else HEADER
        assert first == expected, path


def test_modules_are_the_hand_written_sources_copied() -> None:
    files = reference_files()
    base = resources.files("stratus.infra") / "modules"
    for module in MODULES:
        for name in ("README.md", "main.tf", "outputs.tf", "variables.tf", "versions.tf"):
            source = (base / module / name).read_text()
            assert files[f"modules/{module}/{name}"].split("\n", 1)[1] == source


# --------------------------------------------------------------------------------------------------- least privilege

# What each reference service may do, read back from the HCL: (sid, actions, resources).
EXPECTED_POLICIES: dict[str, tuple[str, str, list[tuple[str, list[str], list[str]]]]] = {
    "gateway": ("lambda-gateway.tf", "lambda_gateway", [
        ("SecretPartnerApiKey", ["secretsmanager:GetSecretValue"], ["${module.secret_partner-api-key.secret_arn}"]),
        ("SecretTokenSigning", ["secretsmanager:GetSecretValue"], ["${module.secret_token-signing.secret_arn}"]),
        ("TableSessions", ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                           "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                           "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
         ["${module.dynamodb_sessions.table_arn}"]),
    ]),
    "worker": ("lambda-worker.tf", "lambda_worker", [
        ("BucketUploadsObjects", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
         ["${module.s3_uploads.bucket_arn}/*"]),
        ("QueueJobs", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                       "sqs:ReceiveMessage", "sqs:SendMessage"], ["${module.sqs_jobs.queue_arn}"]),
        ("QueueJobsDeadLetters", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
         ["${module.sqs_jobs.dlq_arn}"]),
        ("TableJobRecords", ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                             "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                             "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
         ["${module.dynamodb_job-records.table_arn}"]),
    ]),
    "records": ("lambda-records.tf", "lambda_records", [
        ("DatabaseRecords", ["secretsmanager:GetSecretValue"], ["${module.postgres_records.secret_arn}"]),
        ("QueueEvents", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                         "sqs:GetQueueUrl", "sqs:ReceiveMessage"], ["${module.sqs_events.queue_arn}"]),
        ("QueueEventsDeadLetters", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
         ["${module.sqs_events.dlq_arn}"]),
        ("TableSessions", ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
                           "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
         ["${module.dynamodb_sessions.table_arn}"]),
    ]),
    "web": ("apprunner-web.tf", "apprunner_web", [
        ("BucketUploads", ["s3:ListBucket"], ["${module.s3_uploads.bucket_arn}"]),
        ("BucketUploadsObjects", ["s3:GetObject"], ["${module.s3_uploads.bucket_arn}/*"]),
        ("DatabaseRecords", ["secretsmanager:GetSecretValue"], ["${module.postgres_records.secret_arn}"]),
    ]),
    "admin": ("ecs-express-admin.tf", "ecs_admin", [
        ("TableJobRecords", ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
                             "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
         ["${module.dynamodb_job-records.table_arn}"]),
    ]),
}  # fmt: skip


@pytest.mark.parametrize("service", sorted(EXPECTED_POLICIES))
def test_each_role_gets_exactly_the_declared_actions_on_exactly_the_declared_arns(service: str) -> None:
    # GIVEN the generated file of the service, parsed by the HCL parser checkov uses
    path, module, expected = EXPECTED_POLICIES[service]
    block = module_block(reference_files()[path], module)
    # WHEN its policy statements are read back
    got = [(s["sid"], s["actions"], s["resources"]) for s in block["policy_statements"]]
    # THEN they are exactly what its uses declare, and nothing is a wildcard
    assert got == expected
    for _, actions, arns in got:
        assert not any("*" in a for a in actions)
        assert "*" not in arns


def _policy_documents(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in parse(text).get("data", []):
        for name, body in entry.get("aws_iam_policy_document", {}).items():
            for statement in body.get("statement", []):
                out.append((name, statement))
    return out


# Actions that accept no resource-level permission: AWS requires Resource "*" for them.
STAR_ONLY_ACTIONS = {"xray:PutTelemetryRecords", "xray:PutTraceSegments", "ecr:GetAuthorizationToken"}


@pytest.mark.parametrize("module", MODULES)
def test_module_policies_use_a_wildcard_resource_only_where_aws_requires_it_and_say_so(module: str) -> None:
    text = reference_files()[f"modules/{module}/main.tf"]
    for name, statement in _policy_documents(text):
        effect = one(statement.get("effect", "Allow"))
        actions = one(statement.get("actions", []))
        resources_ = one(statement.get("resources", []))
        resources_ = [resources_] if isinstance(resources_, str) else resources_  # a for expression: one string
        if effect == "Deny":
            continue  # e.g. the TLS-only bucket policy: denying "s3:*" is a restriction, not a grant
        assert not any(a == "*" or a.endswith(":*") for a in actions), (module, name, actions)
        if "*" in resources_:
            assert set(actions) <= STAR_ONLY_ACTIONS, (module, name, actions)
    # and every wildcard statement has a comment right above it
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == 'resources = ["*"]':
            block_start = max(j for j in range(i) if lines[j].strip() == "statement {")
            assert "AWS requires" in lines[block_start - 1], (module, i)


def test_binding_variables_point_at_the_module_outputs() -> None:
    env = module_block(reference_files()["lambda-records.tf"], "lambda_records")["environment_variables"]
    assert env["EVENTS_QUEUE_URL"] == "${module.sqs_events.queue_url}"
    assert env["EVENTS_DLQ_URL"] == "${module.sqs_events.dlq_url}"
    assert env["EVENTS_QUEUE_NAME"] == "${module.sqs_events.queue_name}"
    assert env["RECORDS_DATABASE_SECRET_ARN"] == "${module.postgres_records.secret_arn}"
    assert "password" not in env["RECORDS_DATABASE_URL"].lower()
    assert env["STRATUS_API_URL"] == "${module.api.endpoint}"


# --------------------------------------------------------------------------------------------------- determinism


def test_two_renders_are_identical_bytes_whatever_the_order_of_environments() -> None:
    stacks = reference_stacks()
    assert render(stacks) == render(dict(reversed(list(stacks.items()))))
    assert list(render(stacks)) == sorted(render(stacks))


def _changed(raw: dict[str, Any]) -> set[str]:
    before = reference_files()
    after = render(stacks_from(raw, REFERENCE))
    assert set(before) == set(after)
    return {path for path in before if before[path] != after[path]}


def test_changing_one_service_changes_only_its_own_file() -> None:
    raw = reference_raw()
    raw["services"]["gateway"]["memory"] = 768
    assert _changed(raw) == {"lambda-gateway.tf"}


def test_moving_a_service_changes_its_file_and_the_routing_only() -> None:
    # the routing: the HTTP API's routes, and the policies the authorizer decides by (STRATUS_ROUTES)
    raw = reference_raw()
    raw["services"]["worker"]["path"] = "/jobs"
    assert _changed(raw) == {"lambda-worker.tf", "api-gateway.tf", "lambda-gateway.tf"}
    gateway = module_block(render(stacks_from(raw, REFERENCE))["lambda-gateway.tf"], "lambda_gateway")
    routes = gateway["environment_variables"]["STRATUS_ROUTES"].encode().decode("unicode_escape")  # HCL escapes
    assert json.loads(routes)["ANY /jobs/{proxy+}"] == {"auth": "token"}
    assert not any(key.startswith("ANY /worker") for key in json.loads(routes))


def test_removing_a_service_removes_its_file() -> None:
    raw = copy.deepcopy(reference_raw())
    del raw["services"]["web"]
    del raw["environments"]["prod"]["services"]["web"]
    files = render(stacks_from(raw, REFERENCE))
    assert "apprunner-web.tf" not in files
    assert "apprunner_web" not in files["outputs.tf"] and "apprunner_web" not in files["api-gateway.tf"]


# --------------------------------------------------------------------------------------------------- environments


def test_what_differs_by_environment_is_chosen_by_var_environment() -> None:
    text = reference_files()["lambda-worker.tf"]
    block = module_block(text, "lambda_worker")
    assert block["memory_size"] == "${local.worker_settings.memory_size}"
    assert block["timeout"] == 60  # the same everywhere: a literal
    settings = re.search(r"worker_settings = lookup\(\{(.*?)\n  \}, var\.environment", text, re.S)
    assert settings is not None
    assert re.search(r"prod = \{\s+memory_size = 2048", settings.group(1))
    assert re.search(r"dev = \{\s+memory_size = 1024", settings.group(1))


def test_per_environment_env_is_merged() -> None:
    block = module_block(reference_files()["lambda-worker.tf"], "lambda_worker")
    assert re.fullmatch(r"\$\{merge\(\{.*\},\s*local\.worker_settings\.environment\)\}", block["environment_variables"])
    assert "'LOG_LEVEL'" not in block["environment_variables"].split("local.worker_settings")[0]


def test_tfvars_carry_each_environment() -> None:
    files = reference_files()
    prod = {k: one(v) for k, v in parse(files["environments/prod.tfvars"]).items()}
    dev = {k: one(v) for k, v in parse(files["environments/dev.tfvars"]).items()}
    assert prod["environment"] == "prod" and prod["log_retention_days"] == 30
    assert prod["custom_domain_name"] == "api.acme.example" and prod["route53_zone_id"] == "Z0123456789ABCDEFGHIJ"
    assert dev["log_retention_days"] == 7 and dev["custom_domain_name"] is None
    assert one(parse(files["environments/prod.s3.tfbackend"])["key"]) == "acme/prod/terraform.tfstate"
    backend = one(one(parse(files["backend.tf"])["terraform"])["backend"])["s3"]
    assert one(backend["bucket"]) == "acme-terraform-state-eu-west-1"


def test_an_environment_cannot_change_what_one_configuration_shares() -> None:
    # what stratus infra could not render, stratus validate refuses, naming the field
    raw = reference_raw()
    raw["environments"]["prod"]["services"]["worker"]["path"] = "/jobs"
    with pytest.raises(ManifestError, match=r"environments\.prod\.services\.worker\.path: cannot differ"):
        stacks_from(raw, REFERENCE)


def test_an_ecs_express_service_cannot_use_a_database() -> None:
    raw = reference_raw()
    raw["services"]["admin"]["uses"]["records"] = "read"
    with pytest.raises(ManifestError, match=r"services\.admin\.uses\.records: an ECS Express service"):
        stacks_from(raw, REFERENCE)


def test_an_app_runner_service_reaches_its_database_through_a_vpc_connector() -> None:
    web = module_block(reference_files()["apprunner-web.tf"], "apprunner_web")
    assert (web["vpc_id"], web["subnet_ids"]) == ("${local.vpc_id}", "${local.subnet_ids}")
    database = module_block(reference_files()["postgres-records.tf"], "postgres_records")
    assert database["client_security_group_ids"]["web"] == "${module.apprunner_web.security_group_id}"


# --------------------------------------------------------------------------------------------------- routing


def test_routes_authorizers_and_integrations() -> None:
    api = module_block(reference_files()["api-gateway.tf"], "api")
    routes = api["routes"]
    # the root service on $default; each other service on /p and /p/{proxy+}, guarded by its auth mode's authorizer
    assert routes["$default"] == {"integration": "gateway", "authorizer": None}
    assert routes["ANY /worker"] == {"integration": "worker", "authorizer": "token"}
    assert routes["ANY /worker/{proxy+}"] == {"integration": "worker", "authorizer": "token"}
    assert routes["ANY /records"] == {"integration": "records", "authorizer": "api_key"}
    assert routes["ANY /web/{proxy+}"] == {"integration": "web/proxy", "authorizer": None}
    # protected services keep CORS preflights away from the authorizer; public ones need no extra route
    assert routes["OPTIONS /records/{proxy+}"] == {"integration": "records", "authorizer": None}
    assert "OPTIONS /web" not in routes
    # containers: /web -> <url>/, /web/{proxy+} -> <url>/{proxy}
    assert api["http_integrations"]["web/proxy"]["uri"] == "${module.apprunner_web.service_url}/{proxy}"
    assert api["http_integrations"]["web/root"]["uri"] == "${module.apprunner_web.service_url}/"
    assert api["lambda_integrations"]["worker"]["invoke_arn"] == '${module.lambda_worker.invoke_arns["http"]}'
    # one authorizer per auth mode: the same function, the mode's identity source (as the local cloud reads them)
    authorizers = api["authorizers"]
    assert sorted(authorizers) == ["api_key", "token"]
    assert authorizers["api_key"]["identity_sources"] == ["$request.header.x-api-key"]
    assert authorizers["token"]["identity_sources"] == ["$request.header.Authorization"]
    for authorizer in authorizers.values():
        assert authorizer["invoke_arn"] == '${module.lambda_gateway.invoke_arns["authorizer"]}'
    gateway = module_block(reference_files()["lambda-gateway.tf"], "lambda_gateway")
    assert gateway["functions"]["authorizer"]["handler"] == "gateway.authorizer.handler"


def test_identity_sources_in_the_manifest_make_one_authorizer_for_every_protected_route() -> None:
    raw = reference_raw()
    # cached per route: one authorizer guards routes of both auth modes (stratus validate insists)
    sources = ["$request.header.Authorization", "$context.routeKey"]
    raw["api"]["authorizer"].update(ttl=300, identity_sources=sources)
    api = module_block(render(stacks_from(raw, REFERENCE))["api-gateway.tf"], "api")
    assert list(api["authorizers"]) == ["default"]
    assert api["authorizers"]["default"]["ttl"] == 300
    assert api["authorizers"]["default"]["identity_sources"] == sources
    guarded = {route["authorizer"] for route in api["routes"].values()} - {None}
    assert guarded == {"default"}


def test_no_protected_route_means_no_authorizer_and_no_preflight_routes() -> None:
    raw = reference_raw()
    for svc in raw["services"].values():
        svc.pop("auth", None)
    api = module_block(render(stacks_from(raw, REFERENCE))["api-gateway.tf"], "api")
    assert "authorizers" not in api
    assert not [r for r in api["routes"] if r.startswith("OPTIONS")]
    assert all(r["authorizer"] is None for r in api["routes"].values())


def test_outputs_include_the_primary_endpoint_and_each_container_url() -> None:
    outputs = {name: one(body["value"]) for entry in parse(reference_files()["outputs.tf"])["output"]
               for name, body in entry.items()}  # fmt: skip
    assert outputs["primary_endpoint"] == "${module.api.endpoint}"
    assert outputs["apprunner_web_url"] == "${module.apprunner_web.service_url}"
    assert outputs["apprunner_web_status"] == "${module.apprunner_web.status}"
    assert outputs["ecs_admin_url"] == "${module.ecs_admin.service_url}"
    assert outputs["job_records_table_name"] == "${module.dynamodb_job-records.table_name}"


# --------------------------------------------------------------------------------------------------- the repository


def test_the_repositorys_infra_terraform_is_current_with_its_stratus_toml() -> None:
    from stratus.infra.writer import is_generated
    from stratus.manifest import load_stack

    root = REFERENCE.parents[2]  # the repository: tests/infra/reference -> tests/infra -> tests -> root
    base = load_stack(root)
    stacks = {env: load_stack(root, env=env) for env in sorted({"dev", *base.environments})}
    files = render(stacks)
    target = root / "infra" / "terraform"
    stale = [p for p in files if not (target / p).is_file() or (target / p).read_text() != files[p]]
    extra = [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file() and is_generated(p)
             and p.relative_to(target).as_posix() not in files]  # fmt: skip
    assert not stale and not extra, f"infra/terraform is out of date ({stale + extra}): run `uv run stratus infra`"
