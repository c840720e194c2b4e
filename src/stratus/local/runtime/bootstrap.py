"""The execution environment's entry point: AWS's Python runtime (awslambdaric), with a local transport.

``python -m stratus.local.runtime.bootstrap HANDLER`` runs awslambdaric's own bootstrap, so loading the
handler, the context object, error payloads, logging and the init/invoke life cycle are exactly the
runtime's. Only the transport of the invoke loop changes: awslambdaric's native ``runtime_client`` module
speaks HTTP to the Runtime API through libcurl (two HTTP exchanges per invocation over loopback TCP); here a
module with the same four functions speaks a small framed protocol over a Unix socket the local cloud hands
the process (``STRATUS_RUNTIME_FD``). That halves the CPU an invocation costs on both sides. Init errors
still go over HTTP to ``AWS_LAMBDA_RUNTIME_API``, as awslambdaric posts them with ``http.client``.

Frames (both directions): ``!II`` header length and body length, then the header (tab-separated text),
then the body.

- local cloud -> runtime: header ``request id, deadline ms, function ARN, trace id, client context``;
  body: the event.
- runtime -> local cloud: ``N`` (the first time it asks for an event: init is done);
  ``R<tab>request id<tab>content type`` with the result; ``E<tab>request id<tab>error type`` with the
  error payload.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import types
from typing import Any

FRAME = struct.Struct("!II")


def write_frame(sock: socket.socket, header: str, body: bytes = b"") -> None:
    encoded = header.encode()
    sock.sendall(FRAME.pack(len(encoded), len(body)) + encoded + body)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the local cloud closed the runtime's connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> tuple[str, bytes]:
    header_size, body_size = FRAME.unpack(_read_exactly(sock, FRAME.size))
    header = _read_exactly(sock, header_size).decode()
    return header, _read_exactly(sock, body_size) if body_size else b""


def runtime_client_module(sock: socket.socket) -> types.ModuleType:
    """A stand-in for awslambdaric's native ``runtime_client`` extension, over ``sock``."""
    module = types.ModuleType("runtime_client")
    asked = False

    def initialize_client(user_agent: str) -> None:
        return None

    def next() -> tuple[bytes, dict[str, Any]]:
        nonlocal asked
        if not asked:
            write_frame(sock, "N")
            asked = True
        header, body = read_frame(sock)
        request_id, deadline, arn, trace, context = header.split("\t")
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": int(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": arn,
            "Lambda-Runtime-Trace-Id": trace,
            "Content-Type": "application/json",
        }
        if context:
            headers["Lambda-Runtime-Client-Context"] = context
        return body, headers

    def post_invocation_result(invoke_id: str, result: bytes, content_type: str, *_: Any) -> None:
        write_frame(sock, f"R\t{invoke_id}\t{content_type}", result)

    def post_error(invoke_id: str, error_response: str | bytes, xray_fault: str, *_: Any) -> None:
        body = error_response if isinstance(error_response, bytes) else error_response.encode()
        write_frame(sock, f"E\t{invoke_id}\tUnhandled", body)

    module.initialize_client = initialize_client  # type: ignore[attr-defined]
    module.next = next  # type: ignore[attr-defined]
    module.post_invocation_result = post_invocation_result  # type: ignore[attr-defined]
    module.post_error = post_error  # type: ignore[attr-defined]
    return module


def main() -> None:
    fd = int(os.environ.pop("STRATUS_RUNTIME_FD"))
    sock = socket.socket(fileno=fd)
    sys.modules["runtime_client"] = runtime_client_module(sock)
    from awslambdaric import bootstrap
    from awslambdaric.lambda_config import LambdaConfigProvider
    from awslambdaric.lambda_runtime_client import LambdaRuntimeClient

    # awslambdaric's own main, single-concurrency mode, but waiting for the next event on this thread. On
    # python3.12+ (AWS_EXECUTION_ENV) awslambdaric polls the native client's blocking ``next`` from a new thread
    # per invocation, so that the main thread can run signal handlers meanwhile. Here ``next`` is a socket read in
    # Python, which runs signal handlers on the main thread as it waits (PEP 475), so the thread would only cost
    # (half the runtime's CPU per invocation, measured).
    config = LambdaConfigProvider(["awslambdaric", *sys.argv[1:]])
    bootstrap.run(config.handler, LambdaRuntimeClient(config.api_address, use_thread_for_polling_next=False))


if __name__ == "__main__":
    main()
