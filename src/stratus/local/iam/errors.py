"""AWS's answers when a request is refused, in the wire shape of each service's protocol, so an SDK raises the
exception it raises against AWS (``ClientError`` with ``Error.Code`` ``AccessDeniedException`` for DynamoDB,
``AccessDenied`` for S3 and SQS, ...).

Facts and sources: the module's table :data:`CODES`; the message texts follow IAM's documented forms
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

Kind = Literal[
    "denied", "unsigned", "unknown-key", "invalid-token", "signature", "expired", "malformed", "stale", "content-sha256"
]
Family = Literal["json", "sqs", "s3", "rest", "query"]

# kind -> family -> (code, HTTP status).
CODES: dict[Kind, dict[Family, tuple[str, int]]] = {
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
    # S3 checks the body against the hash the client declared; elsewhere a changed body changes the signature.
    "content-sha256": {"json": ("InvalidSignatureException", 400), "sqs": ("SignatureDoesNotMatch", 403),
                       "s3": ("XAmzContentSHA256Mismatch", 400), "rest": ("InvalidSignatureException", 403),
                       "query": ("SignatureDoesNotMatch", 403)},
    "expired": {"json": ("ExpiredTokenException", 400), "sqs": ("ExpiredToken", 403), "s3": ("ExpiredToken", 400),
                "rest": ("ExpiredTokenException", 403), "query": ("ExpiredToken", 403)},
    "malformed": {"json": ("IncompleteSignatureException", 400), "sqs": ("IncompleteSignature", 400),
                  "s3": ("AuthorizationHeaderMalformed", 400), "rest": ("IncompleteSignatureException", 403),
                  "query": ("IncompleteSignature", 400)},
}  # fmt: skip

MESSAGES: dict[Kind, dict[Family, str]] = {
    "unsigned": {"json": "Request is missing Authentication Token", "s3": "Access Denied",
                 "rest": "Missing Authentication Token"},
    "unknown-key": {"json": "The security token included in the request is invalid.",
                    "s3": "The AWS Access Key Id you provided does not exist in our records."},
    "invalid-token": {"json": "The security token included in the request is invalid.",
                      "s3": "The provided token is malformed or otherwise invalid."},
    "signature": {"json": "The request signature we calculated does not match the signature you provided. Check "
                          "your AWS Secret Access Key and signing method. Consult the service documentation for "
                          "details.",
                  "s3": "The request signature we calculated does not match the signature you provided. Check "
                        "your key and signing method."},
    "expired": {"json": "The security token included in the request is expired",
                "s3": "The provided token has expired."},
    "stale": {"s3": "The difference between the request time and the current time is too large."},
    "content-sha256": {"s3": "The provided 'x-amz-content-sha256' header does not match what was computed."},
}  # fmt: skip

_JSON_TYPES = {"dynamodb": "application/x-amz-json-1.0", "sqs": "application/x-amz-json-1.0"}


def family(service: str, *, json_protocol: bool) -> Family:
    if service == "s3":
        return "s3"
    if service == "sqs":  # SQS's JSON protocol; its older query protocol is answered in XML, as by AWS
        return "sqs" if json_protocol else "query"
    if service in ("lambda", "bedrock"):
        return "rest"
    return "json" if json_protocol else "query"


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused; ``message`` empty means the service's standard text."""

    kind: Kind
    message: str = ""


def denied_message(principal: str, action: str, resource: str, reason: str, *, service: str) -> str:
    """IAM's access-denied text: ``User: ARN is not authorized to perform: ACTION on resource: ARN because ...``."""
    shown = action.lower() if service == "sqs" else action  # SQS prints its actions in lower case
    target = f'"{resource}"' if service == "s3" else resource
    why = {
        "explicit-deny": "with an explicit deny in an identity-based policy",
        "session-deny": "with an explicit deny in a session policy",
        "session-policy": f"because no session policy allows the {shown} action",
    }.get(reason, f"because no identity-based policy allows the {shown} action")
    on = f" on resource: {target}" if resource != "*" else ""
    return f"User: {principal} is not authorized to perform: {shown}{on} {why}"


def render(service: str, refusal: Refusal, *, json_protocol: bool, method: str = "POST",
           request_id: str | None = None) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
    """``(status, headers, body)`` of AWS's answer."""
    fam = family(service, json_protocol=json_protocol)
    code, status = CODES[refusal.kind][fam]
    message = refusal.message or _standard(refusal.kind, fam)
    request_id = request_id or str(uuid.uuid4())
    if fam == "s3":
        headers = [("x-amz-request-id", request_id[:16].upper()), ("Content-Type", "application/xml")]
        if method == "HEAD":
            return status, headers, b""
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}'
               f"</Message><RequestId>{headers[0][1]}</RequestId><HostId>stratus</HostId></Error>")  # fmt: skip
        return status, headers, xml.encode()
    if fam == "query":
        xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
               f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")  # fmt: skip
        return status, [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")], xml.encode()
    if fam == "rest":
        key = "Message" if refusal.kind == "denied" else "message"
        body = {"Type": "User", key: message} if service == "lambda" else {key: message}
        headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", f"{code}:"),
                   ("Content-Type", "application/json")]  # fmt: skip
        return status, headers, json.dumps(body).encode()
    content_type = _JSON_TYPES.get(service, "application/x-amz-json-1.1")
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", content_type)]
    if fam == "sqs":
        headers.append(("x-amzn-query-error", f"{code};Sender"))
        kind = {"AccessDenied": "AccessDeniedException"}.get(code, code)
        key = "Message" if refusal.kind == "denied" else "message"
        return status, headers, json.dumps({"__type": f"com.amazon.coral.service#{kind}", key: message}).encode()
    key = "Message" if refusal.kind == "denied" else "message"
    return status, headers, json.dumps({"__type": f"com.amazon.coral.service#{code}", key: message}).encode()


def _standard(kind: Kind, fam: Family) -> str:
    texts = MESSAGES.get(kind, {})
    return texts.get(fam) or texts.get("json") or kind
