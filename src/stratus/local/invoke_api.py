"""The Lambda Invoke API on a local port, for boto3 and the AWS CLI:
``boto3.client("lambda", endpoint_url=...).invoke(FunctionName=..., Payload=...)``.

``POST /2015-03-31/functions/{FunctionName}/invocations`` with ``X-Amz-Invocation-Type``
``RequestResponse`` (200), ``Event`` (202, runs in the background) or ``DryRun`` (204); ``X-Amz-Log-Type:
Tail`` returns the invocation's last 4 KB of log in ``X-Amz-Log-Result``. A failed function still answers
200, with ``X-Amz-Function-Error: Unhandled`` and Lambda's error payload. Errors of the API itself use
Lambda's error types (``ResourceNotFoundException`` 404, ``InvalidRequestContentException`` 400,
``RequestTooLargeException`` 413, ``TooManyRequestsException`` 429).
FunctionName may be the function's name, its ARN, or (locally) the service's name.

With IAM enforced, each call is authenticated and authorised (``lambda:InvokeFunction`` on the function's ARN) by
the embedded AWS's enforcer (:class:`IamCheck`) before anything else, so a caller without the grant gets Lambda's
``AccessDeniedException`` (403) even for a function that does not exist, as in AWS.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from stratus import naming
from stratus.local.iam.enforcer import AUTHORIZE_PATH
from stratus.local.runtime.function import TooManyRequests

if TYPE_CHECKING:
    from stratus.local.logs import LogSink
    from stratus.local.runtime.function import LambdaFunction

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
SYNC_LIMIT = 6 * 1024 * 1024
ASYNC_LIMIT = 1024 * 1024


Answer = tuple[int, list[tuple[str, str]], bytes]


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
    """ASGI app serving Lambda's Invoke operation for the stack's functions."""

    def __init__(
        self,
        functions: dict[str, LambdaFunction],
        sink: LogSink,
        region: str,
        account_id: str,
        *,
        authorize: Callable[[Scope, bytes], Awaitable[Answer | None]] | None = None,
    ) -> None:
        self.functions = functions
        self.sink = sink
        self.region = region
        self.account_id = account_id
        self.authorize = authorize  # IAM: None lets every caller invoke
        self._background: set[asyncio.Task[object]] = set()

    def find(self, name: str) -> LambdaFunction | None:
        name = name.split(":function:", 1)[-1].split(":", 1)[0]  # ARN or partial ARN -> name
        for key, function in self.functions.items():
            if name in (key, function.config.name):
                return function
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        refused = await self.authorize(scope, body) if self.authorize is not None else None
        status, headers, payload = refused or await self._handle(scope, body)
        raw = [(k.encode(), v.encode()) for k, v in headers]
        raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, scope: Scope, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        match = _PATH.match(scope["path"])
        if scope["method"] != "POST" or match is None:
            return _error(404, "UnknownOperationException", f"Unknown operation {scope['method']} {scope['path']}")
        name = match["name"]
        function = self.find(name)
        if function is None:
            arn = naming.lambda_arn(self.region, self.account_id, name)
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        kind = headers.get("x-amz-invocation-type", "RequestResponse")
        if kind not in ("RequestResponse", "Event", "DryRun"):
            return _error(400, "InvalidParameterValueException", f"Unsupported invocation type {kind!r}")
        limit = ASYNC_LIMIT if kind == "Event" else SYNC_LIMIT
        if len(body) > limit:
            return _error(
                413, "RequestTooLargeException", f"Request must be smaller than {limit} bytes for the Invoke operation"
            )
        payload = body or b"{}"
        try:
            json.loads(payload)
        except ValueError as exc:
            return _error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
        if kind == "DryRun":
            return 204, [], b""
        if kind == "Event":
            task: asyncio.Task[object] = asyncio.create_task(self._invoke_async(function, payload))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return 202, [("x-amzn-requestid", "-")], b""
        try:
            result = await function.invoke(payload, client_context=headers.get("x-amz-client-context"))
        except TooManyRequests as exc:
            return _error(429, "TooManyRequestsException", str(exc), reason=exc.reason)
        out = [
            ("content-type", "application/json"),
            ("x-amzn-requestid", result.request_id),
            ("x-amz-executed-version", "$LATEST"),
        ]
        if result.function_error:
            out.append(("x-amz-function-error", result.function_error))
        if headers.get("x-amz-log-type") == "Tail":
            tail = function.logs_of(result.request_id)[-4096:]
            out.append(("x-amz-log-result", base64.b64encode(tail).decode()))
        return 200, out, result.payload

    async def _invoke_async(self, function: LambdaFunction, payload: bytes) -> object:
        # Lambda retries a failed asynchronous invocation twice more.
        for _attempt in range(3):
            try:
                result = await function.invoke(payload)
            except TooManyRequests:
                await asyncio.sleep(1)
                continue
            if not result.function_error:
                return result
        return None


def _error(
    status: int, code: str, message: str, *, reason: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    body: dict[str, str] = {"Type": "User", "message": message}
    if reason:
        body["Reason"] = reason
    return status, [("content-type", "application/json"), ("x-amzn-errortype", code)], json.dumps(body).encode()
