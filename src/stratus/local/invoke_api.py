"""The Lambda API on a local port, for boto3 and the AWS CLI: ``boto3.client("lambda", endpoint_url=...)``'s
``invoke``, ``get_function``, ``get_function_configuration`` and ``list_functions``.

``POST /2015-03-31/functions/{FunctionName}/invocations`` with ``X-Amz-Invocation-Type`` ``RequestResponse``
(200), ``Event`` (202, with the invocation's request id; run and retried in the background,
:mod:`stratus.local.lambda_api.async_invoke`) or ``DryRun`` (204); ``X-Amz-Log-Type: Tail`` returns the
invocation's last 4 KB of log in ``X-Amz-Log-Result``; ``X-Amz-Client-Context`` (base64 JSON, synchronous
invocations only, as in AWS) reaches the function as ``context.client_context``. A failed function still answers
200, with ``X-Amz-Function-Error: Unhandled`` and Lambda's error payload. FunctionName may be the function's
name, its ARN, a partial ARN, ``NAME:QUALIFIER``, or (locally) the service's name.

Qualifier (``?Qualifier=`` or ``NAME:QUALIFIER``): ``$LATEST``; the function's alias (``live``, for the HTTP
function of a service with provisioned concurrency, as the Terraform creates it) and the version it points at.
AWS publishes a new version on each deploy; locally there is one, ``1``, which ``X-Amz-Executed-Version`` names
for the alias. Anything else is ``ResourceNotFoundException`` "Function not found: ARN:QUALIFIER".

Payload limits (DOC https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): 6 MB (6,291,456 bytes)
synchronous, 1 MB (1,048,576 bytes, raised from 256 KB in October 2025) for Event. Beyond them, 413
``RequestEntityTooLargeException`` "N byte payload is too large for the RequestResponse invocation type (limit
6291456 bytes)" (the type AWS sends, though the API reference names ``RequestTooLargeException``: captures in
/work/shared/reference/aws-mismatches.md; the Event form in ASFHyP3/hyp3#2241). The body is never read past
the limit, so N is the declared ``content-length``, or what had arrived when the limit was passed; and since a body
that is not read cannot be checked against its signature, an oversized request is refused before IAM is asked.

Errors of the API itself use Lambda's error types in ``x-amzn-errortype`` with ``{"Type": "User", "message"}``
(:mod:`stratus.local.lambda_api.responses`); a path that is no operation is 404 ``UnknownOperationException``.
Requests from web pages are refused first (:mod:`stratus.local.lambda_api.intake`). With IAM enforced, each call
is then authenticated and authorised (``lambda:InvokeFunction`` on the function's ARN, ``lambda:GetFunction``...)
by the embedded AWS's enforcer (:class:`IamCheck`), so a caller without the grant gets Lambda's
``AccessDeniedException`` (403) even for a function that does not exist, as in AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

import httpx

from stratus import naming
from stratus.local.iam.enforcer import AUTHORIZE_PATH
from stratus.local.lambda_api import intake
from stratus.local.lambda_api.async_invoke import AsyncInvoker, delays_from_environ
from stratus.local.lambda_api.function_info import PUBLISHED_VERSION, BadMarker, Describer, Facts, facts
from stratus.local.lambda_api.responses import Answer, document, error
from stratus.local.runtime.function import TooManyRequests, fast_uuid4

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction
    from stratus.manifest.plan import Plan

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)(?P<configuration>/configuration)?/?$")
_LIST = re.compile(r"^/2015-03-31/functions/?$")
SYNC_LIMIT = 6 * 1024 * 1024
ASYNC_LIMIT = 1024 * 1024
OTHER_LIMIT = 64 * 1024  # the body of a GET, which Lambda's read operations do not use
_KINDS = ("RequestResponse", "Event", "DryRun")


@dataclass(frozen=True)
class Target:
    """The function a request names, and the version its qualifier selects."""

    function: LambdaFunction
    version: str
    qualifier: str | None = None  # as the caller named it (the alias, or the version)


class IamCheck:
    """Asks the embedded AWS's IAM enforcer (``POST /_stratus/iam/authorize``) about a request received here."""

    def __init__(self, aws_endpoint: str, http: httpx.AsyncClient) -> None:
        self.url = aws_endpoint + AUTHORIZE_PATH
        self.http = http

    async def __call__(self, scope: Scope, body: bytes) -> Answer | None:
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        client = scope.get("client") or ("127.0.0.1", 0)
        request = {
            "method": scope["method"],
            "raw_path": raw_path.decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "source_ip": client[0],
        }
        decision = (await self.http.post(self.url, json=request)).json()
        if decision.get("allowed"):
            return None
        headers = [(str(k), str(v)) for k, v in decision["headers"]]
        return int(decision["status"]), headers, str(decision["body"]).encode()


