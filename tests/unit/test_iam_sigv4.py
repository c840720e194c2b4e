"""Signature checks (:mod:`stratus.local.iam.sigv4`) against requests signed by botocore itself.

Every request here is signed by botocore's own signers (``SigV4Auth``, ``S3SigV4Auth``, ``SigV4QueryAuth``,
``S3SigV4QueryAuth``, ``HmacV1QueryAuth``) over an ``AWSRequest``, then handed to the verifier as a server receives
it: the path percent-encoded as sent, the raw query, lower-case header names (with the ``Host`` the HTTP client
adds), the body.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (canonical request, the
15-minute clock skew), https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (presigned
URLs, X-Amz-Expires at most 604800), https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
(Signature Version 2 query authentication); the skew messages as AWS words them: /tmp/iam-research.md section 4
(https://github.com/aws/aws-sdk-php/issues/642) and https://github.com/serverless/enterprise/issues/11.
"""

from __future__ import annotations

import dataclasses
import hashlib
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stratus.local.iam import sigv4
from stratus.local.iam.sigv4 import Malformed, Received, Unsigned

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", SECRET)
ENDPOINT = "http://localhost:4566"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-function"
S3_KEY = "reports/2024 Q1/résumé – final.txt"


def received(request: AWSRequest, *, presigned_url_only: bool = False) -> Received:
    """What the server receives for ``request`` once botocore has signed it.

    ``presigned_url_only``: the URL opened on its own (a browser, curl), so only ``Host`` is sent.
    """
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = {} if presigned_url_only else {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", url.netloc)  # added by the HTTP client, signed by botocore
    body = prepared.body or b""
    return Received(prepared.method, url.path, url.query, headers, body.encode() if isinstance(body, str) else body)


def checks(request: Received, secret: str = SECRET) -> bool:
    return sigv4.valid(sigv4.read(request), request, secret)


def dynamodb_request(*, token: str | None = None) -> Received:
    request = AWSRequest(
        "POST", f"{ENDPOINT}/", data=b'{"TableName":"T","Key":{"pk":{"S":"a"}}}',
        headers={"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0"},
    )  # fmt: skip
    SigV4Auth(Credentials(CREDS.access_key, SECRET, token), "dynamodb", "us-east-1").add_auth(request)
    return received(request)


def lambda_invoke() -> Received:
    url = f"{ENDPOINT}/2015-03-31/functions/{quote(LAMBDA_ARN, safe='')}/invocations?Qualifier=live"
    request = AWSRequest("POST", url, data=b'{"hello": "world"}', headers={"Content-Type": "application/json"})
    SigV4Auth(CREDS, "lambda", "us-east-1").add_auth(request)
    return received(request)


def s3_put() -> Received:
    request = AWSRequest("PUT", f"{ENDPOINT}/bucket/{quote(S3_KEY, safe='/~')}", data=b"hello",
                         headers={"Content-Type": "text/plain"})  # fmt: skip
    S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    return received(request)


def s3_presigned_get(expires: int = 600) -> Received:
    url = f"{ENDPOINT}/bucket/{quote(S3_KEY, safe='/~')}?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"
    request = AWSRequest("GET", url)
    S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=expires).add_auth(request)
    return received(request, presigned_url_only=True)


