"""IAM in front of the embedded AWS: every request is authenticated (SigV4, against the credentials IAM and STS
hold) and authorised (the principal's policies, :mod:`stratus.local.iam.policy`, for the action and resource the
operation names, :mod:`stratus.local.iam.operations`) before moto sees it, and refused in the shape AWS uses
(:mod:`stratus.local.iam.errors`).

Each refusal by policy is also printed as one line, ``STRATUS-IAM-DENIED {json}``, which the local cloud turns
into a hint in the caller's log (which ``uses`` entry would grant it). ``POST /_stratus/iam/authorize`` gives the
same decision for a request that another local endpoint received (the local Lambda Invoke API).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from stratus.local.iam import errors, identities, operations, policy, sigv4

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Answer = tuple[int, list[tuple[str, str]], bytes]
Request = sigv4.Received
DENIED_MARK = "STRATUS-IAM-DENIED "
AUTHORIZE_PATH = "/_stratus/iam/authorize"
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}


class _Refused(Exception):
    def __init__(self, service: str, kind: errors.Kind, message: str = "") -> None:
        super().__init__(kind)
        self.service = service
        self.refusal = errors.Refusal(kind, message)


class Enforcer:
    """Decides requests for the account ``account`` (moto's backends hold its identities)."""

    def __init__(self, account: str, *, log: Callable[[str], None] | None = None) -> None:
        self.account = account
        self.directory = identities.Directory(account)
        self.log = log or (lambda line: print(line, flush=True))

    def check(self, request: Request) -> Answer | None:
        """``None`` when AWS would let the request through, else AWS's answer."""
        try:
            signed, principal = self._authenticate(request)
            if principal.kind != "root":  # the account itself may do everything
                self._authorize(request, signed, principal)
        except _Refused as refused:
            json_protocol = bool(request.headers.get("x-amz-target"))
            return errors.render(refused.service, refused.refusal, json_protocol=json_protocol, method=request.method)
        return None

    def _authenticate(self, request: Request) -> tuple[sigv4.Signed, identities.Principal]:
        """Who signed ``request``, once the signature, its date and the credentials are checked."""
        try:
            signed = sigv4.read(request)
        except sigv4.Unsigned:
            raise _Refused(_guess_service(request), "unsigned") from None
        except sigv4.Malformed as exc:
            raise _Refused(_guess_service(request), "malformed", str(exc)) from None
        service = signed.service
        try:
            principal = self.directory.find(signed.access_key, signed.session_token)
        except identities.Unknown:
            raise _Refused(service, "unknown-key") from None
        except identities.InvalidToken:
            raise _Refused(service, "invalid-token") from None
        except identities.Expired:
            raise _Refused(service, "expired") from None
        except policy.MalformedPolicy as exc:  # IAM refuses such documents; a hand-edited backend could hold one
            self.log(f"IAM: a policy of {signed.access_key} is malformed: {exc}")
            raise _Refused(service, "denied", "Malformed policy") from None
        try:
            stale = sigv4.expired(signed)
        except sigv4.Malformed as exc:
            raise _Refused(service, "malformed", str(exc)) from None
        if stale and signed.presigned:
            raise _Refused(service, "denied", stale)
        if stale:  # S3 words a skewed clock its own way (RequestTimeTooSkewed)
            raise _Refused(service, "stale", "" if service == "s3" else stale)
        if not sigv4.valid(signed, request, principal.secret):
            raise _Refused(service, "signature")
        if service == "s3" and sigv4.payload_mismatch(request):
            raise _Refused(service, "content-sha256")
        return signed, principal

    def _authorize(self, request: Request, signed: sigv4.Signed, principal: identities.Principal) -> None:
        """Refuses what the principal's policies do not allow, as IAM evaluates them."""
        service = signed.service
        region = signed.region or self._bucket_region(request.raw_path)  # SigV2 names no region
        operation = operations.resolve(
            service, request.method, request.raw_path, request.query, request.headers, request.body,
            region=region, account=self.account, secret_arn=self._secret_arn,
        )  # fmt: skip
        contextual = principal.contextual
        context = {**principal.context, **_request_context(region, request), **operation.context} if contextual else {}
        for action, resource in operation.checks:
            decision = None if contextual else principal.decisions.get((action, resource))
            if decision is None:
                decision = policy.evaluate(principal.policies, action, resource, context,
                                           session_policy=principal.session_policy)  # fmt: skip
                if not contextual and len(principal.decisions) < 4096:
                    principal.decisions[(action, resource)] = decision
            if not decision.allowed:
                self.log(DENIED_MARK + json.dumps({
                    "principal": principal.arn, "role": principal.role_name, "action": action,
                    "resource": resource, "reason": decision.reason, "operation": operation.name,
                }))  # fmt: skip
                shown = operation.shown.get(resource, resource)
                message = errors.denied_message(principal.arn, action, shown, decision.reason, service=service)
                raise _Refused(service, "denied", message)
        if operation.name in ("GetObject", "HeadObject") and self._missing_object(request.raw_path, request.query):
            # S3 answers 404 for a missing key only to who may list the bucket; to anyone else 403, so the
            # answer does not tell what exists (GetObject and HeadObject in the S3 API reference).
            bucket = operation.checks[0][1].split("/", 1)[0]
            context = {**principal.context, **_request_context(region, request), **operation.context}
            listing = policy.evaluate(principal.policies, "s3:ListBucket", bucket, context,
                                      session_policy=principal.session_policy)  # fmt: skip
            if not listing.allowed:  # what is missing is the listing, so that is what the message names
                message = errors.denied_message(principal.arn, "s3:ListBucket", bucket, listing.reason, service="s3")
                raise _Refused(service, "denied", message)

    def _secret_arn(self, region: str, name: str) -> str | None:
        """The ARN of the secret called ``name`` in ``region``, if there is one."""
        from moto.secretsmanager.models import secretsmanager_backends

        try:
            secret = secretsmanager_backends[self.account][region].secrets.get(name)
        except Exception:  # moto's store raises for names it cannot find, and for unknown regions
            return None
        return str(secret.arn) if secret is not None and getattr(secret, "arn", None) else None

    def _s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account]["aws"]

    def _bucket_region(self, raw_path: str) -> str:
        bucket = self._s3().buckets.get(unquote(raw_path).lstrip("/").partition("/")[0])
        return str(bucket.region_name) if bucket is not None else ""

    def _missing_object(self, raw_path: str, query: str) -> bool:
        bucket, _, key = unquote(raw_path).lstrip("/").partition("/")
        version = dict(parse_qsl(query)).get("versionId")
        try:
            return self._s3().get_object(bucket, key, version_id=version) is None
        except Exception:  # no such bucket, version or key: moto's own errors
            return True

    # --- WSGI --------------------------------------------------------------------------------------------------

    def wrap(self, app: Wsgi) -> Wsgi:
        def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path.startswith("/moto-api/"):  # the local cloud's own control plane, not AWS (a reset, ...)
                self.directory.generation += 1
                return app(environ, start_response)
            request = _request(environ)
            if path == AUTHORIZE_PATH and request.method == "POST":
                return _respond(start_response, self._authorize_remote(request))
            answer = self.check(request)
            if answer is not None:
                return _respond(start_response, answer)
            environ["wsgi.input"] = io.BytesIO(request.body)
            environ["CONTENT_LENGTH"] = str(len(request.body))
            try:
                return app(environ, start_response)
            finally:
                if _changes_identities(request):  # a user, key, role, policy or session may have changed
                    self.directory.generation += 1

        return wsgi

    def _authorize_remote(self, request: Request) -> Answer:
        """The decision for a request another local endpoint received, described in ``request``'s JSON body."""
        try:
            data = json.loads(request.body)
            received = {k.lower(): v for k, v in data["headers"].items()}
            forwarded = Request(data["method"], data["raw_path"], data.get("query", ""), received, b"",
                                body_sha256=data["body_sha256"], source_ip=data.get("source_ip", ""))  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return 400, [("Content-Type", "application/json")], json.dumps({"error": str(exc)}).encode()
        answer = self.check(forwarded)
        body: dict[str, object]
        if answer is None:
            body = {"allowed": True}
        else:
            status, headers, payload = answer
            body = {"allowed": False, "status": status, "headers": headers, "body": payload.decode()}
        return 200, [("Content-Type", "application/json")], json.dumps(body).encode()


