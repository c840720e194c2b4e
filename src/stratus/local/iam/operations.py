"""What IAM authorises a request against: its action(s) and resource ARN(s), per service and operation.

AWS authorises most operations as ``service:Operation`` on the resource the request names, and some as other
actions or on several resources. Those this module knows (the services a Stratus stack uses), each as AWS
documents it in the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):

- DynamoDB: the table in ``TableName`` (a name or an ARN); ``Query``/``Scan`` with ``IndexName`` on
  ``table/T/index/I``; ``BatchGetItem``/``BatchWriteItem`` on every table of ``RequestItems``;
  ``TransactWriteItems`` as ``PutItem``/``UpdateItem``/``DeleteItem``/``ConditionCheckItem`` per item and
  ``TransactGetItems`` as ``GetItem`` per item; ``ListTables`` on ``*``.
- SQS: the queue of ``QueueUrl`` (or ``QueueName``); the ``...Batch`` operations as their single action
  (``SendMessageBatch`` needs ``sqs:SendMessage``); ``ListQueues`` on ``*``.
- S3 (path-style): ``GetObject`` for GET and HEAD of an object (``GetObjectVersion`` with ``versionId``),
  ``PutObject`` for PUT and for every step of a multipart upload, with ``GetObject`` on the source of a copy,
  ``DeleteObject`` per key of a ``DeleteObjects``, ``AbortMultipartUpload``, ``ListBucket`` for listing and
  HEAD of a bucket (``ListBucketVersions``, ``ListBucketMultipartUploads``), ``ListAllMyBuckets`` on ``*``, and
  the bucket's configuration subresources.
- Secrets Manager: the secret of ``SecretId``, resolved to its ARN when given by name.
- Lambda: ``InvokeFunction`` on the function's ARN (with ``:qualifier`` when one is named), ``GetFunction``,
  ``GetFunctionConfiguration``, ``ListFunctions`` on ``*``.
- Bedrock Runtime: ``Converse`` and ``InvokeModel`` as ``bedrock:InvokeModel``, their streaming forms as
  ``bedrock:InvokeModelWithResponseStream``, on ``arn:aws:bedrock:REGION::foundation-model/ID``.
- STS: ``GetCallerIdentity`` needs no permission; everything else of every other service is
  ``service:Operation`` on ``*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree

Check = tuple[str, str]  # (action, resource ARN)
SecretArn = Callable[[str, str], str | None]  # (region, a secret's name) -> its ARN, when it exists there


@dataclass(frozen=True)
class Operation:
    service: str  # the signing name: dynamodb, sqs, s3, secretsmanager, lambda, bedrock, sts, ...
    name: str
    checks: tuple[Check, ...]
    context: Mapping[str, str] = field(default_factory=dict)  # service-specific condition keys
    shown: Mapping[str, str] = field(default_factory=dict)  # resource -> what AWS's message names instead


def json_target(headers: Mapping[str, str]) -> str:
    """The operation of a JSON-protocol request (``X-Amz-Target: Prefix.Operation``)."""
    return headers.get("x-amz-target", "").rpartition(".")[2]


def resolve(service: str, method: str, raw_path: str, query: str, headers: Mapping[str, str], body: bytes,
            *, region: str, account: str, secret_arn: SecretArn) -> Operation:  # fmt: skip
    """The checks for one request; ``raw_path`` as sent (percent-encoded)."""
    path = unquote(raw_path)
    params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    if service == "s3":
        return _s3(method, path, params, headers, body)
    if service == "lambda":
        return _lambda(method, path, params, region, account)
    if service == "bedrock":
        return _bedrock(raw_path, region, account)
    target = json_target(headers)
    if target:
        data = _json(body)
    else:  # the query protocol: Action in the query or the form body
        data = {**params, **dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))}
        target = str(data.get("Action", ""))
    if service == "dynamodb":
        return _dynamodb(target, data, region, account)
    if service == "sqs":
        return _sqs(target, data, region, account)
    if service == "secretsmanager":
        return _secrets(target, data, region, account, secret_arn)
    if service == "sts" and target == "GetCallerIdentity":
        return Operation(service, target, ())
    if service == "sts" and data.get("RoleArn"):  # AssumeRole and its kin: on the role
        return Operation(service, target, ((f"sts:{target}", str(data["RoleArn"])),))
    return Operation(service, target or f"{method} {path}", ((f"{service}:{target or '*'}", "*"),))


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- DynamoDB --------------------------------------------------------------------------------------------------

_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}  # fmt: skip


def _dynamodb(target: str, data: dict[str, Any], region: str, account: str) -> Operation:
    def table(name: Any) -> str:
        name = str(name)
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    checks: list[Check] = []
    if target in ("BatchGetItem", "BatchWriteItem"):
        checks = [(f"dynamodb:{target}", table(name)) for name in (data.get("RequestItems") or {})]
    elif target == "TransactWriteItems":
        for item in data.get("TransactItems") or []:
            for kind, action in _TRANSACT_WRITE.items():
                if isinstance(item, dict) and kind in item:
                    checks.append((f"dynamodb:{action}", table(item[kind].get("TableName", ""))))
    elif target == "TransactGetItems":
        for item in data.get("TransactItems") or []:
            if isinstance(item, dict) and "Get" in item:
                checks.append(("dynamodb:GetItem", table(item["Get"].get("TableName", ""))))
    elif "TableName" in data:
        resource = table(data["TableName"])
        if target in ("Query", "Scan") and data.get("IndexName"):
            resource = f"{resource}/index/{data['IndexName']}"
        checks = [(f"dynamodb:{target}", resource)]
    elif "ResourceArn" in data or "TableArn" in data:
        checks = [(f"dynamodb:{target}", str(data.get("ResourceArn") or data.get("TableArn")))]
    else:
        checks = [(f"dynamodb:{target}", "*")]
    return Operation("dynamodb", target, tuple(dict.fromkeys(checks)))


# --- SQS -------------------------------------------------------------------------------------------------------

_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}  # fmt: skip


def _sqs(target: str, data: dict[str, Any], region: str, account: str) -> Operation:
    action = f"sqs:{_SQS_BATCH.get(target, target)}"
    url = str(data.get("QueueUrl") or "")
    if url:
        parts = url.rstrip("/").split("/")
        owner, name = (parts[-2], parts[-1]) if len(parts) >= 2 else (account, parts[-1])
        return Operation("sqs", target, ((action, f"arn:aws:sqs:{region}:{owner}:{name}"),))
    if data.get("QueueName"):
        owner = str(data.get("QueueOwnerAWSAccountId") or account)
        return Operation("sqs", target, ((action, f"arn:aws:sqs:{region}:{owner}:{data['QueueName']}"),))
    return Operation("sqs", target, ((action, "*"),))


# --- Secrets Manager -------------------------------------------------------------------------------------------


def _secrets(target: str, data: dict[str, Any], region: str, account: str, secret_arn: SecretArn) -> Operation:
    action = f"secretsmanager:{target}"
    secret = str(data.get("SecretId") or data.get("Name") or "")
    if not secret:
        return Operation("secretsmanager", target, ((action, "*"),))
    if secret.startswith("arn:"):
        return Operation("secretsmanager", target, ((action, secret),))
    # Authorised against the secret's ARN; the message names the secret as the caller did.
    arn = secret_arn(region, secret) or f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
    return Operation("secretsmanager", target, ((action, arn),), shown={arn: secret})


# --- Lambda ----------------------------------------------------------------------------------------------------

_LAMBDA = re.compile(r"^/(?P<version>[0-9-]+)/functions/?(?P<name>[^/]*)(?P<rest>/.*)?$")


def _lambda(method: str, path: str, params: dict[str, str], region: str, account: str) -> Operation:
    match = _LAMBDA.match(path)
    if match is None:
        return Operation("lambda", f"{method} {path}", ((f"lambda:{method}", "*"),))
    name, rest = match["name"], (match["rest"] or "").rstrip("/")
    if not name:
        return Operation("lambda", "ListFunctions", (("lambda:ListFunctions", "*"),))
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:  # a partial ARN: ACCOUNT:function:NAME[:QUALIFIER]
        arn = f"arn:aws:lambda:{region}:{name}"
    else:  # NAME[:QUALIFIER]
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    if params.get("Qualifier") and arn.count(":") == 6:
        arn = f"{arn}:{params['Qualifier']}"
    operation = {
        ("POST", "/invocations"): "InvokeFunction",
        ("POST", "/invoke-async"): "InvokeAsync",
        ("GET", ""): "GetFunction",
        ("GET", "/configuration"): "GetFunctionConfiguration",
    }.get((method, rest), f"{method}{rest or ' function'}")
    action = "lambda:InvokeFunction" if operation == "InvokeAsync" else f"lambda:{operation}"
    return Operation("lambda", operation, ((action, arn),))


# --- Bedrock Runtime -------------------------------------------------------------------------------------------

_BEDROCK = re.compile(
    r"^/model/(?P<model>[^/]+)/(?P<operation>converse|converse-stream|invoke|invoke-with-response-stream)$"
)
# Cross-region inference profiles: a geography (or global) before the model's id.
_PROFILE = re.compile(r"^(us|eu|apac|us-gov|jp|au|ca|global)\.")


def _bedrock(raw_path: str, region: str, account: str) -> Operation:
    match = _BEDROCK.match(raw_path)  # the model id is one encoded segment, even when it is an ARN
    if match is None:
        return Operation("bedrock", unquote(raw_path), (("bedrock:*", "*"),))
    model = unquote(match["model"])
    if model.startswith("arn:"):
        arn = model
    elif _PROFILE.match(model):
        arn = f"arn:aws:bedrock:{region}:{account}:inference-profile/{model}"
    else:
        arn = f"arn:aws:bedrock:{region}::foundation-model/{model}"
    streaming = match["operation"] in ("converse-stream", "invoke-with-response-stream")
    action = "bedrock:InvokeModelWithResponseStream" if streaming else "bedrock:InvokeModel"
    return Operation("bedrock", match["operation"], ((action, arn),))


# --- S3 --------------------------------------------------------------------------------------------------------

# Bucket subresources: query key -> (action for GET, for PUT, for DELETE).
_BUCKET_SUB = {
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    "location": ("GetBucketLocation", None, None),
    "versions": ("ListBucketVersions", None, None),
    "uploads": ("ListBucketMultipartUploads", None, None),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
}
_OBJECT_SUB = {
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
    "acl": ("GetObjectAcl", "PutObjectAcl", None),
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None),
    "attributes": ("GetObjectAttributes", None, None),
}


def _s3(method: str, path: str, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Operation:
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return Operation("s3", "ListBuckets", (("s3:ListAllMyBuckets", "*"),))
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not key:
        return _s3_bucket(method, bucket_arn, params, body)
    object_arn = f"{bucket_arn}/{key}"
    index = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}.get(method)
    for sub, actions in _OBJECT_SUB.items():
        if sub in params and index is not None and actions[index]:
            return Operation("s3", str(actions[index]), ((f"s3:{actions[index]}", object_arn),))
    if method in ("GET", "HEAD"):
        if "uploadId" in params:
            return Operation("s3", "ListParts", (("s3:ListMultipartUploadParts", object_arn),))
        action = "GetObjectVersion" if params.get("versionId") else "GetObject"
        return Operation("s3", "HeadObject" if method == "HEAD" else "GetObject", ((f"s3:{action}", object_arn),))
    if method == "DELETE":
        if "uploadId" in params:
            return Operation("s3", "AbortMultipartUpload", (("s3:AbortMultipartUpload", object_arn),))
        action = "DeleteObjectVersion" if params.get("versionId") else "DeleteObject"
        return Operation("s3", "DeleteObject", ((f"s3:{action}", object_arn),))
    checks: list[Check] = [("s3:PutObject", object_arn)]
    source = headers.get("x-amz-copy-source")
    if method == "PUT" and source:
        source_path, _, source_query = source.lstrip("/").partition("?")  # split first: a key may hold "?"
        action = "GetObjectVersion" if "versionId=" in source_query else "GetObject"
        checks.append((f"s3:{action}", f"arn:aws:s3:::{unquote(source_path)}"))
    name = "UploadPart" if "partNumber" in params else "CopyObject" if source else "PutObject"
    if method == "POST":
        name = "CreateMultipartUpload" if "uploads" in params else "CompleteMultipartUpload"
    return Operation("s3", name, tuple(checks))


def _s3_bucket(method: str, bucket_arn: str, params: dict[str, str], body: bytes) -> Operation:
    index = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}.get(method)
    for sub, actions in _BUCKET_SUB.items():
        if sub in params and index is not None and actions[index]:
            return Operation("s3", str(actions[index]), ((f"s3:{actions[index]}", bucket_arn),))
    if method == "POST" and "delete" in params:
        keys = _delete_keys(body)
        return Operation("s3", "DeleteObjects", tuple(("s3:DeleteObject", f"{bucket_arn}/{k}") for k in keys))
    if method in ("GET", "HEAD"):
        context = {"s3:prefix": params["prefix"]} if "prefix" in params else {}
        if "delimiter" in params:
            context["s3:delimiter"] = params["delimiter"]
        if "max-keys" in params:
            context["s3:max-keys"] = params["max-keys"]
        listing = "ListObjectsV2" if params.get("list-type") == "2" else "ListObjects"
        name = "HeadBucket" if method == "HEAD" else listing
        return Operation("s3", name, (("s3:ListBucket", bucket_arn),), context)
    if method == "PUT":
        return Operation("s3", "CreateBucket", (("s3:CreateBucket", bucket_arn),))
    if method == "DELETE":
        return Operation("s3", "DeleteBucket", (("s3:DeleteBucket", bucket_arn),))
    return Operation("s3", f"{method} bucket", ((f"s3:{method}", bucket_arn),))


def _delete_keys(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - a local client's own request body
    except ElementTree.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.rpartition("}")[2] == "Key"]
