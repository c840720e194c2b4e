"""Reading a request to the local Lambda API: who may send it (no web page), how much of its body is read, and
its client context.

- A browser page must not reach the API: with IAM off (``--no-iam``) nothing else stops a page the developer
  visits from POSTing ``text/plain`` to ``/2015-03-31/functions/NAME/invocations`` (a CSRF on the developer's
  own machine), or a DNS-rebound page from reading GetFunction's environment. In AWS every call is SigV4-signed,
  which a page cannot do. So a request a browser marks as coming from another site (``Sec-Fetch-Site:
  cross-site``/``same-site``, Fetch Metadata), with an ``Origin`` other than the API's own
  (``http://localhost:PORT``/``http://127.0.0.1:PORT``), or a ``Host`` that is not the API's address, is refused
  with 403. boto3 and the AWS CLI send neither ``Origin`` nor ``Sec-Fetch-Site``.
- The body is read up to the invocation type's limit and no further; a declared ``content-length`` over it is
  refused before a byte is read.
- ``X-Amz-Client-Context`` is base64 of a JSON object, at most 3,583 bytes (DOC API_Invoke). Lambda refuses
  anything else with ``InvalidRequestContentException`` "Client context must be a valid Base64-encoded JSON
  object." (captured by the AWS SDK for Rust's integration test against Lambda, smithy-lang/smithy-rs
  ``aws/sdk/integration-tests/lambda/tests/naughty-strings-client-context.rs``; aws/aws-sdk-js#1388). What
  Lambda answers for a longer one is not published: locally the same error type, saying the limit.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from stratus.local.lambda_api.responses import Answer, error

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

CLIENT_CONTEXT_LIMIT = 3583  # bytes of base64 (DOC API_Invoke)
CLIENT_CONTEXT_INVALID = "Client context must be a valid Base64-encoded JSON object."
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def headers_of(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def cross_site(scope: Scope, headers: dict[str, str]) -> Answer | None:
    """403 for a request a browser sent from another site (or through a rebound DNS name), else ``None``."""
    server = scope.get("server") or ("", None)
    host, port = str(server[0] or ""), server[1]
    own = {f"{name}:{port}" for name in (*_LOCAL_HOSTS, host)} if port is not None else set()
    site = headers.get("sec-fetch-site", "").lower()
    origin = headers.get("origin")
    why = None
    if site in ("cross-site", "same-site"):
        why = f"Sec-Fetch-Site: {site}"
    elif origin is not None and origin.lower().removeprefix("http://") not in own:
        why = f"Origin: {origin}"
    elif "host" in headers and own and headers["host"].lower() not in own:
        why = f"Host: {headers['host']}"
    if why is None:
        return None
    message = f"The local Lambda API refuses requests from web pages ({why}); call it with an AWS SDK or the CLI."
    return error(403, "AccessDeniedException", message)


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes | int:
    """The body, or its size (declared, else what had arrived when it passed ``limit``) once over ``limit``:
    what is past the limit is never read (the server discards it)."""
    if declared is not None and declared > limit:
        return declared
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return size
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def declared_length(headers: dict[str, str]) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def client_context(value: str) -> str | Answer:
    """The decoded client context, as compact JSON (the runtime's frame is tab/newline separated), or Lambda's
    400."""
    if len(value.encode("latin-1", "replace")) > CLIENT_CONTEXT_LIMIT:
        message = f"Client context must be at most {CLIENT_CONTEXT_LIMIT} bytes of base64-encoded data."
        return error(400, "InvalidRequestContentException", message)
    try:
        data = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return error(400, "InvalidRequestContentException", CLIENT_CONTEXT_INVALID)
    if not isinstance(data, dict):
        return error(400, "InvalidRequestContentException", CLIENT_CONTEXT_INVALID)
    return json.dumps(data, separators=(",", ":"))