def _request(environ: dict[str, Any]) -> Request:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    body = stream.read(int(length)) if length else stream.read() if environ.get("wsgi.input_terminated") else b""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if length:
        headers["content-length"] = length
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
    raw_path = raw.partition("?")[0]
    if "://" in raw_path:  # an absolute request-target
        raw_path = "/" + raw_path.split("://", 1)[1].partition("/")[2]
    return Request(environ.get("REQUEST_METHOD", "GET"), raw_path, environ.get("QUERY_STRING", ""), headers, body,
                   source_ip=environ.get("REMOTE_ADDR", ""))  # fmt: skip


def _changes_identities(request: Request) -> bool:
    authorization = request.headers.get("authorization", "")
    return "/iam/aws4_request" in authorization or "/sts/aws4_request" in authorization


def _respond(start_response: StartResponse, answer: Answer) -> Iterable[bytes]:
    status, headers, body = answer
    start_response(f"{status} {_REASONS.get(status, 'Error')}", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _guess_service(request: Request) -> str:
    target = request.headers.get("x-amz-target", "")
    if target.startswith("DynamoDB"):
        return "dynamodb"
    if target.startswith("AmazonSQS") or ("Action=" in request.query and "/" in request.raw_path.strip("/")):
        return "sqs"
    if target.startswith("secretsmanager"):
        return "secretsmanager"
    if request.raw_path.startswith("/2015-03-31/functions"):
        return "lambda"
    if request.raw_path.startswith("/model/"):
        return "bedrock"
    if target:
        return target.split("_", 1)[0].split(".", 1)[0].lower()
    return "s3"


_clock: tuple[int, dict[str, str]] = (0, {})


def _request_context(region: str, request: Request) -> dict[str, str]:
    """IAM's global condition keys that come from the request."""
    global _clock
    second = int(time.time())
    if _clock[0] != second:
        at = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _clock = (second, {"aws:currenttime": at, "aws:epochtime": str(second)})
    return {
        "aws:requestedregion": region,
        # Locally the SDKs speak HTTP; in AWS the same calls are HTTPS, and that is what a policy must see.
        "aws:securetransport": "true",
        "aws:sourceip": request.source_ip or "127.0.0.1",
        "aws:viaawsservice": "false",
        "aws:principalisawsservice": "false",
        **_clock[1],
    }
