"""The local cloud's IAM enforcement (``stratus.local.iam``, in front of the pinned moto) answers as AWS does, in
every cell of a matrix of identities x calls.

The embedded AWS (``python -m stratus.local.aws_server``, IAM enforced by default) is started once. The account's
root credentials (:data:`stratus.naming.LOCAL_CREDENTIALS`) set up the resources and, through the real IAM and STS
APIs, 31 identities: IAM users with inline, group and attached managed policies, and assumed-role sessions with
and without a session policy. Each identity's policies exercise one rule of IAM's evaluation: exact resources,
``*`` wildcards in actions and in resources (``table/*`` spans ``/index/...``), ``NotAction``, ``NotResource``
with ``Allow`` and with ``Deny``, explicit ``Deny`` over ``Allow`` (in an identity policy and in a session policy),
the condition keys policies use (``aws:RequestedRegion``, ``aws:SecureTransport``, ``s3:prefix``),
case-insensitive actions and case-sensitive resources, session policies intersecting the role's. Each makes the
same 27 calls over DynamoDB, SQS, S3 (presigned URLs of both signature versions, keys that do not exist),
Secrets Manager (by name, by ARN, in another region) and Lambda Invoke. :data:`IDENTITIES` says, as data, which
calls AWS allows each identity; an allowed cell must succeed (Lambda: ``ResourceNotFoundException``, moto holds no
function), every other cell must be refused as AWS refuses it: the exact error code, the HTTP status, and a message
naming the principal, the action and the resource AWS names, and why. The same is asserted of requests that are
unsigned, signed with an unknown key, a wrong secret, a wrong/missing session token, an expired session or a
stale date, and of expired presigned URLs. No cell may answer 5xx. moto is pinned; this test is what tells an
upgrade (or a change to ``stratus.local.iam``) broke the layer. Where the layer is known to disagree with AWS, the
cell is a strict xfail naming the bug (:data:`KNOWN_BUGS`): fixing it makes the cell fail until the mark goes.

Sources (collected in the research notes behind ``stratus.local.iam``):

- Message forms: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
  (``... because no identity-based policy allows the X action``, ``... with an explicit deny in an identity-based
  policy``, ``... because no session policy allows ...``). Newer AWS messages may append the denying policy's
  ARN (https://aws.amazon.com/blogs/security/enhanced-access-denied-error-messages-with-policy-arns), so
  messages are matched by prefix.
- DynamoDB: 400 ``AccessDeniedException`` (https://github.com/sebdah/dynamic-dynamodb/issues/321,
  https://github.com/aws-amplify/amplify-backend/issues/2969); index ARN ``table/T/index/I`` for Query
  (https://github.com/ionic-team/ionic2-starter-aws/issues/7); TransactWriteItems authorised per item as
  PutItem/ConditionCheckItem (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html);
  BatchGetItem as itself (https://github.com/chanzuckerberg/napari-hub/pull/1048).
- SQS: 403, code ``AccessDenied`` from ``x-amzn-query-error``, action printed lower-case, SendMessageBatch
  authorised as ``sqs:sendmessage`` (https://github.com/aws/serverless-application-model/issues/3633,
  https://github.com/microsoft/aspire/pull/3333,
  https://github.com/mariotoffia/floci/blob/5405928453502e154b60c50a6f8e23de9f96a8a7/docs/design/resource-policy-enforcement.md).
- S3: 403 ``AccessDenied``, resource quoted (https://github.com/aws-ia/terraform-aws-bedrock/issues/41,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html); HeadObject needs
  s3:GetObject and a HEAD error has no body; CopyObject needs GetObject on the source and PutObject on the
  target; ListObjectsV2 is s3:ListBucket on the bucket (botocore's S3 operation docs = the API Reference);
  a presigned URL acts with its signer's permissions
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
- Secrets Manager: 400 ``AccessDeniedException``, the message names the SecretId as given
  (https://github.com/mongodb/awscdk-resources-mongodbatlas/issues/207,
  https://github.com/binbashar/le-tf-infra-aws/pull/874).
- Lambda Invoke: 403 ``AccessDeniedException`` on ``lambda:InvokeFunction``, even for a function that does not
  exist (FLOCI above, https://github.com/awslabs/aws-deployment-framework/issues/460); a ``Qualifier`` needs
  the qualified ARN or ``function:NAME:*``
  (https://github.com/aws/aws-cdk/commit/fd1fff904a70d18dc9c7863aefc03b3ee44c2863); the FunctionName forms
  (name, ``name:qualifier``, ARN, partial ARN) are botocore's Invoke docs
  (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
- S3 GET/HEAD of a missing key: 404 with ``s3:ListBucket`` on the bucket, 403 without it
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, .../API_HeadObject.html, "Permissions").
- Expired session credentials: DynamoDB 400 ExpiredTokenException (https://github.com/treeverse/lakeFS/issues/7178),
  SQS 403 ExpiredToken (https://github.com/kifi/franz/issues/63), S3 400 ExpiredToken
  (https://github.com/craftcms/aws-s3/issues/182), Lambda 403 ExpiredTokenException
  (https://github.com/cloudquery/cq-provider-aws/pull/1171).
- Evaluation: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html (actions are
  case-insensitive), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  (resources case-sensitive; ``*`` spans ``/``), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session (intersection),
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (a missing key fails a positive operator).
- ``aws:SecureTransport``: AWS sees HTTPS; the local SDKs speak HTTP to the emulator, which sets the key
  ``true`` on purpose, so a CDK-style ``enforceSSL`` Deny must not fire locally
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport).
- Authentication failures: DynamoDB 400 MissingAuthenticationTokenException
  (https://github.com/awslabs/aws-sdk-ios-samples/issues/111), UnrecognizedClientException
  (https://github.com/baopham/laravel-dynamodb/issues/228), InvalidSignatureException
  (https://github.com/ttsuruoka/php-simple-amazon-dynamodb/issues/1); SQS 403 InvalidClientTokenId
  (https://github.com/ex-aws/ex_aws/issues/220), SignatureDoesNotMatch
  (https://github.com/albogdano/elasticsearch-river-amazonsqs/issues/7), ``Signature expired: ...``
  (https://github.com/aws/aws-sdk-php/issues/642); S3 403 AccessDenied for the anonymous principal,
  InvalidAccessKeyId (https://github.com/raster-foundry/raster-foundry/issues/289), SignatureDoesNotMatch and
  ``Request has expired`` for a presigned URL (localstack's AWS-recorded
  ``tests/aws/services/s3/test_s3.snapshot.json``);
  Lambda 403 MissingAuthenticationTokenException (https://github.com/brefphp/bref/issues/1250),
  UnrecognizedClientException (https://github.com/iann0036/iamlive/issues/58), InvalidSignatureException
  (https://github.com/erlcloud/erlcloud/issues/690); Secrets Manager 400 UnrecognizedClientException
  (https://github.com/spring-attic/spring-cloud-aws/issues/492); a session key without or with a wrong token:
  https://github.com/pynamodb/PynamoDB/issues/603, https://github.com/seppevs/move-sqs/issues/129,
  https://github.com/FlipperPA/django-s3-sqlite/issues/7.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from xml.etree import ElementTree

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials
from botocore.exceptions import ClientError

from stratus import naming

# One worker holds every cell (pytest-xdist's --dist loadgroup), so the server and its identities are set up once.
pytestmark = pytest.mark.xdist_group("iam_matrix")

ACCOUNT = "123456789012"
REGION = "us-east-1"
EU = "eu-west-1"
ROOT = naming.LOCAL_CREDENTIALS

USERS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Users"
USERS_EU = f"arn:aws:dynamodb:{EU}:{ACCOUNT}:table/Users"
USERS_INDEX = f"{USERS}/index/by_email"
ORDERS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
DATA = "arn:aws:s3:::data"
OTHER = "arn:aws:s3:::other"
SECRET_NAME = "db-password"
SECRET_ARN = "<secret-arn>"  # replaced by the secret's ARN (with AWS's random -XXXXXX suffix) once it exists
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"
PRIVATE_KEY, PUBLIC_KEY, COPY_KEY, MISSING_KEY = "private/r.txt", "public/p.txt", "copies/r.txt", "private/none.txt"


# --- the calls -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Call:
    """One request; ``checks`` are the (action, resource) pairs AWS authorises it against, as its message prints
    them (SQS's action in lower case, S3's resource in quotes, a secret as the caller named it)."""

    name: str
    run: Callable[[Clients], Outcome]
    checks: tuple[tuple[str, str], ...]
    denied: tuple[int, str]  # AWS's (HTTP status, Error.Code) when IAM refuses it
    allowed: tuple[int, str] = (200, "")  # and when IAM lets it through


class Clients:
    """The clients every cell calls through, made once (a client costs ~15 ms to make, as much as a call), each
    signing with the credentials of the identity the cell plays (:meth:`use`)."""

    def __init__(self, endpoint: str, secret_arn: str) -> None:
        self.endpoint = endpoint
        self.secret_arn = secret_arn
        self.current = Credentials("", "")
        botocore_session = botocore.session.get_session()
        botocore_session.register_component("credential_provider", CredentialResolver([_Playing(self.current)]))
        self._session = boto3.session.Session(botocore_session=botocore_session, region_name=REGION)
        self._made: dict[tuple[str, str, str], Any] = {}
        self.http = httpx.Client(timeout=10)  # for presigned URLs and raw requests

    def use(self, credentials: dict[str, str]) -> Clients:
        self.current.access_key = credentials["AWS_ACCESS_KEY_ID"]
        self.current.secret_key = credentials["AWS_SECRET_ACCESS_KEY"]
        self.current.token = credentials.get("AWS_SESSION_TOKEN")
        return self

    def __call__(self, service: str, region: str = REGION, signature: str = "") -> Any:
        key = (service, region, signature)
        if key not in self._made:
            config = Config(
                retries={"total_max_attempts": 1},
                s3={"addressing_style": "path"},
                signature_version=signature or None,  # None: botocore's choice (SigV2 presigning, here)
            )
            self._made[key] = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self.endpoint,
                config=config,
            )
        return self._made[key]


class _Playing(CredentialProvider):
    """The credentials the clients sign with: the one object the cells change."""

    METHOD = "iam-matrix"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> Credentials:
        return self.credentials


def boto(call: Callable[[Clients], Any]) -> Callable[[Clients], Outcome]:
    def run(clients: Clients) -> Outcome:
        try:
            call(clients)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return Outcome(status, str(error.get("Code", "")), str(error.get("Message", "")))
        return Outcome(200)

    return run


def fetch(http: httpx.Client, url: str) -> Outcome:
    """A presigned URL, fetched as a browser would; S3's XML error read as botocore reads it."""
    response = http.get(url)
    if response.status_code < 300:
        assert response.content == b"private", "the presigned URL fetched another object"
        return Outcome(response.status_code)
    root = ElementTree.fromstring(response.content)
    return Outcome(response.status_code, root.findtext("Code") or "", root.findtext("Message") or "")