def sts_presigned() -> Received:
    request = AWSRequest("GET", f"{ENDPOINT}/", params={"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    SigV4QueryAuth(CREDS, "sts", "us-east-1", expires=900).add_auth(request)
    return received(request, presigned_url_only=True)


def s3_presigned_v2(*, token: str | None = "session-token", query: str = "") -> Received:
    disposition = quote('attachment; filename="r 1.txt"', safe="")
    url = f"{ENDPOINT}/bucket/{quote(S3_KEY, safe='/~')}?response-content-disposition={disposition}{query}"
    request = AWSRequest("GET", url)
    HmacV1QueryAuth(Credentials(CREDS.access_key, SECRET, token), expires=3600).add_auth(request)
    return received(request, presigned_url_only=True)


def with_headers(request: Received, **changes: str) -> Received:
    return dataclasses.replace(request, headers={**request.headers, **changes})


def with_query(request: Received, old: str, new: str) -> Received:
    assert old in request.query
    return dataclasses.replace(request, query=request.query.replace(old, new, 1))


# --- header signatures -------------------------------------------------------------------------------------------


def test_header_signature_is_read() -> None:
    request = dynamodb_request(token="FQoGZXIvYXdzE")
    signed = sigv4.read(request)
    assert (signed.access_key, signed.region, signed.service) == (CREDS.access_key, "us-east-1", "dynamodb")
    assert signed.date == signed.amz_date[:8]
    assert signed.amz_date == request.headers["x-amz-date"]
    assert signed.session_token == "FQoGZXIvYXdzE"
    assert "host" in signed.signed_headers and "x-amz-target" in signed.signed_headers
    assert not signed.presigned
    assert signed.scope == f"{signed.date}/us-east-1/dynamodb/aws4_request"


def test_header_signature_valid_only_with_the_right_secret() -> None:
    request = dynamodb_request()
    assert checks(request)
    assert not checks(request, SECRET[:-1] + "X")
    assert checks(dynamodb_request(token="tok"))  # the token is one more signed header


def test_tampered_signed_header_is_refused() -> None:
    request = dynamodb_request()
    assert not checks(with_headers(request, **{"x-amz-target": "DynamoDB_20120810.DeleteItem"}))
    assert not checks(with_headers(request, host="localhost:4567"))
    assert not checks(with_headers(request, **{"x-amz-date": "20200101T000000Z"}))


def test_unsigned_header_may_change() -> None:
    assert checks(with_headers(dynamodb_request(), **{"user-agent": "something/else"}))


def test_header_value_whitespace_is_trimmed_and_collapsed() -> None:
    request = dynamodb_request()
    target = request.headers["x-amz-target"]
    assert checks(with_headers(request, **{"x-amz-target": f"  {target}  "}))


def test_tampered_body_is_refused_for_services_that_sign_it() -> None:
    request = dynamodb_request()
    assert not checks(dataclasses.replace(request, body=request.body.replace(b'"a"', b'"b"')))
    invoke = lambda_invoke()
    assert not checks(dataclasses.replace(invoke, body=b'{"hello": "there"}'))


def test_body_hash_given_instead_of_the_body() -> None:
    # The local Invoke API forwards only the body's SHA-256 (enforcer._authorize_remote).
    invoke = lambda_invoke()
    forwarded = dataclasses.replace(invoke, body=b"", body_sha256=hashlib.sha256(invoke.body).hexdigest())
    assert checks(forwarded)
    assert not checks(dataclasses.replace(forwarded, body_sha256=hashlib.sha256(b"other").hexdigest()))


def test_tampered_method_path_or_query_is_refused() -> None:
    invoke = lambda_invoke()
    assert checks(invoke)
    assert not checks(dataclasses.replace(invoke, method="PUT"))
    assert not checks(dataclasses.replace(invoke, raw_path=invoke.raw_path.replace("my-function", "my-functioN")))
    assert not checks(with_query(invoke, "Qualifier=live", "Qualifier=prod"))
    assert not checks(dataclasses.replace(invoke, query=""))


def test_lambda_function_arn_in_the_path_is_encoded_twice_for_the_canonical_uri() -> None:
    invoke = lambda_invoke()
    assert "arn%3Aaws%3Alambda%3Aus-east-1" in invoke.raw_path  # as sent
    canonical = sigv4.canonical_request(sigv4.read(invoke), invoke)
    assert canonical.splitlines()[1] == (
        "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Amy-function"
        "/invocations"
    )
    assert checks(invoke)


def test_s3_key_with_spaces_and_unicode() -> None:
    put = s3_put()
    assert put.raw_path == "/bucket/reports/2024%20Q1/r%C3%A9sum%C3%A9%20%E2%80%93%20final.txt"
    assert checks(put)
    canonical = sigv4.canonical_request(sigv4.read(put), put)
    assert canonical.splitlines()[1] == put.raw_path  # S3 signs the path as sent, not encoded again
    assert not checks(put, "wrong")
    assert not checks(dataclasses.replace(put, raw_path=put.raw_path.replace("%20Q1", "+Q1")))


def test_s3_payload_hash_header_is_signed() -> None:
    put = s3_put()
    assert put.headers["x-amz-content-sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert not checks(with_headers(put, **{"x-amz-content-sha256": hashlib.sha256(b"evil").hexdigest()}))
    assert not checks(with_headers(put, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}))


# --- presigned URLs ----------------------------------------------------------------------------------------------


def test_s3_presigned_url() -> None:
    request = s3_presigned_get()
    signed = sigv4.read(request)
    assert signed.presigned and signed.expires == 600 and signed.service == "s3"
    assert signed.signed_headers == ("host",)
    assert checks(request)
    assert not checks(request, "wrong")
    assert not checks(with_query(request, "versionId=3HL4", "versionId=4HL4"))
    assert not checks(with_query(request, "X-Amz-Expires=600", "X-Amz-Expires=6000"))
    assert not checks(dataclasses.replace(request, raw_path=request.raw_path.replace("final", "draft")))


def test_presigned_url_for_a_service_other_than_s3() -> None:
    request = sts_presigned()
    assert sigv4.read(request).service == "sts"
    assert checks(request)
    assert not checks(with_query(request, "Action=GetCallerIdentity", "Action=GetSessionToken"))


def test_presigned_url_with_session_token() -> None:
    request = AWSRequest("GET", f"{ENDPOINT}/bucket/key")
    S3SigV4QueryAuth(Credentials(CREDS.access_key, SECRET, "the/token+="), "s3", "us-east-1", expires=60).add_auth(
        request
    )
    got = received(request, presigned_url_only=True)
    assert sigv4.read(got).session_token == "the/token+="
    assert checks(got)


# --- Signature Version 2 (S3 presigned) --------------------------------------------------------------------------


def test_s3_presigned_url_of_signature_version_2() -> None:
    request = s3_presigned_v2()
    signed = sigv4.read(request)
    assert (signed.version, signed.presigned, signed.service) == (2, True, "s3")
    assert signed.access_key == CREDS.access_key
    assert signed.session_token == "session-token"
    assert checks(request)
    assert checks(s3_presigned_v2(token=None))
    assert not checks(request, "wrong")


def test_signature_version_2_signs_expiry_token_subresources_and_path() -> None:
    request = s3_presigned_v2()
    expires = str(sigv4.read(request).expires)
    assert not checks(with_query(request, f"Expires={expires}", f"Expires={int(expires) + 1}"))
    assert not checks(with_query(request, "x-amz-security-token=session-token", "x-amz-security-token=other"))
    assert not checks(with_query(request, "filename%3D%22r%201.txt", "filename%3D%22r%202.txt"))
    assert not checks(dataclasses.replace(request, raw_path="/bucket/other"))
    assert checks(with_query(request, "response-content-disposition", "ignored=1&response-content-disposition"))


def test_signature_version_2_with_the_restore_subresource() -> None:
    request = AWSRequest("POST", f"{ENDPOINT}/bucket/key?restore")
    HmacV1QueryAuth(CREDS, expires=600).add_auth(request)
    assert checks(received(request, presigned_url_only=True))


def test_signature_version_2_expiry() -> None:
    signed = sigv4.read(s3_presigned_v2())
    assert sigv4.expired(signed, now=signed.expires - 1) is None
    assert sigv4.expired(signed, now=signed.expires + 1) == "Request has expired"


def test_signature_version_2_without_a_numeric_expiry_is_malformed() -> None:
    request = s3_presigned_v2()
    expires = str(sigv4.read(request).expires)
    with pytest.raises(Malformed):
        sigv4.read(with_query(request, f"Expires={expires}", "Expires=soon"))


# --- time --------------------------------------------------------------------------------------------------------


def test_header_signature_clock_skew() -> None:
    signed = sigv4.read(dynamodb_request())
    at = sigv4.timestamp(signed.amz_date)
    assert sigv4.expired(signed, now=at) is None
    assert sigv4.expired(signed, now=at + 14 * 60) is None
    assert sigv4.expired(signed, now=at - 14 * 60) is None
    message = sigv4.expired(signed, now=at + 16 * 60)
    basic = sigv4._basic
    assert message == (
        f"Signature expired: {signed.amz_date} is now earlier than {basic(at + 60)} ({basic(at + 16 * 60)} - 15 min.)"
    )
    assert sigv4.expired(signed, now=at - 16 * 60) is not None  # 16 minutes in the future: refused too


def test_future_signature_is_worded_as_not_yet_current() -> None:
    signed = sigv4.read(dynamodb_request())
    at = sigv4.timestamp(signed.amz_date)
    message = sigv4.expired(signed, now=at - 16 * 60) or ""
    assert message.startswith(f"Signature not yet current: {signed.amz_date} is still later than ")
    assert message.endswith("+ 15 min.)")


def test_presigned_url_expiry() -> None:
    signed = sigv4.read(s3_presigned_get(expires=600))
    at = sigv4.timestamp(signed.amz_date)
    assert sigv4.expired(signed, now=at + 599) is None
    assert sigv4.expired(signed, now=at + 601) == "Request has expired"
    hour = sigv4.read(s3_presigned_get(expires=3600))
    at = sigv4.timestamp(hour.amz_date)
    assert sigv4.expired(hour, now=at + 16 * 60) is None  # a presigned URL lives X-Amz-Expires, not 15 minutes
    assert sigv4.expired(hour, now=at + 3601) == "Request has expired"


def test_longest_presigned_lifetime_is_accepted() -> None:
    signed = sigv4.read(s3_presigned_get(expires=604800))
    at = sigv4.timestamp(signed.amz_date)
    assert sigv4.expired(signed, now=at + 6 * 24 * 3600) is None
    assert sigv4.expired(signed, now=at + 604801) == "Request has expired"


def test_bad_timestamp_is_malformed() -> None:
    signed = dataclasses.replace(sigv4.read(dynamodb_request()), amz_date="2024-01-01T00:00:00Z")
    with pytest.raises(Malformed):
        sigv4.expired(signed)


# --- unsigned and malformed --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        Received("GET", "/bucket/key", "", {"host": "localhost"}, b""),
        Received("GET", "/bucket/key", "versionId=1&Signature=x", {"host": "localhost"}, b""),  # no AWSAccessKeyId
        Received("POST", "/", "", {"x-amz-date": "20240101T000000Z"}, b"Action=GetCallerIdentity"),
    ],
    ids=["nothing", "partial-v2-query", "date-only"],
)
def test_no_signature_is_unsigned(request_: Received) -> None:
    with pytest.raises(Unsigned):
        sigv4.read(request_)


