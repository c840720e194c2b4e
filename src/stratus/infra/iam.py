"""Least privilege from ``uses``: the exact IAM actions each access level needs, on the exact ARNs.

A service's role gets one statement per resource (and per ARN kind: an S3 bucket and its objects are
different resources), nothing else from here. What every role needs beyond its uses (its own log groups,
X-Ray, the async dead-letter queue of a Lambda service) is in the Terraform modules, next to the resources.

=========  ===================  =======================================================================
kind       access               actions (on)
=========  ===================  =======================================================================
queue      send                 SendMessage, GetQueueAttributes, GetQueueUrl (the queue)
queue      receive              ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes,
                                GetQueueUrl (the queue); GetQueueAttributes, GetQueueUrl (its DLQ: depth)
queue      send-receive         both
table      read                 GetItem, BatchGetItem, Query, Scan, ConditionCheckItem, DescribeTable
table      write                PutItem, UpdateItem, DeleteItem, BatchWriteItem, ConditionCheckItem,
                                DescribeTable
table      read-write           both
bucket     read                 ListBucket (the bucket); GetObject (its objects)
bucket     write                PutObject, DeleteObject, AbortMultipartUpload (its objects)
bucket     read-write           both
database   read, read-write     secretsmanager:GetSecretValue (the instance's master secret); the network
                                path is the database's security group
=========  ===================  =======================================================================

A queue a Lambda service ``consumes`` counts as ``receive`` (:meth:`stratus.manifest.Stack.bindings`): the
event source mapping polls with the function's role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stratus.manifest import Binding, Stack
    from stratus.naming import ResourceKind

__all__ = ["ACTIONS", "Statement", "module_name", "service_statements"]

_SQS_SEND = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage")
_SQS_RECEIVE = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)
_DDB_READ = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
_DDB_WRITE = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
_S3_READ_OBJECTS = ("s3:GetObject",)
_S3_WRITE_OBJECTS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject")


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({action for group in groups for action in group}))


# (kind, access) -> {what: actions}; "what" names the ARN the actions apply to (see _arn).
ACTIONS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("queue", "send"): {"queue": _union(_SQS_SEND)},
    ("queue", "receive"): {"queue": _union(_SQS_RECEIVE), "dlq": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl")},
    ("queue", "send-receive"): {
        "queue": _union(_SQS_SEND, _SQS_RECEIVE),
        "dlq": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl"),
    },
    ("table", "read"): {"table": _union(_DDB_READ)},
    ("table", "write"): {"table": _union(_DDB_WRITE)},
    ("table", "read-write"): {"table": _union(_DDB_READ, _DDB_WRITE)},
    ("bucket", "read"): {"bucket": ("s3:ListBucket",), "objects": _union(_S3_READ_OBJECTS)},
    ("bucket", "write"): {"objects": _union(_S3_WRITE_OBJECTS)},
    ("bucket", "read-write"): {
        "bucket": ("s3:ListBucket",),
        "objects": _union(_S3_READ_OBJECTS, _S3_WRITE_OBJECTS),
    },
    ("database", "read"): {"secret": ("secretsmanager:GetSecretValue",)},
    ("database", "read-write"): {"secret": ("secretsmanager:GetSecretValue",)},
}

_MODULE_PREFIX: dict[str, str] = {"queue": "sqs", "table": "dynamodb", "bucket": "s3", "database": "postgres"}


@dataclass(frozen=True, slots=True)
class Statement:
    """An Allow statement: ``resources`` are Terraform expressions (module outputs), never ``*``."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def module_name(kind: ResourceKind | str, name: str) -> str:
    """The root module of a declared resource: ``sqs_jobs``, ``dynamodb_job-records``, ``s3_storage``."""
    return f"{_MODULE_PREFIX[kind]}_{name}"


def _arn(binding: Binding, what: str) -> str:
    module = f"module.{module_name(binding.kind, binding.name)}"
    return {
        "queue": f"{module}.queue_arn",
        "dlq": f"{module}.dlq_arn",
        "table": f"{module}.table_arn",
        "bucket": f"{module}.bucket_arn",
        "objects": f"${{{module}.bucket_arn}}/*",
        "secret": f"{module}.secret_arn",
    }[what]


def _sid(binding: Binding, what: str) -> str:
    words = re.split(r"[-_]", binding.name)
    base = binding.kind.capitalize() + "".join(w.capitalize() for w in words)
    suffix = {"dlq": "DeadLetters", "objects": "Objects"}.get(what, "")
    return base + suffix


def service_statements(stack: Stack, service: str) -> list[Statement]:
    """The statements of ``service``'s role: one per resource it uses (per ARN), in a stable order."""
    out: list[Statement] = []
    seen: dict[str, int] = {}
    for binding in stack.bindings(service):
        for what, actions in ACTIONS[(binding.kind, binding.access)].items():
            sid = _sid(binding, what)
            seen[sid] = seen.get(sid, 0) + 1
            if seen[sid] > 1:  # job-records and job_records: both allowed as names, Sids must differ
                sid = f"{sid}{seen[sid]}"
            out.append(Statement(sid, actions, (_arn(binding, what),)))
    return out
