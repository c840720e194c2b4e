"""Least privilege: each access level maps to exactly the actions it needs, on exactly the declared ARNs, as the
plan's grants (stratus.manifest.grants) reach the Terraform (stratus.infra.terraform.statements)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.infra.terraform import statements
from stratus.manifest import Stack, parse_stack

RESOURCES = {
    "queues": {"jobs": {}},
    "tables": {"users": {"hash_key": "id"}},
    "buckets": {"files": {}},
    "databases": {"records": {}},
    "secrets": {"signing": {"generate": 64}},
    "network": {"create": True},
}

# The expectation, written out independently of stratus.manifest.grants: (kind, access) -> [(sid, actions, resources)].
EXPECTED = {
    ("jobs", "send"): [
        ("QueueJobs", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], ["module.sqs_jobs.queue_arn"]),
    ],
    ("jobs", "receive"): [
        (
            "QueueJobs",
            ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
             "sqs:ReceiveMessage"],
            ["module.sqs_jobs.queue_arn"],
        ),
        ("QueueJobsDeadLetters", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
         ["module.sqs_jobs.dlq_arn"]),
    ],
    ("jobs", "send-receive"): [
        (
            "QueueJobs",
            ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
             "sqs:ReceiveMessage", "sqs:SendMessage"],
            ["module.sqs_jobs.queue_arn"],
        ),
        ("QueueJobsDeadLetters", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
         ["module.sqs_jobs.dlq_arn"]),
    ],
    ("users", "read"): [
        (
            "TableUsers",
            ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
             "dynamodb:Query", "dynamodb:Scan"],
            ["module.dynamodb_users.table_arn"],
        ),
    ],
    ("users", "write"): [
        (
            "TableUsers",
            ["dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable",
             "dynamodb:PutItem", "dynamodb:UpdateItem"],
            ["module.dynamodb_users.table_arn"],
        ),
    ],
    ("users", "read-write"): [
        (
            "TableUsers",
            ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
             "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
             "dynamodb:UpdateItem"],
            ["module.dynamodb_users.table_arn"],
        ),
    ],
    ("files", "read"): [
        ("BucketFiles", ["s3:ListBucket"], ["module.s3_files.bucket_arn"]),
        ("BucketFilesObjects", ["s3:GetObject"], ["${module.s3_files.bucket_arn}/*"]),
    ],
    ("files", "write"): [
        ("BucketFilesObjects", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
         ["${module.s3_files.bucket_arn}/*"]),
    ],
    ("files", "read-write"): [
        ("BucketFiles", ["s3:ListBucket"], ["module.s3_files.bucket_arn"]),
        ("BucketFilesObjects", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
         ["${module.s3_files.bucket_arn}/*"]),
    ],
    ("records", "read"): [
        ("DatabaseRecords", ["secretsmanager:GetSecretValue"], ["module.postgres_records.secret_arn"]),
    ],
    ("records", "read-write"): [
        ("DatabaseRecords", ["secretsmanager:GetSecretValue"], ["module.postgres_records.secret_arn"]),
    ],
    ("signing", "read"): [
        ("SecretSigning", ["secretsmanager:GetSecretValue"], ["module.secret_signing.secret_arn"]),
    ],
}  # fmt: skip


def service_statements(stack: Stack, service: str) -> list[tuple[str, list[str], list[str]]]:
    """(sid, actions, resources) of each statement of the service's role, resources as Terraform expressions."""
    rendered = statements(stack.plan.services[service].grants)
    return [(str(s["sid"]), list(s["actions"]), [str(r).strip('"') for r in s["resources"]]) for s in rendered]  # type: ignore[call-overload]


def stack_using(uses: dict[str, str], **service: object) -> Stack:
    raw = {
        "project": {"name": "acme"},
        "services": {"svc": {"kind": "lambda", "path": "/svc", "uses": uses, **service}},
        **RESOURCES,
    }
    return parse_stack(raw, root=Path("/nowhere"))


@pytest.mark.parametrize(("resource", "access"), sorted(EXPECTED))
def test_each_access_level_gets_exactly_its_actions_on_exactly_the_declared_arns(resource: str, access: str) -> None:
    stack = stack_using({resource: access})
    got = service_statements(stack, "svc")
    assert got == EXPECTED[(resource, access)]


def test_no_statement_has_a_wildcard_action_or_resource() -> None:
    for resource, access in EXPECTED:
        for _, actions, resources in service_statements(stack_using({resource: access}), "svc"):
            assert not any("*" in action for action in actions)
            assert "*" not in resources


def test_a_service_that_uses_nothing_gets_no_statement() -> None:
    assert service_statements(stack_using({}), "svc") == []


def test_a_consumed_queue_adds_receive_to_what_the_service_declared() -> None:
    # GIVEN a service that sends to jobs and also consumes it
    consumes = [{"queue": "jobs", "handler": "svc.consumer.handler"}]
    stack = stack_using({"jobs": "send"}, consumes=consumes)
    # THEN its role may send and receive: the event source mapping polls with the function's role
    got = service_statements(stack, "svc")
    assert got == EXPECTED[("jobs", "send-receive")]


def test_names_that_differ_only_by_dash_or_underscore_get_distinct_sids() -> None:
    raw = {
        "project": {"name": "acme"},
        "services": {"svc": {"kind": "lambda", "path": "/svc", "uses": {"a-b": "read", "a_b": "read"}}},
        "tables": {"a-b": {"hash_key": "id"}, "a_b": {"hash_key": "id"}},
    }
    stack = parse_stack(raw, root=Path("/nowhere"))
    sids = [sid for sid, _, _ in service_statements(stack, "svc")]
    assert sids == ["TableAB", "TableAB2"]


@pytest.mark.parametrize(("access", "index_grant"), [("read", True), ("read-write", True), ("write", False)])
def test_a_table_with_indexes_grants_query_and_scan_on_its_indexes_to_readers(access: str, index_grant: bool) -> None:
    # GIVEN a table with a global secondary index
    raw = {
        "project": {"name": "acme"},
        "services": {"svc": {"kind": "lambda", "path": "/svc", "uses": {"users": access}}},
        "tables": {"users": {"hash_key": "id", "indexes": [{"name": "by-email", "hash_key": "email"}]}},
    }
    got = service_statements(parse_stack(raw, root=Path("/nowhere")), "svc")
    # THEN the table's statement is unchanged, and a reader also gets Query and Scan on <table arn>/index/*
    assert got[0] == EXPECTED[("users", access)][0]
    extra = [("TableUsersIndexes", ["dynamodb:Query", "dynamodb:Scan"], ["module.dynamodb_users.index_arns"])]
    assert got[1:] == (extra if index_grant else [])