class InvokeApi:
    """ASGI app serving Lambda's Invoke, GetFunction, GetFunctionConfiguration and ListFunctions for the stack's
    functions; ``plan`` gives the plan's facts of each (the running stack's, which a reload replaces)."""

    def __init__(
        self,
        functions: dict[str, LambdaFunction],
        sink: LogSink,
        region: str,
        account_id: str,
        *,
        authorize: Callable[[Scope, bytes], Awaitable[Answer | None]] | None = None,
        plan: Callable[[], Plan] | None = None,
        retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        self.functions = functions
        self.sink = sink
        self.region = region
        self.account_id = account_id
        self.authorize = authorize  # IAM: None lets every caller in
        self.plan = plan
        self.describer = Describer(region, account_id)
        if retry_delays is None:
            try:
                retry_delays = delays_from_environ()
            except ValueError as exc:
                sink.write("stratus", f"{exc}; asynchronous invocations are retried after 60 s and 120 s")
                retry_delays = (60.0, 120.0)
        self.async_invoker = AsyncInvoker(sink, delays=retry_delays)

    async def close(self) -> None:
        """Cancel queued asynchronous invocations and pending retries (the local cloud is stopping)."""
        await self.async_invoker.close()

    def find(self, name: str) -> LambdaFunction | None:
        name = name.split(":function:", 1)[-1].split(":", 1)[0]  # ARN or partial ARN -> name
        for key, function in self.functions.items():
            if name in (key, function.config.name):
                return function
        return None

    def facts_of(self, function: LambdaFunction) -> Facts | None:
        return facts(self.plan() if self.plan is not None else None, function.config.name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = intake.headers_of(scope)
        answer = intake.cross_site(scope, headers)
        if answer is None:
            kind = headers.get("x-amz-invocation-type", "RequestResponse")
            invoking = scope["method"] == "POST" and _INVOKE.match(scope["path"]) is not None
            limit = (ASYNC_LIMIT if kind == "Event" else SYNC_LIMIT) if invoking else OTHER_LIMIT
            body = await intake.read_body(receive, limit, intake.declared_length(headers))
            if isinstance(body, int):
                shown = kind if kind in _KINDS else "RequestResponse"
                message = f"{body} byte payload is too large for the {shown} invocation type (limit {limit} bytes)"
                if not invoking:
                    message = f"Request must be smaller than {limit} bytes for the {scope['method']} operation"
                answer = error(413, "RequestEntityTooLargeException", message)
            else:
                refused = await self.authorize(scope, body) if self.authorize is not None else None
                answer = refused or await self._handle(scope, headers, body)
        status, out, payload = answer
        raw = [(k.encode(), v.encode()) for k, v in out]
        raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, scope: Scope, headers: dict[str, str], body: bytes) -> Answer:
        method, path = scope["method"], scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if method == "GET" and _LIST.match(path):
            return self._list(query)
        invoke = _INVOKE.match(path) if method == "POST" else None
        read = _FUNCTION.match(path) if method == "GET" else None
        match = invoke or read
        if match is None:
            return error(404, "UnknownOperationException", f"Unknown operation {method} {path}")
        target = self._target(match["name"], query.get("Qualifier"))
        if not isinstance(target, Target):
            return target
        function, version = target.function, target.version
        if read is not None:
            info = self.facts_of(function)
            if read["configuration"]:
                return document(self.describer.configuration(function, info, version))
            return document(self.describer.function(function, info, version))
        return await self._invoke(target, headers, body)

    def _target(self, name: str, qualifier: str | None) -> Target | Answer:
        """The function ``name`` names and the version a qualifier selects (``$LATEST``, or the alias's)."""
        bare = name.split(":function:", 1)[-1]
        named, _, derived = bare.partition(":")
        if derived and qualifier and derived != qualifier:
            message = "The derived qualifier from the function name does not match the specified qualifier."
            return error(400, "InvalidParameterValueException", message)
        qualifier = qualifier or derived or None
        function = self.find(name)
        arn = naming.lambda_arn(self.region, self.account_id, function.config.name if function else named)
        if function is None:
            return error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        if qualifier in (None, "$LATEST"):
            return Target(function, "$LATEST", qualifier)  # an explicit $LATEST ends the invoked ARN too
        info = self.facts_of(function)
        if info is not None and info.alias is not None and qualifier in (info.alias, PUBLISHED_VERSION):
            return Target(function, PUBLISHED_VERSION, qualifier)
        return error(404, "ResourceNotFoundException", f"Function not found: {arn}:{qualifier}")

    def _list(self, query: dict[str, str]) -> Answer:
        seen: dict[str, LambdaFunction] = {}
        for function in self.functions.values():
            seen.setdefault(function.config.name, function)
        entries = [(function, self.facts_of(function)) for function in seen.values()]
        try:
            max_items = int(query["MaxItems"]) if query.get("MaxItems") else None
        except ValueError:
            return error(400, "InvalidParameterValueException", f"Invalid MaxItems: {query['MaxItems']}")
        if max_items is not None and not 1 <= max_items <= 10000:
            return error(400, "InvalidParameterValueException", f"Invalid MaxItems: {max_items}")
        every = query.get("FunctionVersion") == "ALL"
        try:
            return document(self.describer.page(entries, query.get("Marker"), max_items, every_version=every))
        except BadMarker:
            return error(400, "InvalidParameterValueException", "Invalid Marker.")

    async def _invoke(self, target: Target, headers: dict[str, str], body: bytes) -> Answer:
        function, version = target.function, target.version
        kind = headers.get("x-amz-invocation-type", "RequestResponse")
        if kind not in _KINDS:
            return error(400, "InvalidParameterValueException", f"Unsupported invocation type {kind!r}")
        context = None
        if headers.get("x-amz-client-context"):
            decoded = intake.client_context(headers["x-amz-client-context"])
            if isinstance(decoded, tuple):
                return decoded
            context = decoded if kind == "RequestResponse" else None  # Lambda passes it to synchronous calls only
        payload = body or b"{}"
        try:
            json.loads(payload)
        except ValueError as exc:
            return error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
        if kind == "DryRun":
            return 204, [], b""
        request_id = fast_uuid4()
        if kind == "Event":
            self.async_invoker.submit(function, payload, request_id, qualifier=target.qualifier, version=version)
            return 202, [("x-amzn-requestid", request_id)], b""
        try:
            result = await function.invoke(
                payload, client_context=context, request_id=request_id, qualifier=target.qualifier, version=version
            )
        except TooManyRequests as exc:
            return error(429, "TooManyRequestsException", str(exc), reason=exc.reason)
        out = [
            ("content-type", "application/json"),
            ("x-amzn-requestid", result.request_id),
            ("x-amz-executed-version", version),
        ]
        if result.function_error:
            out.append(("x-amz-function-error", result.function_error))
        if headers.get("x-amz-log-type") == "Tail":
            tail = function.logs_of(result.request_id)[-4096:]
            out.append(("x-amz-log-result", base64.b64encode(tail).decode()))
        return 200, out, result.payload
