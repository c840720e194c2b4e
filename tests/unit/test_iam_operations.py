"""Which IAM action(s) and resource ARN(s) a request is authorised against (:mod:`stratus.local.iam.operations`).

Sources (quoted in /tmp/iam-research.md section 7):
- the Service Authorization Reference,
  https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html;
- DynamoDB transactions: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html;
  Query on an index is authorised on ``table/T/index/I`` (https://github.com/ionic-team/ionic2-starter-aws/issues/7);
  BatchWriteItem as itself (https://github.com/chanzuckerberg/napari-hub/pull/1048);
- SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
  (the batch forms are granted by their single action);
- S3: the API Reference of each operation (HeadObject needs s3:GetObject, CopyObject s3:GetObject on the source and
  s3:PutObject on the copy, ListObjectVersions s3:ListBucketVersions), https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
  (s3:DeleteObject per key), the condition key s3:prefix
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html);
- Lambda: https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html (Invoke is
  lambda:InvokeFunction, the qualified ARN when a Qualifier is sent); FunctionName forms:
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html;
- Bedrock Runtime: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
  (bedrock:InvokeModel), inference profiles: https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html;
- STS: GetCallerIdentity needs no permission
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html); AssumeRole is authorised on
  the role (https://github.com/Netflix/security_monkey/issues/77).

``resolve`` takes the path decoded (the enforcer unquotes the raw path once).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from stratus.local.iam import operations
from stratus.local.iam.operations import Operation

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
SECRETS = {"db/password": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db/password-AbCdEf"}


def resolve(service: str, method: str = "POST", path: str = "/", query: str = "", *,
            headers: dict[str, str] | None = None, body: bytes = b"") -> Operation:  # fmt: skip
    return operations.resolve(service, method, path, query, headers or {}, body, region=REGION, account=ACCOUNT,
                              secret_arn=lambda region, name: SECRETS.get(name))  # fmt: skip


def json_call(service: str, target: str, data: dict[str, Any]) -> Operation:
    return resolve(service, headers={"x-amz-target": target}, body=json.dumps(data).encode())


def dynamodb(operation: str, **data: Any) -> Operation:
    return json_call("dynamodb", f"DynamoDB_20120810.{operation}", data)


def sqs(operation: str, **data: Any) -> Operation:
    return json_call("sqs", f"AmazonSQS.{operation}", data)


def secrets(operation: str, **data: Any) -> Operation:
    return json_call("secretsmanager", f"secretsmanager.{operation}", data)


def test_json_target() -> None:
    assert operations.json_target({"x-amz-target": "DynamoDB_20120810.GetItem"}) == "GetItem"
    assert operations.json_target({}) == ""


# --- DynamoDB ----------------------------------------------------------------------------------------------------


def test_dynamodb_item_operation_on_its_table() -> None:
    op = dynamodb("GetItem", TableName="Games", Key={"pk": {"S": "a"}})
    assert (op.service, op.name) == ("dynamodb", "GetItem")
    assert op.checks == (("dynamodb:GetItem", f"{TABLE}/Games"),)


@pytest.mark.parametrize("operation", ["Query", "Scan"])
def test_dynamodb_query_and_scan_on_an_index(operation: str) -> None:
    assert dynamodb(operation, TableName="Games", IndexName="ByScore").checks == (
        (f"dynamodb:{operation}", f"{TABLE}/Games/index/ByScore"),
    )
    assert dynamodb(operation, TableName="Games").checks == ((f"dynamodb:{operation}", f"{TABLE}/Games"),)


def test_dynamodb_table_given_as_arn() -> None:
    arn = "arn:aws:dynamodb:us-west-2:999999999999:table/Other"
    assert dynamodb("PutItem", TableName=arn, Item={}).checks == (("dynamodb:PutItem", arn),)
    assert dynamodb("Query", TableName=arn, IndexName="I").checks == (("dynamodb:Query", f"{arn}/index/I"),)


@pytest.mark.parametrize("operation", ["BatchGetItem", "BatchWriteItem"])
def test_dynamodb_batch_is_its_own_action_on_every_table(operation: str) -> None:
    op = dynamodb(operation, RequestItems={"Games": {}, "Players": {}})
    assert op.checks == (
        (f"dynamodb:{operation}", f"{TABLE}/Games"),
        (f"dynamodb:{operation}", f"{TABLE}/Players"),
    )


def test_dynamodb_transact_write_items_per_item() -> None:
    items = [
        {"Put": {"TableName": "Games", "Item": {}}},
        {"Update": {"TableName": "Players", "Key": {}}},
        {"Delete": {"TableName": "Games", "Key": {}}},
        {"ConditionCheck": {"TableName": "Scores", "Key": {}}},
        {"Put": {"TableName": "Games", "Item": {}}},  # the same check twice is asked once
    ]
    assert dynamodb("TransactWriteItems", TransactItems=items).checks == (
        ("dynamodb:PutItem", f"{TABLE}/Games"),
        ("dynamodb:UpdateItem", f"{TABLE}/Players"),
        ("dynamodb:DeleteItem", f"{TABLE}/Games"),
        ("dynamodb:ConditionCheckItem", f"{TABLE}/Scores"),
    )


def test_dynamodb_transact_get_items_as_get_item() -> None:
    items = [{"Get": {"TableName": "Games", "Key": {}}}, {"Get": {"TableName": "Players", "Key": {}}}]
    assert dynamodb("TransactGetItems", TransactItems=items).checks == (
        ("dynamodb:GetItem", f"{TABLE}/Games"),
        ("dynamodb:GetItem", f"{TABLE}/Players"),
    )


def test_dynamodb_without_a_table() -> None:
    assert dynamodb("ListTables").checks == (("dynamodb:ListTables", "*"),)
    arn = f"{TABLE}/Games"
    assert dynamodb("ListTagsOfResource", ResourceArn=arn).checks == (("dynamodb:ListTagsOfResource", arn),)


def test_dynamodb_body_that_is_not_json() -> None:
    op = resolve("dynamodb", headers={"x-amz-target": "DynamoDB_20120810.ListTables"}, body=b"{oops")
    assert op.checks == (("dynamodb:ListTables", "*"),)


# --- SQS ---------------------------------------------------------------------------------------------------------

QUEUE_URL = f"http://localhost:4566/{ACCOUNT}/jobs"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("SendMessage", "sqs:SendMessage"),
        ("SendMessageBatch", "sqs:SendMessage"),
        ("DeleteMessageBatch", "sqs:DeleteMessage"),
        ("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
        ("ReceiveMessage", "sqs:ReceiveMessage"),
        ("GetQueueAttributes", "sqs:GetQueueAttributes"),
    ],
)
def test_sqs_queue_from_its_url(operation: str, action: str) -> None:
    op = sqs(operation, QueueUrl=QUEUE_URL)
    assert (op.service, op.name, op.checks) == ("sqs", operation, ((action, QUEUE),))


def test_sqs_queue_url_of_another_account() -> None:
    op = sqs("SendMessage", QueueUrl="https://sqs.eu-west-1.amazonaws.com/999999999999/theirs/")
    assert op.checks == (("sqs:SendMessage", f"arn:aws:sqs:{REGION}:999999999999:theirs"),)


def test_sqs_get_queue_url_by_name() -> None:
    assert sqs("GetQueueUrl", QueueName="jobs").checks == (("sqs:GetQueueUrl", QUEUE),)
    assert sqs("GetQueueUrl", QueueName="jobs", QueueOwnerAWSAccountId="999999999999").checks == (
        ("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:999999999999:jobs"),
    )
    assert sqs("CreateQueue", QueueName="jobs").checks == (("sqs:CreateQueue", QUEUE),)


def test_sqs_list_queues() -> None:
    assert sqs("ListQueues").checks == (("sqs:ListQueues", "*"),)


def test_sqs_over_the_query_protocol() -> None:
    body = f"Action=SendMessageBatch&QueueUrl={QUEUE_URL}&SendMessageBatchRequestEntry.1.Id=a".encode()
    assert resolve("sqs", body=body).checks == (("sqs:SendMessage", QUEUE),)
    assert resolve("sqs", "GET", "/", "Action=GetQueueUrl&QueueName=jobs").checks == (("sqs:GetQueueUrl", QUEUE),)


# --- S3 ----------------------------------------------------------------------------------------------------------

OBJECT = "arn:aws:s3:::bucket/dir/my file é.txt"


def s3(
    method: str, path: str, query: str = "", *, headers: dict[str, str] | None = None, body: bytes = b""
) -> Operation:
    return resolve("s3", method, path, query, headers=headers, body=body)


@pytest.mark.parametrize(
    ("method", "query", "name", "check"),
    [
        ("GET", "", "GetObject", ("s3:GetObject", OBJECT)),
        ("HEAD", "", "HeadObject", ("s3:GetObject", OBJECT)),
        ("GET", "versionId=3HL4kqtJlcpXroDTDmJ", "GetObject", ("s3:GetObjectVersion", OBJECT)),
        ("HEAD", "versionId=3HL4kqtJlcpXroDTDmJ", "HeadObject", ("s3:GetObjectVersion", OBJECT)),
        ("GET", "response-content-type=text/plain", "GetObject", ("s3:GetObject", OBJECT)),
        ("PUT", "", "PutObject", ("s3:PutObject", OBJECT)),
        ("DELETE", "", "DeleteObject", ("s3:DeleteObject", OBJECT)),
        ("DELETE", "versionId=1", "DeleteObject", ("s3:DeleteObjectVersion", OBJECT)),
        ("POST", "uploads", "CreateMultipartUpload", ("s3:PutObject", OBJECT)),
        ("PUT", "partNumber=1&uploadId=abc", "UploadPart", ("s3:PutObject", OBJECT)),
        ("POST", "uploadId=abc", "CompleteMultipartUpload", ("s3:PutObject", OBJECT)),
        ("DELETE", "uploadId=abc", "AbortMultipartUpload", ("s3:AbortMultipartUpload", OBJECT)),
        ("GET", "uploadId=abc", "ListParts", ("s3:ListMultipartUploadParts", OBJECT)),
        ("GET", "tagging", "GetObjectTagging", ("s3:GetObjectTagging", OBJECT)),
        ("PUT", "tagging", "PutObjectTagging", ("s3:PutObjectTagging", OBJECT)),
        ("DELETE", "tagging", "DeleteObjectTagging", ("s3:DeleteObjectTagging", OBJECT)),
    ],
)
def test_s3_object_operations(method: str, query: str, name: str, check: tuple[str, str]) -> None:
    op = s3(method, "/bucket/dir/my file é.txt", query)
    assert (op.service, op.name, op.checks) == ("s3", name, (check,))


def test_s3_copy_needs_put_on_the_copy_and_get_on_the_source() -> None:
    op = s3("PUT", "/bucket/copy.txt", headers={"x-amz-copy-source": "/src-bucket/dir/my%20file%20%C3%A9.txt"})
    assert op.name == "CopyObject"
    assert op.checks == (
        ("s3:PutObject", "arn:aws:s3:::bucket/copy.txt"),
        ("s3:GetObject", "arn:aws:s3:::src-bucket/dir/my file é.txt"),
    )


def test_s3_copy_of_a_version_and_upload_part_copy() -> None:
    op = s3("PUT", "/bucket/copy.txt", headers={"x-amz-copy-source": "src/a.txt?versionId=v1"})
    assert op.checks[1] == ("s3:GetObjectVersion", "arn:aws:s3:::src/a.txt")
    part = s3("PUT", "/bucket/big", "partNumber=2&uploadId=u", headers={"x-amz-copy-source": "src/a.txt"})
    assert part.name == "UploadPart"
    assert part.checks == (("s3:PutObject", "arn:aws:s3:::bucket/big"), ("s3:GetObject", "arn:aws:s3:::src/a.txt"))


def test_s3_copy_source_key_with_an_encoded_question_mark() -> None:
    op = s3("PUT", "/bucket/copy.txt", headers={"x-amz-copy-source": "src/a%3Fb.txt"})
    assert op.checks[1] == ("s3:GetObject", "arn:aws:s3:::src/a?b.txt")


def test_s3_delete_objects_is_delete_object_per_key() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>'
        b"<Object><Key>a.txt</Key></Object><Object><Key>dir/b &amp; c.txt</Key></Object></Delete>"
    )
    op = s3("POST", "/bucket", "delete", body=body)
    assert op.name == "DeleteObjects"
    assert op.checks == (
        ("s3:DeleteObject", "arn:aws:s3:::bucket/a.txt"),
        ("s3:DeleteObject", "arn:aws:s3:::bucket/dir/b & c.txt"),
    )
    assert s3("POST", "/bucket/", "delete", body=b"<not xml").checks == ()


def test_s3_list_objects_with_prefix_gives_condition_keys() -> None:
    op = s3("GET", "/bucket", "list-type=2&prefix=home%2Falice%2F&delimiter=%2F&max-keys=10")
    assert op.name == "ListObjectsV2"
    assert op.checks == (("s3:ListBucket", "arn:aws:s3:::bucket"),)
    assert op.context == {"s3:prefix": "home/alice/", "s3:delimiter": "/", "s3:max-keys": "10"}
    plain = s3("GET", "/bucket/")
    assert (plain.name, plain.checks, plain.context) == ("ListObjects", (("s3:ListBucket", "arn:aws:s3:::bucket"),), {})


@pytest.mark.parametrize(
    ("method", "query", "name", "action"),
    [
        ("HEAD", "", "HeadBucket", "s3:ListBucket"),
        ("GET", "versions", "ListBucketVersions", "s3:ListBucketVersions"),
        ("GET", "versions&prefix=a", "ListBucketVersions", "s3:ListBucketVersions"),
        ("GET", "uploads", "ListBucketMultipartUploads", "s3:ListBucketMultipartUploads"),
        ("GET", "location", "GetBucketLocation", "s3:GetBucketLocation"),
        ("PUT", "", "CreateBucket", "s3:CreateBucket"),
        ("DELETE", "", "DeleteBucket", "s3:DeleteBucket"),
        ("GET", "policy", "GetBucketPolicy", "s3:GetBucketPolicy"),
        ("PUT", "policy", "PutBucketPolicy", "s3:PutBucketPolicy"),
        ("DELETE", "policy", "DeleteBucketPolicy", "s3:DeleteBucketPolicy"),
        ("PUT", "versioning", "PutBucketVersioning", "s3:PutBucketVersioning"),
        ("DELETE", "tagging", "PutBucketTagging", "s3:PutBucketTagging"),  # DeleteBucketTagging's permission
        ("DELETE", "cors", "PutBucketCORS", "s3:PutBucketCORS"),
        ("PUT", "notification", "PutBucketNotification", "s3:PutBucketNotification"),
    ],
)
def test_s3_bucket_operations(method: str, query: str, name: str, action: str) -> None:
    op = s3(method, "/bucket", query)
    assert (op.name, op.checks) == (name, ((action, "arn:aws:s3:::bucket"),))


def test_s3_list_all_my_buckets() -> None:
    op = s3("GET", "/")
    assert (op.name, op.checks) == ("ListBuckets", (("s3:ListAllMyBuckets", "*"),))


# --- Secrets Manager ---------------------------------------------------------------------------------------------


def test_secret_by_name_is_authorised_on_its_arn_and_shown_by_name() -> None:
    op = secrets("GetSecretValue", SecretId="db/password")
    arn = SECRETS["db/password"]
    assert op.checks == (("secretsmanager:GetSecretValue", arn),)
    assert op.shown == {arn: "db/password"}


def test_secret_by_arn() -> None:
    arn = SECRETS["db/password"]
    op = secrets("DescribeSecret", SecretId=arn)
    assert (op.checks, dict(op.shown)) == ((("secretsmanager:DescribeSecret", arn),), {})


def test_unknown_secret_name() -> None:
    op = secrets("GetSecretValue", SecretId="nope")
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:nope"
    assert op.checks == (("secretsmanager:GetSecretValue", arn),)
    assert op.shown == {arn: "nope"}


def test_secrets_without_a_secret() -> None:
    assert secrets("ListSecrets").checks == (("secretsmanager:ListSecrets", "*"),)
    create = secrets("CreateSecret", Name="new", SecretString="x")
    assert create.checks == (("secretsmanager:CreateSecret", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:new"),)


# --- Lambda ------------------------------------------------------------------------------------------------------

FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-function"


def test_lambda_invoke() -> None:
    op = resolve("lambda", "POST", "/2015-03-31/functions/my-function/invocations")
    assert (op.service, op.name, op.checks) == ("lambda", "InvokeFunction", (("lambda:InvokeFunction", FUNCTION),))


def test_lambda_invoke_with_qualifier_is_on_the_qualified_arn() -> None:
    op = resolve("lambda", "POST", "/2015-03-31/functions/my-function/invocations", "Qualifier=live")
    assert op.checks == (("lambda:InvokeFunction", f"{FUNCTION}:live"),)


def test_lambda_function_named_by_arn() -> None:
    op = resolve("lambda", "POST", f"/2015-03-31/functions/{FUNCTION}/invocations")
    assert op.checks == (("lambda:InvokeFunction", FUNCTION),)
    qualified = resolve("lambda", "POST", f"/2015-03-31/functions/{FUNCTION}:3/invocations")
    assert qualified.checks == (("lambda:InvokeFunction", f"{FUNCTION}:3"),)
    named = resolve("lambda", "POST", "/2015-03-31/functions/my-function:live/invocations")
    assert named.checks == (("lambda:InvokeFunction", f"{FUNCTION}:live"),)  # the name:alias form
    other = "arn:aws:lambda:us-east-1:999999999999:function:theirs"
    assert resolve("lambda", "POST", f"/2015-03-31/functions/{other}/invocations").checks == (
        ("lambda:InvokeFunction", other),
    )


def test_lambda_function_named_by_partial_arn() -> None:
    op = resolve("lambda", "POST", f"/2015-03-31/functions/{ACCOUNT}:function:my-function/invocations")
    assert op.checks == (("lambda:InvokeFunction", FUNCTION),)


def test_lambda_other_operations() -> None:
    assert resolve("lambda", "POST", "/2015-03-31/functions/my-function/invoke-async/").checks == (
        ("lambda:InvokeFunction", FUNCTION),
    )
    get = resolve("lambda", "GET", "/2015-03-31/functions/my-function")
    assert (get.name, get.checks) == ("GetFunction", (("lambda:GetFunction", FUNCTION),))
    config = resolve("lambda", "GET", "/2015-03-31/functions/my-function/configuration")
    assert config.checks == (("lambda:GetFunctionConfiguration", FUNCTION),)
    listing = resolve("lambda", "GET", "/2015-03-31/functions/")
    assert (listing.name, listing.checks) == ("ListFunctions", (("lambda:ListFunctions", "*"),))


# --- Bedrock Runtime ---------------------------------------------------------------------------------------------

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("converse", "bedrock:InvokeModel"),
        ("invoke", "bedrock:InvokeModel"),
        ("converse-stream", "bedrock:InvokeModelWithResponseStream"),
        ("invoke-with-response-stream", "bedrock:InvokeModelWithResponseStream"),
    ],
)
def test_bedrock_model_invocation(operation: str, action: str) -> None:
    op = resolve("bedrock", "POST", f"/model/{MODEL}/{operation}")
    assert (op.service, op.name) == ("bedrock", operation)
    assert op.checks == ((action, f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}"),)


def test_bedrock_model_given_as_arn() -> None:
    # botocore sends the model id as one path segment: an ARN's "/" and ":" percent-encoded
    arn = f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}"
    encoded = quote(arn, safe="")
    assert resolve("bedrock", "POST", f"/model/{encoded}/converse").checks == (("bedrock:InvokeModel", arn),)


def test_bedrock_inference_profile_id() -> None:
    op = resolve("bedrock", "POST", f"/model/us.{MODEL}/converse")
    assert op.checks[0] == ("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.{MODEL}")


# --- STS and the rest --------------------------------------------------------------------------------------------


def test_sts_get_caller_identity_needs_no_permission() -> None:
    op = resolve("sts", body=b"Action=GetCallerIdentity&Version=2011-06-15")
    assert (op.service, op.name, op.checks) == ("sts", "GetCallerIdentity", ())
    assert resolve("sts", "GET", "/", "Action=GetCallerIdentity&Version=2011-06-15").checks == ()


def test_sts_assume_role_is_on_the_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/worker"
    op = resolve("sts", body=f"Action=AssumeRole&RoleArn={role}&RoleSessionName=s".encode())
    assert op.checks == (("sts:AssumeRole", role),)


def test_unknown_service_is_service_operation_on_everything() -> None:
    assert json_call("kms", "TrentService.Encrypt", {"KeyId": "k"}).checks == (("kms:Encrypt", "*"),)
    query = resolve("iam", body=b"Action=ListRoles&Version=2010-05-08")
    assert (query.name, query.checks) == ("ListRoles", (("iam:ListRoles", "*"),))
    assert resolve("sts", body=b"Action=GetSessionToken").checks == (("sts:GetSessionToken", "*"),)
