"""The embedded AWS: moto's server, with the changes the local cloud needs to behave like AWS.

Run as ``python -m stratus.local.aws_server --port N`` (moto's own console script cannot load patches).

- DynamoDB conditional writes are atomic in AWS; moto applies conditions without any lock, so two
  concurrent ``UpdateItem``s can both pass a condition (shared/reference/feasibility.md §1c). Every DynamoDB
  action runs under one lock here, which makes each request atomic, as in AWS.
- Responses are written with TCP_NODELAY: ``http.server`` sends headers and body in separate writes, and
  Nagle's algorithm with delayed ACKs would add tens of milliseconds to calls.
- S3 -> Lambda notifications: moto accepts the configuration but delivers to its own Lambda backend and
  swallows every error, so nothing happens (feasibility.md §1d). Here each notification moto matches
  (events, prefix and suffix filters) is completed to AWS's event shape and handed to a background thread
  that invokes the function asynchronously (``Event``) through the local cloud's Invoke API
  (``STRATUS_INVOKE_URL``): outside the PutObject request, as in AWS.
- SQS queues are stored so that their costs do not grow with the backlog (``stratus.local.sqs_store``).
- Bedrock Runtime's ``Converse`` and ``InvokeModel`` are answered by an offline generator
  (:mod:`stratus.local.bedrock`): moto's answer ``{}`` and has no ``Converse``.
- The werkzeug request log is silenced (one line per AWS call would drown the stack's own logs).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from stratus.local import sqs_store


def _serialise_dynamodb() -> None:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original: Callable[..., Any] = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _no_nagle() -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    MotoRequestHandler.disable_nagle_algorithm = True


def _deliver_s3_notifications(invoke_url: str) -> None:
    import httpx
    import moto.s3.notifications

    from stratus.events import s3 as s3_events

    outbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()

    def invoke(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        outbox.put((fn_arn, s3_events.complete(event_body)))

    def sender() -> None:
        with httpx.Client(base_url=invoke_url, timeout=10) as client:
            while True:
                arn, event = outbox.get()
                try:
                    client.post(
                        f"/2015-03-31/functions/{urllib.parse.quote(arn, safe='')}/invocations",
                        content=json.dumps(event).encode(),
                        headers={"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"},
                    ).raise_for_status()
                except httpx.HTTPError as exc:
                    print(f"S3 notification to {arn} not delivered: {exc}", flush=True)

    moto.s3.notifications._invoke_awslambda = invoke
    threading.Thread(target=sender, name="s3-notifications", daemon=True).start()


def _bedrock_runtime() -> None:
    from moto import server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from stratus.local import bedrock

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._with_bedrock = bedrock.middleware(super().__call__)

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            return self._with_bedrock(environ, start_response)

    server.DomainDispatcherApplication = Dispatcher  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _serialise_dynamodb()
    _no_nagle()
    sqs_store.install()
    _bedrock_runtime()
    if os.environ.get("STRATUS_INVOKE_URL"):
        _deliver_s3_notifications(os.environ["STRATUS_INVOKE_URL"])
    from moto import server

    server.main(argv)


if __name__ == "__main__":
    main()