def header_with(request: Received, old: str, new: str) -> Received:
    authorization = request.headers["authorization"]
    assert old in authorization
    return with_headers(request, authorization=authorization.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 "),
        ("AWS4-HMAC-SHA256 ", "AWS "),  # a Signature Version 2 header
        (", Signature=", ", Sig="),
        ("Credential=", "Cred="),
        (", SignedHeaders=", ", Signed="),
        ("/aws4_request", "/aws4_req"),
        ("/us-east-1/", "/"),
    ],
    ids=["algorithm", "sigv2-header", "no-signature", "no-credential", "no-signed-headers", "scope-terminator",
         "short-scope"],
)  # fmt: skip
def test_malformed_authorization_header(old: str, new: str) -> None:
    with pytest.raises(Malformed):
        sigv4.read(header_with(dynamodb_request(), old, new))


def test_authorization_header_without_a_date_is_malformed() -> None:
    request = dynamodb_request()
    headers = {k: v for k, v in request.headers.items() if k != "x-amz-date"}
    with pytest.raises(Malformed):
        sigv4.read(dataclasses.replace(request, headers=headers))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
        ("X-Amz-Signature=", "X-Amz-Sig="),
        ("X-Amz-Date=", "X-Amz-Dat="),
        ("X-Amz-SignedHeaders=", "X-Amz-Signed="),
        ("X-Amz-Expires=600", "X-Amz-Expires=604801"),
        ("X-Amz-Expires=600", "X-Amz-Expires=0"),
        ("X-Amz-Expires=600", "X-Amz-Expires=ten"),
        ("X-Amz-Expires=600", "X-Amz-Exp=600"),
        ("%2Faws4_request", "%2Fv4"),
    ],
    ids=["algorithm", "no-signature", "no-date", "no-signed-headers", "expires-over-a-week", "expires-zero",
         "expires-not-a-number", "no-expires", "bad-scope"],
)  # fmt: skip
def test_malformed_presigned_query(old: str, new: str) -> None:
    with pytest.raises(Malformed):
        sigv4.read(with_query(s3_presigned_get(), old, new))