def presigned(signature: str) -> Callable[[Clients], Outcome]:
    def run(clients: Clients) -> Outcome:
        s3 = clients("s3", signature=signature)
        return fetch(
            clients.http, s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": PRIVATE_KEY})
        )

    return run


def new_id(prefix: str) -> dict[str, str]:
    return {"S": f"{prefix}-{uuid.uuid4().hex[:8]}"}


DDB_DENIED = (400, "AccessDeniedException")
SQS_DENIED = (403, "AccessDenied")
S3_DENIED = (403, "AccessDenied")
SM_DENIED = (400, "AccessDeniedException")
LAMBDA_DENIED = (403, "AccessDeniedException")
LAMBDA_ALLOWED = (404, "ResourceNotFoundException")  # moto holds no function: IAM let the call through


def _sqs_url(clients: Clients) -> str:
    return f"{clients.endpoint}/{ACCOUNT}/jobs"


CALLS: tuple[Call, ...] = (
    # DynamoDB
    Call("ddb_get", boto(lambda c: c("dynamodb").get_item(TableName="Users", Key={"id": {"S": "u1"}})),
         (("dynamodb:GetItem", USERS),), DDB_DENIED),
    Call("ddb_get_eu", boto(lambda c: c("dynamodb", EU).get_item(TableName="Users", Key={"id": {"S": "u1"}})),
         (("dynamodb:GetItem", USERS_EU),), DDB_DENIED),
    Call("ddb_put", boto(lambda c: c("dynamodb").put_item(TableName="Users", Item={"id": new_id("put")})),
         (("dynamodb:PutItem", USERS),), DDB_DENIED),
    Call("ddb_query_index", boto(lambda c: c("dynamodb").query(
        TableName="Users", IndexName="by_email", KeyConditionExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": "a@example.com"}})),
         (("dynamodb:Query", USERS_INDEX),), DDB_DENIED),
    Call("ddb_batch_get", boto(lambda c: c("dynamodb").batch_get_item(
        RequestItems={"Users": {"Keys": [{"id": {"S": "u1"}}]}})),
         (("dynamodb:BatchGetItem", USERS),), DDB_DENIED),
    Call("ddb_transact_write", boto(lambda c: c("dynamodb").transact_write_items(TransactItems=[
        {"Put": {"TableName": "Orders", "Item": {"id": new_id("order")}}},
        {"ConditionCheck": {"TableName": "Users", "Key": {"id": {"S": "u1"}},
                            "ConditionExpression": "attribute_exists(id)"}},
    ])), (("dynamodb:PutItem", ORDERS), ("dynamodb:ConditionCheckItem", USERS)), DDB_DENIED),
    Call("ddb_scan", boto(lambda c: c("dynamodb").scan(TableName="Users", Limit=1)),
         (("dynamodb:Scan", USERS),), DDB_DENIED),
    # SQS (JSON protocol; the code comes from x-amzn-query-error)
    Call("sqs_send", boto(lambda c: c("sqs").send_message(QueueUrl=_sqs_url(c), MessageBody="m")),
         (("sqs:sendmessage", QUEUE),), SQS_DENIED),
    Call("sqs_receive", boto(lambda c: c("sqs").receive_message(QueueUrl=_sqs_url(c), WaitTimeSeconds=0)),
         (("sqs:receivemessage", QUEUE),), SQS_DENIED),
    Call("sqs_send_batch", boto(lambda c: c("sqs").send_message_batch(
        QueueUrl=_sqs_url(c), Entries=[{"Id": "1", "MessageBody": "b"}])),
         (("sqs:sendmessage", QUEUE),), SQS_DENIED),
    # S3
    Call("s3_get_private", boto(lambda c: c("s3").get_object(Bucket="data", Key=PRIVATE_KEY)),
         (("s3:GetObject", f'"{DATA}/{PRIVATE_KEY}"'),), S3_DENIED),
    Call("s3_get_public", boto(lambda c: c("s3").get_object(Bucket="data", Key=PUBLIC_KEY)),
         (("s3:GetObject", f'"{DATA}/{PUBLIC_KEY}"'),), S3_DENIED),
    Call("s3_get_other", boto(lambda c: c("s3").get_object(Bucket="other", Key="o.txt")),
         (("s3:GetObject", f'"{OTHER}/o.txt"'),), S3_DENIED),
    Call("s3_put", boto(lambda c: c("s3").put_object(Bucket="data", Key="uploads/u.txt", Body=b"u")),
         (("s3:PutObject", f'"{DATA}/uploads/u.txt"'),), S3_DENIED),
    Call("s3_list", boto(lambda c: c("s3").list_objects_v2(Bucket="data")),
         (("s3:ListBucket", f'"{DATA}"'),), S3_DENIED),
    Call("s3_list_public", boto(lambda c: c("s3").list_objects_v2(Bucket="data", Prefix="public/")),
         (("s3:ListBucket", f'"{DATA}"'),), S3_DENIED),
    # A HEAD's error has no body: botocore reports the status as the code (and no message to read).
    Call("s3_head", boto(lambda c: c("s3").head_object(Bucket="data", Key=PRIVATE_KEY)),
         (("s3:GetObject", f'"{DATA}/{PRIVATE_KEY}"'),), (403, "403")),
    # A key that does not exist: 404 with s3:ListBucket on the bucket, else 403 (botocore's GetObject/HeadObject
    # docs: "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403")
    Call("s3_get_missing", boto(lambda c: c("s3").get_object(Bucket="data", Key=MISSING_KEY)),
         (("s3:GetObject", f'"{DATA}/{MISSING_KEY}"'), ("s3:ListBucket", f'"{DATA}"')), S3_DENIED, (404, "NoSuchKey")),
    Call("s3_head_missing", boto(lambda c: c("s3").head_object(Bucket="data", Key=MISSING_KEY)),
         (("s3:GetObject", f'"{DATA}/{MISSING_KEY}"'), ("s3:ListBucket", f'"{DATA}"')), (403, "403"), (404, "404")),
    # boto3 presigns with Signature Version 2 for an endpoint of one's own, unless told s3v4
    Call("s3_presign_v2", presigned(""), (("s3:GetObject", f'"{DATA}/{PRIVATE_KEY}"'),), S3_DENIED),
    Call("s3_presign_v4", presigned("s3v4"), (("s3:GetObject", f'"{DATA}/{PRIVATE_KEY}"'),), S3_DENIED),
    Call("s3_copy", boto(lambda c: c("s3").copy_object(
        Bucket="data", Key=COPY_KEY, CopySource={"Bucket": "data", "Key": PRIVATE_KEY})),
         (("s3:PutObject", f'"{DATA}/{COPY_KEY}"'), ("s3:GetObject", f'"{DATA}/{PRIVATE_KEY}"')), S3_DENIED),
    # Secrets Manager: authorised on the secret's ARN either way; the message names it as the caller did
    Call("sm_by_name", boto(lambda c: c("secretsmanager").get_secret_value(SecretId=SECRET_NAME)),
         (("secretsmanager:GetSecretValue", SECRET_NAME),), SM_DENIED),
    Call("sm_by_arn", boto(lambda c: c("secretsmanager").get_secret_value(SecretId=c.secret_arn)),
         (("secretsmanager:GetSecretValue", SECRET_ARN),), SM_DENIED),
    # A secret of the same name in another region is another secret (another ARN)
    Call("sm_by_name_eu", boto(lambda c: c("secretsmanager", EU).get_secret_value(SecretId=SECRET_NAME)),
         (("secretsmanager:GetSecretValue", SECRET_NAME),), SM_DENIED),
    # Lambda Invoke (no function in moto: allowed means ResourceNotFoundException)
    Call("lambda_invoke", boto(lambda c: c("lambda").invoke(FunctionName="worker", Payload=b"{}")),
         (("lambda:InvokeFunction", FUNCTION),), LAMBDA_DENIED, LAMBDA_ALLOWED),
    Call("lambda_invoke_qualified", boto(lambda c: c("lambda").invoke(
        FunctionName="worker", Qualifier="live", Payload=b"{}")),
         (("lambda:InvokeFunction", f"{FUNCTION}:live"),), LAMBDA_DENIED, LAMBDA_ALLOWED),
)  # fmt: skip
CALL = {call.name: call for call in CALLS}
assert len(CALL) == len(CALLS)

DDB = frozenset(c.name for c in CALLS if c.name.startswith("ddb_"))
SQS = frozenset(c.name for c in CALLS if c.name.startswith("sqs_"))
S3 = frozenset(c.name for c in CALLS if c.name.startswith("s3_"))
S3_DATA = S3 - {"s3_get_other"}
S3_READ_PRIVATE = frozenset({"s3_get_private", "s3_head", "s3_presign_v2", "s3_presign_v4"})
S3_MISSING = frozenset({"s3_get_missing", "s3_head_missing"})
SM = frozenset({"sm_by_name", "sm_by_arn"})
ALL = frozenset(CALL)


# --- the identities --------------------------------------------------------------------------------------------


def allow(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@dataclass(frozen=True)
class Identity:
    """Who calls, how IAM holds their policies, and what AWS decides for each call.

    ``allowed``: the calls AWS lets through. Every other call is refused ``with an explicit deny in``
    ``explicit_in`` when it is in ``explicit``, ``because no session policy allows`` it when in ``session``, else
    ``because no identity-based policy allows`` it; ``reasons`` overrides that for a call where AWS may give
    either of several (it names one policy type of those that refuse, the IAM guide says).
    ``blame``: for a call of several checks, the one AWS must name (else any check of the call may be named).
    """

    name: str
    kind: str  # root | user | group | managed | role
    policy: dict[str, Any] | None = None
    allowed: frozenset[str] = frozenset()
    explicit: frozenset[str] = frozenset()
    session: frozenset[str] = frozenset()
    session_policy: dict[str, Any] | None = None
    role: str = ""
    blame: dict[str, tuple[str, str]] = field(default_factory=dict)
    explicit_in: str = "an identity-based policy"
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)  # call -> "identity" | "session" | "explicit"

    def expected_reasons(self, call: str) -> tuple[str, ...]:
        if call in self.reasons:
            return self.reasons[call]
        return ("explicit",) if call in self.explicit else ("session",) if call in self.session else ("identity",)


READER_ROLE = document(
    allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], [USERS, f"{USERS}/index/*"]),
    allow("sqs:ReceiveMessage", QUEUE),
    allow("s3:GetObject", f"{DATA}/*"),
)
READER_ROLE_ALLOWS = frozenset({"ddb_get", "ddb_query_index", "ddb_scan", "sqs_receive", "s3_get_public"})
READER_ROLE_ALLOWS |= S3_READ_PRIVATE
BLAME_COPY_PUT = {"s3_copy": ("s3:PutObject", f'"{DATA}/{COPY_KEY}"')}

