"""Least privilege from ``uses``: the exact IAM actions each access level needs, on the exact ARNs.

A service's role gets one statement per resource (and per ARN kind: an S3 bucket and its objects are
different resources), nothing else from here. What every role needs beyond its uses (its own log groups,
X-Ray, the async dead-letter queue of a Lambda service) is in the Terraform modules, next to the resources.
Resources are :class:`~stratus.manifest.refs.Ref` s: the Terraform resolves them to module outputs, the local
cloud to the ARNs it provisioned.

=========  ===================  =======================================================================
kind       access               actions (on)
=========  ===================  =======================================================================
queue      send                 SendMessage, GetQueueAttributes, GetQueueUrl (the queue)
queue      receive              ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes,
                                GetQueueUrl (the queue); GetQueueAttributes, GetQueueUrl, ReceiveMessage (its DLQ:
                                depth, and reading what failed, as the worker's sweep does; never deleting)
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
secret     read                 secretsmanager:GetSecretValue (the secret, every version stage)
=========  ===================  =======================================================================

A queue a Lambda service ``consumes`` counts as ``receive`` (:meth:`stratus.manifest.Stack.bindings`): the
event source mapping polls with the function's role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stratus.manifest.refs import Ref

if TYPE_CHECKING:
    from stratus.manifest.stack import Binding, Stack

_SQS_SEND = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage")
_SQS_RECEIVE = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)
_SQS_DLQ_READ = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage")
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
_DDB_INDEX_READ = ("dynamodb:Query", "dynamodb:Scan")
_S3_READ_OBJECTS = ("s3:GetObject",)
_S3_WRITE_OBJECTS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject")


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({action for group in groups for action in group}))


# (kind, access) -> {what: actions}; "what" names the ARN the actions apply to (see _arn).
ACTIONS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("queue", "send"): {"queue": _union(_SQS_SEND)},
    ("queue", "receive"): {"queue": _union(_SQS_RECEIVE), "dlq": _SQS_DLQ_READ},
    ("queue", "send-receive"): {"queue": _union(_SQS_SEND, _SQS_RECEIVE), "dlq": _SQS_DLQ_READ},
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
    ("secret", "read"): {"value": ("secretsmanager:GetSecretValue",)},
    # InvokeModel authorises the Converse API too; streaming (InvokeModelWithResponseStream) is not granted.
    ("model", "invoke"): {"model": ("bedrock:InvokeModel",)},
}


@dataclass(frozen=True, slots=True)
class Grant:
    """An Allow statement: exact actions on exact resources, never ``*``."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[Ref, ...]


# "what" (a key of ACTIONS' values) -> the attribute of the resource the actions apply to.
_RESOURCE_ATTRIBUTE = {"queue": "arn", "dlq": "dlq_arn", "table": "arn", "bucket": "arn",
                       "objects": "objects_arn", "secret": "secret_arn", "value": "arn", "model": "arn"}  # fmt: skip


def _sid(binding: Binding, what: str) -> str:
    words = re.split(r"[-_]", binding.name)
    base = binding.kind.capitalize() + "".join(w.capitalize() for w in words)
    suffix = {"dlq": "DeadLetters", "objects": "Objects", "indexes": "Indexes"}.get(what, "")
    return base + suffix


def service_grants(stack: Stack, service: str) -> list[Grant]:
    """The statements of ``service``'s role: one per resource it uses (per ARN), in a stable order."""
    out: list[Grant] = []
    seen: dict[str, int] = {}
    for binding in stack.bindings(service):
        for what, actions in ACTIONS[(binding.kind, binding.access)].items():
            sid = _sid(binding, what)
            seen[sid] = seen.get(sid, 0) + 1
            if seen[sid] > 1:  # job-records and job_records: both allowed as names, Sids must differ
                sid = f"{sid}{seen[sid]}"
            out.append(Grant(sid, actions, (Ref(binding.kind, binding.name, _RESOURCE_ATTRIBUTE[what]),)))
        if binding.kind == "table" and binding.access != "write" and stack.tables[binding.name].indexes:
            # Query and Scan of a global secondary index are authorised on <table arn>/index/<name>, not the table.
            out.append(Grant(_sid(binding, "indexes"), _DDB_INDEX_READ, (Ref("table", binding.name, "index_arns"),)))
    return out


def accesses_granting(kind: str, attr: str, action: str) -> list[str]:
    """The access levels of ``uses`` under which a resource of ``kind`` is granted ``action`` on the ARN its
    attribute ``attr`` names (``("table", "arn", "dynamodb:PutItem")`` -> ``["write", "read-write"]``), weakest
    first: what a refused call would have needed."""
    out = []
    for (granted_kind, access), by_what in ACTIONS.items():
        if granted_kind != kind:
            continue
        actions = {a for what, acts in by_what.items() if _RESOURCE_ATTRIBUTE[what] == attr for a in acts}
        if kind == "table" and attr == "index_arns" and access != "write":
            actions.update(_DDB_INDEX_READ)
        if action in actions:
            out.append(access)
    return out
