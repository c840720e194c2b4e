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
- IAM is enforced (:mod:`stratus.local.iam`) unless ``STRATUS_IAM=off``: every request is authenticated and
  authorised as AWS would, before moto sees it.
- The werkzeug request log is silenced (one line per AWS call would drown the stack's own logs).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import threading
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
    import moto.s3.notifications
    from stratus_common.aws import new_session

    from stratus import naming
    from stratus.events import s3 as s3_events

    outbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()

    def invoke(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        outbox.put((fn_arn, s3_events.complete(event_body)))

    def sender() -> None:
        # S3 invokes as its service principal, which the function's resource policy allows; locally it signs
        # as the account, which IAM allows everything.
        clients: dict[str, Any] = {}
        while True:
            arn, event = outbox.get()
            region = arn.split(":")[3]
            if region not in clients:
                clients[region] = new_session().client(
                    "lambda",
                    endpoint_url=invoke_url,
                    region_name=region,
                    aws_access_key_id=naming.LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=naming.LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=naming.LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
                )
            try:
                clients[region].invoke(FunctionName=arn, InvocationType="Event", Payload=json.dumps(event).encode())
            except Exception as exc:
                print(f"S3 notification to {arn} not delivered: {exc}", flush=True)

    moto.s3.notifications._invoke_awslambda = invoke
    _one_event_per_multipart_upload()
    threading.Thread(target=sender, name="s3-notifications", daemon=True).start()


def _one_event_per_multipart_upload() -> None:
    """S3 notifies a completed multipart upload once, as ``ObjectCreated:CompleteMultipartUpload``; moto stores the
    object through ``put_object``, which notifies an ``ObjectCreated:Put`` first. Drop that one."""
    import moto.s3.models
    import moto.s3.notifications as notifications

    completing = threading.local()
    complete = moto.s3.models.S3Backend.complete_multipart_upload
    send = notifications.send_event

    def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
        completing.active = True
        try:
            return complete(self, *args, **kwargs)
        finally:
            completing.active = False

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        put = event_name == notifications.S3NotificationEvent.OBJECT_CREATED_PUT_EVENT
        if not (put and getattr(completing, "active", False)):
            send(account_id, event_name, bucket, key)

    moto.s3.models.S3Backend.complete_multipart_upload = complete_multipart_upload  # type: ignore[method-assign]
    notifications.send_event = send_event


def _front(iam_account: str | None) -> None:
    """What stands before moto: IAM (unless turned off), then Bedrock Runtime."""
    from moto import server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from stratus.local import bedrock
    from stratus.local.iam.enforcer import Enforcer

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            app = bedrock.middleware(super().__call__)
            self._front = Enforcer(iam_account).wrap(app) if iam_account else app

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            return self._front(environ, start_response)

    server.DomainDispatcherApplication = Dispatcher  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _serialise_dynamodb()
    _no_nagle()
    sqs_store.install()
    iam = os.environ.get("STRATUS_IAM", "enforce") != "off"
    _front(os.environ.get("MOTO_ACCOUNT_ID", "123456789012") if iam else None)
    if os.environ.get("STRATUS_INVOKE_URL"):
        _deliver_s3_notifications(os.environ["STRATUS_INVOKE_URL"])
    from moto import server

    server.main(argv)


if __name__ == "__main__":
    main()
