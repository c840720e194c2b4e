"""AWS-shaped refusals (:mod:`stratus.local.iam.errors`), read back by botocore's own response parsers.

Each answer is parsed with ``botocore.parsers.create_parser(protocol)`` against the real service model, as a client
of that service parses it, so a test passing means an SDK raises ``ClientError`` with that ``Error.Code`` and status.

The expected codes, statuses and texts are AWS's, from captures gathered in /tmp/iam-research.md sections 0-5 (e.g.
DynamoDB 400 AccessDeniedException https://github.com/sebdah/dynamic-dynamodb/issues/321; SQS 403 with
``x-amzn-query-error: AccessDenied;Sender`` and the action in lower case
https://github.com/aws/serverless-application-model/issues/3633; S3 403 AccessDenied with the resource in quotes
https://github.com/aws-ia/terraform-aws-bedrock/issues/41; Lambda 403 https://github.com/awslabs/aws-deployment-framework/issues/460;
STS 403 https://github.com/Netflix/security_monkey/issues/77; S3 RequestTimeTooSkewed 403
https://github.com/aws/aws-sdk-php/issues/612), and the message forms of
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html.
"""

from __future__ import annotations

import functools
import json
from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from stratus.local.iam import errors, policy
from stratus.local.iam.errors import Refusal

PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/api-role/session"

# service -> (botocore model, an operation of it, whether the client speaks a JSON protocol)
SERVICES = {
    "dynamodb": ("dynamodb", "GetItem", True),
    "secretsmanager": ("secretsmanager", "GetSecretValue", True),
    "sqs": ("sqs", "SendMessage", True),
    "s3": ("s3", "GetObject", False),
    "lambda": ("lambda", "Invoke", False),
    "bedrock": ("bedrock-runtime", "Converse", False),
    "sts": ("sts", "AssumeRole", False),
}
FAMILY = {"dynamodb": "json", "secretsmanager": "json", "sqs": "sqs", "s3": "s3", "lambda": "rest",
          "bedrock": "rest", "sts": "query"}  # fmt: skip

# kind -> family -> (code, status), as AWS answers
EXPECTED: dict[str, dict[str, tuple[str, int]]] = {
    "denied": {"json": ("AccessDeniedException", 400), "sqs": ("AccessDenied", 403), "s3": ("AccessDenied", 403),
               "rest": ("AccessDeniedException", 403), "query": ("AccessDenied", 403)},
    "unsigned": {"json": ("MissingAuthenticationTokenException", 400), "sqs": ("MissingAuthenticationToken", 403),
                 "s3": ("AccessDenied", 403), "rest": ("MissingAuthenticationTokenException", 403),
                 "query": ("MissingAuthenticationToken", 403)},
    "unknown-key": {"json": ("UnrecognizedClientException", 400), "sqs": ("InvalidClientTokenId", 403),
                    "s3": ("InvalidAccessKeyId", 403), "rest": ("UnrecognizedClientException", 403),
                    "query": ("InvalidClientTokenId", 403)},
    "invalid-token": {"json": ("UnrecognizedClientException", 400), "sqs": ("InvalidClientTokenId", 403),
                      "s3": ("InvalidToken", 400), "rest": ("UnrecognizedClientException", 403),
                      "query": ("InvalidClientTokenId", 403)},
    "signature": {"json": ("InvalidSignatureException", 400), "sqs": ("SignatureDoesNotMatch", 403),
                  "s3": ("SignatureDoesNotMatch", 403), "rest": ("InvalidSignatureException", 403),
                  "query": ("SignatureDoesNotMatch", 403)},
    "stale": {"json": ("InvalidSignatureException", 400), "sqs": ("SignatureDoesNotMatch", 403),
              "s3": ("RequestTimeTooSkewed", 403), "rest": ("InvalidSignatureException", 403),
              "query": ("SignatureDoesNotMatch", 403)},
    "expired": {"json": ("ExpiredTokenException", 400), "sqs": ("ExpiredToken", 403), "s3": ("ExpiredToken", 400),
                "rest": ("ExpiredTokenException", 403), "query": ("ExpiredToken", 403)},
    "malformed": {"json": ("IncompleteSignatureException", 400), "sqs": ("IncompleteSignature", 400),
                  "s3": ("AuthorizationHeaderMalformed", 400), "rest": ("IncompleteSignatureException", 403),
                  "query": ("IncompleteSignature", 400)},
    # S3 checks a body against its declared x-amz-content-sha256 (botocore's S3 model: XAmzContentSHA256Mismatch);
    # elsewhere a changed body is a signature that does not match.
    "content-sha256": {"json": ("InvalidSignatureException", 400), "sqs": ("SignatureDoesNotMatch", 403),
                       "s3": ("XAmzContentSHA256Mismatch", 400), "rest": ("InvalidSignatureException", 403),
                       "query": ("SignatureDoesNotMatch", 403)},
}  # fmt: skip


@functools.cache
def _model(name: str):  # type: ignore[no-untyped-def]
    return botocore.session.get_session().get_service_model(name)