def test_an_unsigned_payload_hash_header_does_not_vouch_for_a_changed_body() -> None:
    # Outside S3 the server hashes the body it received; a client-supplied x-amz-content-sha256 that was not
    # signed cannot make a changed body pass (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
    request = dynamodb_request()
    original = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    forged = Received(request.method, request.raw_path, request.query,
                      {**request.headers, "x-amz-content-sha256": original}, b'{"TableName":"Other"}')  # fmt: skip
    assert checks(request)
    assert not checks(forged)


def test_s3_checks_the_body_against_its_declared_hash() -> None:
    # S3 signs the declared hash and answers a body that does not match it with XAmzContentSHA256Mismatch.
    request = s3_put()
    assert checks(request) and not sigv4.payload_mismatch(request)
    changed = Received(request.method, request.raw_path, request.query, request.headers, b"HELLO")
    assert checks(changed)  # the signature covers the declared hash, not the body...
    assert sigv4.payload_mismatch(changed)  # ...which S3 then compares
    unsigned = {**request.headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    assert not sigv4.payload_mismatch(Received("PUT", request.raw_path, "", unsigned, b"anything"))


def test_the_credential_scope_date_must_be_the_requests_date() -> None:
    signed = sigv4.read(dynamodb_request())
    other_day = dataclasses.replace(signed, date="20200101")
    with pytest.raises(sigv4.Malformed, match="Date in Credential scope does not match"):
        sigv4.expired(other_day, now=sigv4.timestamp(signed.amz_date))