IDENTITIES: tuple[Identity, ...] = (
    Identity("root", "root", allowed=ALL),
    Identity("nothing_granted", "user"),
    Identity(
        "exact_table_read",
        "user",
        document(allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"], USERS)),
        # Query on an index is authorised on the index's ARN, which the table's ARN does not match
        allowed=frozenset({"ddb_get", "ddb_scan", "ddb_batch_get"}),
    ),
    Identity(
        "table_read_write",
        "user",
        document(
            allow(
                [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "dynamodb:BatchGetItem",
                    "dynamodb:ConditionCheckItem",
                ],
                [USERS, f"{USERS}/index/*", ORDERS],
            )
        ),
        allowed=DDB - {"ddb_get_eu"},
    ),
    Identity(
        "table_wildcard",  # table/* spans the "/index/..." of an index ARN ("*" crosses "/")
        "user",
        document(
            allow(
                ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*"
            )
        ),
        allowed=frozenset({"ddb_get", "ddb_query_index", "ddb_scan"}),
    ),
    Identity(
        "dynamodb_star_one_table",
        "user",
        document(allow("dynamodb:*", USERS)),
        allowed=frozenset({"ddb_get", "ddb_put", "ddb_batch_get", "ddb_scan"}),
        blame={"ddb_transact_write": ("dynamodb:PutItem", ORDERS)},
    ),
    Identity(
        "dynamodb_get_star",  # dynamodb:Get* is GetItem (not BatchGetItem), in any region
        "user",
        document(allow("dynamodb:Get*", "*")),
        allowed=frozenset({"ddb_get", "ddb_get_eu"}),
    ),
    Identity(
        "index_only",
        "user",
        document(allow("dynamodb:Query", f"{USERS}/index/*")),
        allowed=frozenset({"ddb_query_index"}),
    ),
    Identity(
        "allow_all_deny_one_table",  # the Deny names the table's ARN: its index, and the table elsewhere, are not it
        "user",
        document(allow("*", "*"), deny("dynamodb:*", USERS)),
        allowed=ALL - {"ddb_get", "ddb_put", "ddb_batch_get", "ddb_transact_write", "ddb_scan"},
        explicit=frozenset({"ddb_get", "ddb_put", "ddb_batch_get", "ddb_transact_write", "ddb_scan"}),
        blame={"ddb_transact_write": ("dynamodb:ConditionCheckItem", USERS)},
    ),
    Identity(
        "not_action_sqs",  # allows every action but SQS's
        "user",
        document({"Effect": "Allow", "NotAction": "sqs:*", "Resource": "*"}),
        allowed=ALL - SQS,
    ),
    Identity(
        "allow_not_resource",  # allows everything on every resource but the bucket "data"
        "user",
        document({"Effect": "Allow", "Action": "*", "NotResource": [DATA, f"{DATA}/*"]}),
        allowed=ALL - S3_DATA,
    ),
    Identity(
        "deny_not_resource",  # denies S3 on every bucket but "data"; grants nothing by itself
        "user",
        document(allow("s3:*", "*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": [DATA, f"{DATA}/*"]}),
        allowed=S3_DATA,
        explicit=frozenset({"s3_get_other"}),
    ),
    Identity(
        "s3_objects_only",  # objects, not the bucket: no ListBucket
        "user",
        document(allow(["s3:GetObject", "s3:PutObject"], f"{DATA}/*")),
        allowed=S3_READ_PRIVATE | {"s3_get_public", "s3_put", "s3_copy"},
    ),
    Identity(
        "s3_public_prefix",
        "user",
        document(allow("s3:GetObject", f"{DATA}/public/*")),
        allowed=frozenset({"s3_get_public"}),
    ),
    Identity(
        "s3_list_with_prefix_condition",  # a listing without a prefix has no s3:prefix: the condition fails
        "user",
        document(allow("s3:ListBucket", DATA, Condition={"StringLike": {"s3:prefix": "public/*"}})),
        allowed=frozenset({"s3_list_public"}),
    ),
    Identity(
        "secret_exact_arn",  # by name or by ARN, the request is authorised on the secret's full ARN
        "user",
        document(allow("secretsmanager:GetSecretValue", SECRET_ARN)),
        allowed=SM,
    ),
    Identity(
        "secret_name_wildcard",
        "user",
        document(
            allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SECRET_NAME}-*")
        ),
        allowed=SM,
    ),
    Identity(
        "secret_without_suffix",  # the ARN without AWS's -XXXXXX suffix is no secret's ARN
        "user",
        document(
            allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{SECRET_NAME}")
        ),
    ),
    Identity(
        "requested_region_us",
        "user",
        document(
            allow(
                "dynamodb:GetItem",
                f"arn:aws:dynamodb:*:{ACCOUNT}:table/Users",
                Condition={"StringEquals": {"aws:RequestedRegion": REGION}},
            )
        ),
        allowed=frozenset({"ddb_get"}),
    ),
    Identity(
        "requested_region_eu",
        "user",
        document(
            allow(
                "dynamodb:GetItem",
                f"arn:aws:dynamodb:*:{ACCOUNT}:table/Users",
                Condition={"StringEquals": {"aws:RequestedRegion": EU}},
            )
        ),
        allowed=frozenset({"ddb_get_eu"}),
    ),
    Identity(
        "secure_transport_deny",  # enforceSSL: AWS sees HTTPS (aws:SecureTransport true), so this Deny never fires
        "user",
        document(
            allow("dynamodb:GetItem", USERS), deny("*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}})
        ),
        allowed=frozenset({"ddb_get"}),
    ),
    Identity(
        "action_case_insensitive",
        "user",
        document(allow("DynamoDB:getitem", USERS)),
        allowed=frozenset({"ddb_get"}),
    ),
    Identity(
        "resource_case_sensitive",  # table/users is not table/Users
        "user",
        document(allow("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/users")),
    ),
    Identity(
        "group_member",  # the policy is the group's; SendMessageBatch is authorised as sqs:SendMessage
        "group",
        document(allow("sqs:SendMessage", QUEUE)),
        allowed=frozenset({"sqs_send", "sqs_send_batch"}),
    ),
    Identity(
        "managed_policy",  # an attached customer-managed policy
        "managed",
        document(allow("s3:GetObject", f"{DATA}/*"), allow("s3:ListBucket", DATA)),
        allowed=S3_READ_PRIVATE | S3_MISSING | {"s3_get_public", "s3_list", "s3_list_public"},
        blame=BLAME_COPY_PUT,
    ),
    Identity("role_session", "role", READER_ROLE, allowed=READER_ROLE_ALLOWS, role="reader", blame=BLAME_COPY_PUT),
    Identity(
        "role_session_narrowed",  # the session policy allows one call of the role's: the intersection
        "role",
        READER_ROLE,
        allowed=frozenset({"ddb_get"}),
        session=READER_ROLE_ALLOWS - {"ddb_get"},
        session_policy=document(allow("dynamodb:GetItem", USERS)),
        role="reader",
        # the role's policy and the session policy both refuse the rest: AWS names one of the two
        reasons={call: ("identity", "session") for call in ALL - READER_ROLE_ALLOWS},
    ),
    Identity(
        "role_session_wide_session_policy",  # a session policy cannot grant more than the role
        "role",
        READER_ROLE,
        allowed=READER_ROLE_ALLOWS,
        session_policy=document(allow("*", "*")),
        role="reader",
        blame=BLAME_COPY_PUT,
    ),
    Identity(
        "session_policy_deny",  # an explicit Deny in the session policy: "with an explicit deny in a session policy"
        "role",
        READER_ROLE,
        allowed=READER_ROLE_ALLOWS - S3_READ_PRIVATE,
        explicit=S3_READ_PRIVATE | S3_MISSING,
        session_policy=document(allow("*", "*"), deny("s3:GetObject", f"{DATA}/private/*")),
        role="reader",
        explicit_in="a session policy",
        # CopyObject: no identity-based policy allows the s3:PutObject, the session policy denies the s3:GetObject
        reasons={"s3_copy": ("identity", "explicit")},
    ),
    Identity(
        "lambda_unqualified_arn",  # the function's ARN does not cover an invocation with a Qualifier
        "role",
        document(allow("lambda:InvokeFunction", FUNCTION)),
        allowed=frozenset({"lambda_invoke"}),
        role="invoker",
    ),
    Identity(
        "lambda_qualified_wildcard",  # function:worker:* covers every qualifier, not the unqualified ARN
        "user",
        document(allow("lambda:InvokeFunction", f"{FUNCTION}:*")),
        allowed=frozenset({"lambda_invoke_qualified"}),
    ),
)
IDENTITY = {identity.name: identity for identity in IDENTITIES}
assert len(IDENTITY) == len(IDENTITIES)
for _identity in IDENTITIES:
    assert _identity.allowed <= ALL and not (_identity.allowed & (_identity.explicit | _identity.session))

# Where the enforcer is known to disagree with AWS (strict xfails: fixing the bug makes them fail, to be removed).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


# --- the server and the world ----------------------------------------------------------------------------------


@dataclass
class World:
    endpoint: str
    secret_arn: str
    log: Path
    credentials: dict[str, dict[str, str]]  # identity -> its AWS_* credentials
    principals: dict[str, str]  # identity -> the ARN a denial names
    clients: Clients
    expiring: dict[str, str]  # a session of the role "reader" that lasts one second
    expires_at: float  # when it has expired (epoch seconds)

    def of(self, identity: str) -> Clients:
        return self.clients.use(self.credentials[identity])

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "STRATUS_IAM"}
    env["MOTO_ACCOUNT_ID"] = ACCOUNT  # IAM enforced: the default, whatever STRATUS_IAM the caller has
    log = tmp_path_factory.mktemp("iam-matrix") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "stratus.local.aws_server", "-H", "127.0.0.1", "-p", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{endpoint}/moto-api/data.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, f"the server exited: {log.read_text(errors='replace')[-4000:]}"
            assert time.monotonic() < deadline, "the server did not start in 30 s"
            time.sleep(0.05)
        world = _set_up(endpoint, log)
        with world.clients.http:
            yield world
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _set_up(endpoint: str, log: Path) -> World:
    clients = Clients(endpoint, "")
    root = clients.use(ROOT)
    for region in (REGION, EU):
        root("dynamodb", region).create_table(
            TableName="Users",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "email", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_email",
                                     "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
        root("dynamodb", region).put_item(TableName="Users", Item={"id": {"S": "u1"}, "email": {"S": "a@example.com"}})
    root("dynamodb").create_table(
        TableName="Orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    root("sqs").create_queue(QueueName="jobs")
    s3 = root("s3")
    for bucket in ("data", "other"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="data", Key=PRIVATE_KEY, Body=b"private")
    s3.put_object(Bucket="data", Key=PUBLIC_KEY, Body=b"public")
    s3.put_object(Bucket="other", Key="o.txt", Body=b"other")
    secret_arn = clients.secret_arn = str(
        root("secretsmanager").create_secret(Name=SECRET_NAME, SecretString="s3cret")["ARN"]
    )
    root("secretsmanager", EU).create_secret(Name=SECRET_NAME, SecretString="another region's")

    iam, sts = root("iam"), root("sts")
    trust = document(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    roles: set[str] = set()
    credentials: dict[str, dict[str, str]] = {}
    principals: dict[str, str] = {}

    def text(policy: dict[str, Any]) -> str:
        return json.dumps(policy).replace(SECRET_ARN, secret_arn)

    for identity in IDENTITIES:
        name = identity.name.replace("_", "-")
        if identity.kind == "root":
            credentials[identity.name] = dict(ROOT)
            principals[identity.name] = f"arn:aws:iam::{ACCOUNT}:root"
        elif identity.kind == "role":
            assert identity.policy is not None
            if identity.role not in roles:
                iam.create_role(RoleName=identity.role, AssumeRolePolicyDocument=json.dumps(trust))
                iam.put_role_policy(
                    RoleName=identity.role, PolicyName="permissions", PolicyDocument=text(identity.policy)
                )
                roles.add(identity.role)
            extra = {"Policy": text(identity.session_policy)} if identity.session_policy else {}
            assumed = sts.assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{identity.role}", RoleSessionName=name, **extra
            )
            cred = assumed["Credentials"]
            credentials[identity.name] = {
                "AWS_ACCESS_KEY_ID": cred["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": cred["SecretAccessKey"],
                "AWS_SESSION_TOKEN": cred["SessionToken"],
            }  # fmt: skip
            principals[identity.name] = assumed["AssumedRoleUser"]["Arn"]
            assert principals[identity.name] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{identity.role}/{name}"
        else:
            user = iam.create_user(UserName=name)["User"]
            principals[identity.name] = user["Arn"]
            assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
            if identity.kind == "user" and identity.policy is not None:
                iam.put_user_policy(UserName=name, PolicyName="permissions", PolicyDocument=text(identity.policy))
            elif identity.kind == "group":
                assert identity.policy is not None
                iam.create_group(GroupName=f"{name}-group")
                iam.put_group_policy(
                    GroupName=f"{name}-group", PolicyName="permissions", PolicyDocument=text(identity.policy)
                )
                iam.add_user_to_group(GroupName=f"{name}-group", UserName=name)
            elif identity.kind == "managed":
                assert identity.policy is not None
                arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=text(identity.policy))["Policy"][
                    "Arn"
                ]
                iam.attach_user_policy(UserName=name, PolicyArn=arn)
            key = iam.create_access_key(UserName=name)["AccessKey"]
            credentials[identity.name] = {
                "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            }  # fmt: skip
    # AWS's shortest session is 900 s (botocore refuses less); moto takes 1 s, so expiry is tested without waiting
    unchecked = boto3.client(
        "sts", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=ROOT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ROOT["AWS_SECRET_ACCESS_KEY"], config=Config(parameter_validation=False),
    )  # fmt: skip
    short = unchecked.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader", RoleSessionName="short", DurationSeconds=1
    )
    expiring = {
        "AWS_ACCESS_KEY_ID": short["Credentials"]["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": short["Credentials"]["SecretAccessKey"],
        "AWS_SESSION_TOKEN": short["Credentials"]["SessionToken"],
    }
    expires_at = short["Credentials"]["Expiration"].timestamp() + 0.1
    return World(endpoint, secret_arn, log, credentials, principals, clients, expiring, expires_at)


# --- the matrix ------------------------------------------------------------------------------------------------


def _cells() -> list[Any]:
    cells = []
    for identity in IDENTITIES:
        for call in CALLS:
            bug = KNOWN_BUGS.get((identity.name, call.name))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            cells.append(pytest.param(identity.name, call.name, id=f"{identity.name}-{call.name}", marks=marks))
    return cells


@pytest.mark.parametrize(("identity_name", "call_name"), _cells())
def test_cell(world: World, identity_name: str, call_name: str) -> None:
    identity, call = IDENTITY[identity_name], CALL[call_name]
    outcome = call.run(world.of(identity_name))
    assert outcome.status < 500, f"{outcome} -- server log:\n{world.log_tail()}"
    if call_name in identity.allowed:
        assert (outcome.status, outcome.code) == call.allowed, f"AWS allows it: {outcome}"
        return
    assert (outcome.status, outcome.code) == call.denied, f"AWS refuses it: {outcome}"
    if call.denied[1] == "403" and call.denied[0] == 403:  # HEAD: no body, nothing more to read
        return
    principal = world.principals[identity_name]
    checks = [identity.blame[call_name]] if call_name in identity.blame else list(call.checks)
    named = [
        (action, resource)
        for action, resource in ((a, r.replace(SECRET_ARN, world.secret_arn)) for a, r in checks)
        if outcome.message.startswith(
            f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        )
    ]
    assert named, f"the message names none of {checks} for {principal}: {outcome.message!r}"
    action, resource = named[0]
    phrases = {
        "identity": f"because no identity-based policy allows the {action} action",
        "session": f"because no session policy allows the {action} action",
        "explicit": f"with an explicit deny in {identity.explicit_in}",
    }
    reasons = [phrases[kind] for kind in identity.expected_reasons(call_name)]
    why = outcome.message.removeprefix(
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
    )
    assert any(why.startswith(reason) for reason in reasons), f"{outcome.message!r} gives none of {reasons}"


# Invoke's FunctionName forms (botocore's Invoke docs: a name, name:qualifier, the ARN, a partial ARN
# "123456789012:function:my-function"); each is authorised on the function's full ARN, with its qualifier.
PARTIAL = f"{ACCOUNT}:function:worker"
FUNCTION_NAMES: list[Any] = [
    # (identity, FunctionName, the resource AWS authorises, whether it allows)
    ("lambda_unqualified_arn", "worker", FUNCTION, True),
    ("lambda_unqualified_arn", FUNCTION, FUNCTION, True),
    pytest.param("lambda_unqualified_arn", PARTIAL, FUNCTION, True, marks=pytest.mark.xfail(strict=True, reason=(
        "moto 5.2.5 answers Invoke by a partial ARN with a 500 (moto/awslambda/models.py "
        "get_function_by_name_with_qualifier: name.split(':') into two); AWS answers 404 ResourceNotFoundException"
    ))),
    ("lambda_qualified_wildcard", PARTIAL, FUNCTION, False),
    ("lambda_unqualified_arn", "worker:live", f"{FUNCTION}:live", False),
    ("lambda_unqualified_arn", f"{FUNCTION}:live", f"{FUNCTION}:live", False),
    ("lambda_qualified_wildcard", "worker:live", f"{FUNCTION}:live", True),
    ("lambda_qualified_wildcard", f"{FUNCTION}:live", f"{FUNCTION}:live", True),
    ("lambda_qualified_wildcard", FUNCTION, FUNCTION, False),
]  # fmt: skip


@pytest.mark.parametrize(("identity_name", "function", "resource", "allowed"), FUNCTION_NAMES)
def test_lambda_function_name_forms(
    world: World, identity_name: str, function: str, resource: str, allowed: bool
) -> None:
    outcome = boto(lambda c: c("lambda").invoke(FunctionName=function, Payload=b"{}"))(world.of(identity_name))
    if allowed:
        assert (outcome.status, outcome.code) == LAMBDA_ALLOWED, outcome
        return
    assert (outcome.status, outcome.code) == LAMBDA_DENIED, outcome
    principal = world.principals[identity_name]
    assert outcome.message == (
        f"User: {principal} is not authorized to perform: lambda:InvokeFunction on resource: {resource} "
        "because no identity-based policy allows the lambda:InvokeFunction action"
    )


# --- authentication failures -----------------------------------------------------------------------------------


def _raw_error(response: httpx.Response) -> Outcome:
    """The code and message of an error answer, as botocore reads each protocol."""
    body = response.content
    if body.startswith(b"<"):
        root = ElementTree.fromstring(body)
        return Outcome(response.status_code, root.findtext(".//Code") or "", root.findtext(".//Message") or "")
    data = json.loads(body or b"{}")
    # the query-compatible header wins (SQS), then REST-JSON's x-amzn-errortype, then the JSON body's __type
    code = response.headers.get("x-amzn-query-error", "").split(";")[0]
    code = code or response.headers.get("x-amzn-errortype") or data.get("__type", "")
    code = code.split(":")[0].rpartition("#")[2]
    return Outcome(response.status_code, code, str(data.get("message") or data.get("Message") or ""))


UNSIGNED: dict[str, tuple[dict[str, Any], int, str | None, str | None]] = {
    # service -> (request, AWS's status, code, message); None where AWS's answer is not known (only the status)
    "dynamodb": (
        {"method": "POST", "url": "/", "content": b"{}",
         "headers": {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}},
        400, "MissingAuthenticationTokenException", "Request is missing Authentication Token",
    ),
    # S3 takes an unsigned request as the anonymous principal's: a private object is Access Denied
    "s3": ({"method": "GET", "url": f"/data/{PRIVATE_KEY}"}, 403, "AccessDenied", "Access Denied"),
    "lambda": (
        {"method": "POST", "url": "/2015-03-31/functions/worker/invocations", "content": b"{}"},
        403, "MissingAuthenticationTokenException", "Missing Authentication Token",
    ),
    # not captured from AWS: the status by protocol family only
    "sqs": (
        {"method": "POST", "url": "/", "content": json.dumps({"QueueUrl": f"/{ACCOUNT}/jobs", "MessageBody": "m"}),
         "headers": {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"}},
        403, None, None,
    ),
    "secretsmanager": (
        {"method": "POST", "url": "/", "content": json.dumps({"SecretId": SECRET_NAME}),
         "headers": {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}},
        400, None, None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("service", list(UNSIGNED))
def test_unsigned_request(world: World, service: str) -> None:
    request, status, code, message = UNSIGNED[service]
    response = world.clients.http.request(
        request["method"], world.endpoint + request["url"], content=request.get("content"),
        headers=request.get("headers"),
    )  # fmt: skip
    outcome = _raw_error(response)
    assert outcome.status == status, outcome
    if code is not None:
        assert (outcome.code, outcome.message) == (code, message)


# (call, what goes wrong) -> AWS's (status, code). The calls are the matrix's, made by the user "nothing_granted"
# (a long-term key) or the session "role_session" (a temporary one), with their credentials spoilt.
BAD_CREDENTIALS: dict[tuple[str, str], tuple[int, str | None]] = {
    ("ddb_get", "unknown-key"): (400, "UnrecognizedClientException"),
    ("ddb_get", "wrong-secret"): (400, "InvalidSignatureException"),
    ("ddb_get", "wrong-token"): (400, "UnrecognizedClientException"),
    ("ddb_get", "missing-token"): (400, "UnrecognizedClientException"),
    ("sqs_send", "unknown-key"): (403, "InvalidClientTokenId"),
    ("sqs_send", "wrong-secret"): (403, "SignatureDoesNotMatch"),
    ("sqs_send", "wrong-token"): (403, "InvalidClientTokenId"),
    ("sqs_send", "missing-token"): (403, "InvalidClientTokenId"),
    ("s3_get_private", "unknown-key"): (403, "InvalidAccessKeyId"),
    ("s3_get_private", "wrong-secret"): (403, "SignatureDoesNotMatch"),
    ("s3_get_private", "wrong-token"): (400, "InvalidToken"),  # the status is believed, not captured
    ("s3_get_private", "missing-token"): (403, "InvalidAccessKeyId"),
    ("s3_presign_v4", "unknown-key"): (403, "InvalidAccessKeyId"),
    ("s3_presign_v4", "wrong-secret"): (403, "SignatureDoesNotMatch"),
    ("s3_presign_v2", "wrong-secret"): (403, "SignatureDoesNotMatch"),
    ("sm_by_name", "unknown-key"): (400, "UnrecognizedClientException"),
    ("sm_by_name", "wrong-secret"): (400, None),  # InvalidSignatureException by protocol family; not captured
    ("sm_by_name", "wrong-token"): (400, "UnrecognizedClientException"),
    ("lambda_invoke", "unknown-key"): (403, "UnrecognizedClientException"),
    ("lambda_invoke", "wrong-secret"): (403, "InvalidSignatureException"),
    ("lambda_invoke", "wrong-token"): (403, "UnrecognizedClientException"),
}


def _spoilt(world: World, fault: str) -> dict[str, str]:
    if fault in ("unknown-key", "wrong-secret"):
        credentials = dict(world.credentials["nothing_granted"])
        if fault == "unknown-key":
            credentials["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWNKEY000000"
        else:
            credentials["AWS_SECRET_ACCESS_KEY"] += "x"
        return credentials
    credentials = dict(world.credentials["role_session"])
    if fault == "wrong-token":
        credentials["AWS_SESSION_TOKEN"] = "FQoGZXIvYXdzEBYaDnotthesessionstoken"
    else:
        del credentials["AWS_SESSION_TOKEN"]
    return credentials


@pytest.mark.parametrize(("call_name", "fault"), list(BAD_CREDENTIALS), ids=[f"{c}-{f}" for c, f in BAD_CREDENTIALS])
def test_bad_credentials(world: World, call_name: str, fault: str) -> None:
    status, code = BAD_CREDENTIALS[(call_name, fault)]
    outcome = CALL[call_name].run(world.clients.use(_spoilt(world, fault)))
    assert outcome.status == status, f"{outcome} -- server log:\n{world.log_tail()}"
    if code is not None:
        assert outcome.code == code, outcome


# call -> AWS's (status, code) for a session that has expired; None where AWS's code was not captured
EXPIRED_SESSION: dict[str, tuple[int, str | None]] = {
    "ddb_get": (400, "ExpiredTokenException"),
    "sqs_send": (403, "ExpiredToken"),
    "s3_get_private": (400, "ExpiredToken"),
    "s3_presign_v4": (400, "ExpiredToken"),  # a presigned URL lasts no longer than its signer's session
    "lambda_invoke": (403, "ExpiredTokenException"),
    "sm_by_name": (400, None),
}


@pytest.mark.parametrize("call_name", list(EXPIRED_SESSION))
def test_expired_session_credentials(world: World, call_name: str) -> None:
    time.sleep(max(0.0, world.expires_at - time.time()))
    status, code = EXPIRED_SESSION[call_name]
    outcome = CALL[call_name].run(world.clients.use(world.expiring))
    assert outcome.status == status, outcome
    if code is not None:
        assert outcome.code == code, outcome


def _in_the_past(seconds: float) -> Any:
    """botocore's clocks (SigV4's datetime, SigV2's time), ``seconds`` ago, while signing."""
    then = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=seconds)
    fake_datetime = types.SimpleNamespace(datetime=types.SimpleNamespace(utcnow=lambda: then))
    fake_time = types.SimpleNamespace(time=lambda: time.time() - seconds)
    return mock.patch.multiple("botocore.auth", datetime=fake_datetime, time=fake_time)


@pytest.mark.parametrize(
    "signature",
    [pytest.param(form, id=name) for form, name in (("s3v4", "sigv4"), ("", "sigv2"))],
)  # fmt: skip
def test_expired_presigned_url(world: World, signature: str) -> None:
    """A URL signed 2 minutes ago for 60 seconds: 403 AccessDenied, "Request has expired"."""
    s3 = world.of("root")("s3", signature=signature)
    with _in_the_past(120):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": PRIVATE_KEY}, ExpiresIn=60)
    assert fetch(world.clients.http, url) == Outcome(403, "AccessDenied", "Request has expired")


def test_a_stale_signature_is_refused(world: World) -> None:
    """A request signed 20 minutes ago (AWS allows 15): SQS answers 403 SignatureDoesNotMatch, "Signature expired"."""
    clients = world.of("root")
    clients("sqs")  # made before the clock goes back
    with _in_the_past(20 * 60):
        outcome = CALL["sqs_send"].run(clients)
    assert (outcome.status, outcome.code) == (403, "SignatureDoesNotMatch"), outcome
    assert outcome.message.startswith("Signature expired: "), outcome