def parsed(service: str, answer: tuple[int, list[tuple[str, str]], bytes]) -> dict:  # type: ignore[type-arg]
    """botocore's reading of ``answer``, as the service's client reads it."""
    model_name, operation, _ = SERVICES[service]
    model = _model(model_name)
    status, headers, body = answer
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    return create_parser(model.metadata["protocol"]).parse(response, model.operation_model(operation).output_shape)


def render(service: str, refusal: Refusal, **kwargs: object) -> tuple[int, list[tuple[str, str]], bytes]:
    return errors.render(service, refusal, json_protocol=SERVICES[service][2], **kwargs)  # type: ignore[arg-type]


CASES = [
    pytest.param(service, kind, id=f"{service}-{kind}",
                 )
    for kind in EXPECTED for service in SERVICES
]  # fmt: skip


@pytest.mark.parametrize(("service", "kind"), CASES)
def test_refusal_status_and_code_as_the_sdk_reads_them(service: str, kind: str) -> None:
    code, status = EXPECTED[kind][FAMILY[service]]
    answer = render(service, Refusal(kind, "why"))  # type: ignore[arg-type]
    assert answer[0] == status
    result = parsed(service, answer)
    assert result["Error"]["Code"] == code
    assert result["Error"]["Message"] == "why"
    assert result["ResponseMetadata"]["HTTPStatusCode"] == status


def test_codes_table_covers_every_kind_and_family() -> None:
    families = {"json", "sqs", "s3", "rest", "query"}
    assert set(errors.CODES) == set(EXPECTED)
    assert all(set(by_family) == families for by_family in errors.CODES.values())


@pytest.mark.parametrize(
    ("service", "json_protocol", "family"),
    [("s3", False, "s3"), ("sqs", True, "sqs"), ("lambda", False, "rest"), ("bedrock", False, "rest"),
     ("dynamodb", True, "json"), ("secretsmanager", True, "json"), ("sts", False, "query"), ("iam", False, "query")],
)  # fmt: skip
def test_family(service: str, json_protocol: bool, family: str) -> None:
    assert errors.family(service, json_protocol=json_protocol) == family


# --- wire shapes -------------------------------------------------------------------------------------------------


def test_s3_error_is_xml() -> None:
    message = 'User: x is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/a&b<c>"'
    status, headers, body = errors.render("s3", Refusal("denied", message), json_protocol=False,
                                          request_id="0123456789abcdef-more")  # fmt: skip
    root = ElementTree.fromstring(body)
    assert status == 403
    assert root.tag == "Error"
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == message
    assert root.findtext("RequestId") == "0123456789ABCDEF"
    assert ("x-amz-request-id", "0123456789ABCDEF") in headers
    assert ("Content-Type", "application/xml") in headers


def test_s3_head_refusal_has_no_body() -> None:
    status, headers, body = errors.render("s3", Refusal("denied", "no"), json_protocol=False, method="HEAD")
    assert (status, body) == (403, b"")
    # what botocore makes of a body-less HEAD error, as against S3: the status as the code
    assert parsed("s3", (status, headers, body))["Error"]["Code"] == "403"


def test_query_protocol_error_is_xml() -> None:
    status, headers, body = errors.render("sts", Refusal("denied", "a & b"), json_protocol=False, request_id="rid")
    root = ElementTree.fromstring(body)
    assert status == 403
    assert root.tag == "ErrorResponse"
    assert root.findtext("Error/Type") == "Sender"
    assert root.findtext("Error/Code") == "AccessDenied"
    assert root.findtext("Error/Message") == "a & b"
    assert root.findtext("RequestId") == "rid"
    assert ("Content-Type", "text/xml") in headers


def test_json_error_shapes() -> None:
    _, headers, body = errors.render("dynamodb", Refusal("denied", "m"), json_protocol=True, request_id="rid")
    assert json.loads(body) == {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": "m"}
    assert ("Content-Type", "application/x-amz-json-1.0") in headers
    assert ("x-amzn-RequestId", "rid") in headers
    _, headers, body = errors.render("secretsmanager", Refusal("unsigned"), json_protocol=True)
    assert ("Content-Type", "application/x-amz-json-1.1") in headers
    assert json.loads(body) == {
        "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token",
    }


def test_sqs_json_error_carries_the_query_error_header() -> None:
    status, headers, body = errors.render("sqs", Refusal("denied", "m"), json_protocol=True)
    assert ("x-amzn-query-error", "AccessDenied;Sender") in headers
    assert json.loads(body)["__type"] == "com.amazon.coral.service#AccessDeniedException"
    error = parsed("sqs", (status, headers, body))["Error"]
    assert (error["Code"], error["Type"]) == ("AccessDenied", "Sender")


def test_rest_error_carries_the_error_type_header() -> None:
    _, headers, body = errors.render("lambda", Refusal("denied", "m"), json_protocol=False)
    assert dict(headers)["x-amzn-ErrorType"].split(":")[0] == "AccessDeniedException"
    assert json.loads(body) == {"Type": "User", "Message": "m"}
    _, headers, body = errors.render("bedrock", Refusal("signature"), json_protocol=False)
    assert dict(headers)["x-amzn-ErrorType"].split(":")[0] == "InvalidSignatureException"
    assert set(json.loads(body)) == {"message"}


def test_sqs_over_the_query_protocol_gets_xml() -> None:
    status, headers, body = errors.render("sqs", Refusal("denied", "m"), json_protocol=False)
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    assert ElementTree.fromstring(body).findtext("Error/Code") == "AccessDenied"
    assert create_parser("query").parse(response, None)["Error"]["Code"] == "AccessDenied"


# --- standard texts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "kind", "message"),
    [
        ("dynamodb", "unsigned", "Request is missing Authentication Token"),
        ("sts", "unsigned", "Request is missing Authentication Token"),
        ("lambda", "unsigned", "Missing Authentication Token"),
        ("s3", "unsigned", "Access Denied"),
        ("dynamodb", "unknown-key", "The security token included in the request is invalid."),
        ("s3", "unknown-key", "The AWS Access Key Id you provided does not exist in our records."),
        ("s3", "invalid-token", "The provided token is malformed or otherwise invalid."),
        ("sqs", "signature", "The request signature we calculated does not match the signature you provided. Check "
                             "your AWS Secret Access Key and signing method. Consult the service documentation for "
                             "details."),
        ("s3", "signature", "The request signature we calculated does not match the signature you provided. Check "
                            "your key and signing method."),
        ("dynamodb", "expired", "The security token included in the request is expired"),
        ("s3", "expired", "The provided token has expired."),
    ],
)  # fmt: skip
def test_standard_messages(service: str, kind: str, message: str) -> None:
    assert parsed(service, render(service, Refusal(kind)))["Error"]["Message"] == message  # type: ignore[arg-type]


# --- denied_message ----------------------------------------------------------------------------------------------


def test_denied_message_implicit_deny() -> None:
    table = "arn:aws:dynamodb:eu-west-2:123456789012:table/Games"
    assert errors.denied_message(PRINCIPAL, "dynamodb:Query", table, "no-allow", service="dynamodb") == (
        f"User: {PRINCIPAL} is not authorized to perform: dynamodb:Query on resource: {table} because no "
        "identity-based policy allows the dynamodb:Query action"
    )


def test_denied_message_sqs_prints_the_action_in_lower_case() -> None:
    queue = "arn:aws:sqs:us-west-2:123456789012:test"
    assert errors.denied_message(PRINCIPAL, "sqs:SendMessage", queue, "no-allow", service="sqs") == (
        f"User: {PRINCIPAL} is not authorized to perform: sqs:sendmessage on resource: {queue} because no "
        "identity-based policy allows the sqs:sendmessage action"
    )


def test_denied_message_s3_quotes_the_resource() -> None:
    key = "arn:aws:s3:::test-s3-docs/Amazon-2021-Annual-Report.pdf"
    assert errors.denied_message(PRINCIPAL, "s3:GetObject", key, "no-allow", service="s3") == (
        f'User: {PRINCIPAL} is not authorized to perform: s3:GetObject on resource: "{key}" because no '
        "identity-based policy allows the s3:GetObject action"
    )


def test_denied_message_explicit_deny() -> None:
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    message = errors.denied_message(PRINCIPAL, "bedrock:InvokeModelWithResponseStream", model, "explicit-deny",
                                    service="bedrock")  # fmt: skip
    assert message == (
        f"User: {PRINCIPAL} is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: {model} "
        "with an explicit deny in an identity-based policy"
    )
    assert not message.endswith(".")


def test_denied_message_session_policy() -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert errors.denied_message(PRINCIPAL, "lambda:InvokeFunction", function, "session-policy", service="lambda") == (
        f"User: {PRINCIPAL} is not authorized to perform: lambda:InvokeFunction on resource: {function} because no "
        "session policy allows the lambda:InvokeFunction action"
    )


def test_denied_message_without_a_resource() -> None:
    # The IAM doc's form for an action with no resource: "... perform: codecommit:ListRepositories because no ..."
    assert errors.denied_message(PRINCIPAL, "sqs:ListQueues", "*", "no-allow", service="sqs") == (
        f"User: {PRINCIPAL} is not authorized to perform: sqs:listqueues because no identity-based policy allows "
        "the sqs:listqueues action"
    )
    assert "on resource" not in errors.denied_message(PRINCIPAL, "s3:ListAllMyBuckets", "*", "explicit-deny",
                                                      service="s3")  # fmt: skip


def test_denied_message_for_a_deny_in_the_session_policy() -> None:
    allow_all = policy.from_data({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    session = policy.from_data({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                              {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})  # fmt: skip
    decision = policy.evaluate([allow_all], "s3:GetObject", "arn:aws:s3:::b/k", {}, session_policy=session)
    message = errors.denied_message(PRINCIPAL, "s3:GetObject", "arn:aws:s3:::b/k", decision.reason, service="s3")
    assert message.endswith("with an explicit deny in a session policy")
