"""The embedded AWS: moto's server, with the changes the local cloud needs to behave like AWS.

Run as ``python -m stratus.local.aws_server --port N`` (moto's own console script cannot load patches).

- DynamoDB conditional writes are atomic in AWS; moto applies conditions without any lock, so two
  concurrent ``UpdateItem``s can both pass a condition (shared/reference/feasibility.md §1c). Every DynamoDB
  action runs under one lock here, which makes each request atomic, as in AWS.
- Connections are kept alive between calls (werkzeug closes each after one response), and responses are written
  with TCP_NODELAY (``_keep_alive``); moto's package directory is listed once, not on every request
  (``_list_backends_once``).
- moto's lists of every model object it made (for its dashboard) hold weak references, so memory no longer grows
  with every SQS message and every DynamoDB update (``_track_models_weakly``).
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

import contextlib
import functools
import io
import json
import logging
import os
import queue
import selectors
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
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


def _list_backends_once() -> None:
    """moto's dispatcher lists moto's package directory (``os.listdir`` and an ``isdir`` per entry, ~200) on every
    request, under its lock, to tell whether a host names a backend: a millisecond or more of every AWS call, during
    which no other call is dispatched. The directory does not change while the server runs: list it once."""
    from moto import backends

    names = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: names


class _WeakInstances:
    """What moto's ``instances_tracked`` lists are for its dashboard (``/moto-api/data.json``), without keeping the
    instances alive: weak references, each dropped when its instance goes."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._refs: dict[int, weakref.ref[Any]] = {}
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        key, refs = id(instance), self._refs
        with contextlib.suppress(TypeError):  # not weakly referable: left out of the dashboard, not kept forever
            refs[key] = weakref.ref(instance, lambda _: refs.pop(key, None))

    def __iter__(self) -> Iterator[Any]:
        return iter([instance for ref in list(self._refs.values()) if (instance := ref()) is not None])

    def __len__(self) -> int:
        return len(self._refs)


def _track_models_weakly() -> None:
    """moto keeps every model object it ever makes in a list per class, for its dashboard: each SQS message, and
    each copy of a DynamoDB item a read or an update makes, so memory grew with every call (about 2 KB a message
    sent and received, and 2 KB an ``UpdateItem``, measured), by 9 MB a minute under the soak. The lists hold weak
    references here: the dashboard still lists what exists, and S3's reset still disposes of every live key."""
    from moto.core import common_models

    base = common_models.BaseModel

    def __new__(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        instance = super(base, cls).__new__(cls)
        tracked = cls.instances_tracked
        if not isinstance(tracked, _WeakInstances):  # the class's own list, made by moto's metaclass or its reset
            tracked = cls.instances_tracked = _WeakInstances(tracked)
        tracked.append(instance)
        return instance

    base.__new__ = staticmethod(__new__)  # type: ignore[method-assign]


IDLE_CONNECTION_S = 120.0  # a kept-alive connection with no request for this long is closed
MAX_BODY = 256 * 1024 * 1024  # a body this large is streamed, not read ahead, and its connection then closes


def _keep_alive() -> None:
    """Keep connections open between AWS calls, with TCP_NODELAY.

    werkzeug's server ends every response with ``Connection: close`` (``http.server`` cannot skip a request body
    the application left unread), so every AWS call of every function opened a TCP connection, and the server
    started a thread for each. Here the request's body is read before the application runs (bodies of AWS calls
    are small; over ``MAX_BODY`` the old way is kept), nothing is left unread on the connection, and it carries the
    client's next call (botocore keeps a pool of them): one thread per connection, not per call. Responses are
    written with TCP_NODELAY: ``http.server`` sends headers and body in separate writes, and Nagle's algorithm
    with delayed ACKs would add tens of milliseconds to calls.
    """
    from moto import server
    from moto.moto_server import werkzeug_app
    from werkzeug import serving

    serving.selectors = _DrainOnlyClosing  # type: ignore[attr-defined,assignment]

    class KeepAliveHandler(werkzeug_app.MotoRequestHandler):
        disable_nagle_algorithm = True
        timeout = IDLE_CONNECTION_S
        _streaming = False

        def make_environ(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().make_environ()
            chunked = bool(environ.get("wsgi.input_terminated", False))
            body, keep = read_ahead(environ["wsgi.input"], environ.get("CONTENT_LENGTH", ""), chunked)
            self._streaming = not keep
            _kept.alive = keep
            environ["wsgi.input"] = body
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            if keyword.lower() == "connection" and value.lower() == "close" and not self._streaming:
                return  # http.server keeps the connection when the request allows it (HTTP/1.1)
            super().send_header(keyword, value)

        def log_error(self, format: str, *args: Any) -> None:
            if not format.startswith("Request timed out"):  # an idle connection closed: nothing went wrong
                super().log_error(format, *args)

    werkzeug_app.MotoRequestHandler = server.MotoRequestHandler = KeepAliveHandler  # type: ignore[misc,attr-defined]


_kept = threading.local()  # whether the request this thread serves keeps its connection


class _DrainOnlyClosing:
    """``werkzeug.serving``'s ``selectors``: after each response werkzeug reads whatever the client sent meanwhile
    and throws it away (up to 10 ms of waiting), which on a kept connection would be the client's next request.
    A kept connection's body was read whole before the application ran, so nothing is left to drain."""

    EVENT_READ = selectors.EVENT_READ

    @staticmethod
    def DefaultSelector() -> Any:
        if getattr(_kept, "alive", False):
            _kept.alive = False
            return _NothingToDrain()
        return selectors.DefaultSelector()


class _NothingToDrain:
    def register(self, *args: Any) -> None:
        pass

    def select(self, timeout: float | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        pass


def read_ahead(stream: Any, length: str, chunked: bool, limit: int = MAX_BODY) -> tuple[Any, bool]:
    """The request's body as the application will read it, and whether the connection can be kept: a body of at
    most ``limit`` bytes is read ahead, whole (``Content-Length``, or chunked); a larger one is left to stream, at
    most ``limit`` + 1 bytes of it read, and the connection closes after the response."""
    if chunked:
        head = _read_exactly(stream, limit + 1)
        if len(head) <= limit:
            return io.BytesIO(head), True
        return io.BufferedReader(_Prefixed(head, stream)), False
    if length.isdigit():
        if int(length) > limit:
            return stream, False
        return io.BytesIO(_read_exactly(stream, int(length))), True
    return io.BytesIO(b""), True  # no Content-Length and not chunked: HTTP/1.1 says no body


class _Prefixed(io.RawIOBase):
    """What was read ahead of a stream, then the rest of the stream."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_exactly(stream: Any, length: int) -> bytes:
    """``length`` bytes of ``stream``, fewer if it ends first (in reads of at most 1 MB)."""
    parts, left = [], length
    while left > 0:
        part = stream.read(min(left, 1 << 20))
        if not part:
            break  # the client went away (or the chunked body ended)
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


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
    _keep_alive()
    _list_backends_once()
    _track_models_weakly()
    sqs_store.install()
    iam = os.environ.get("STRATUS_IAM", "enforce") != "off"
    _front(os.environ.get("MOTO_ACCOUNT_ID", "123456789012") if iam else None)
    if os.environ.get("STRATUS_INVOKE_URL"):
        _deliver_s3_notifications(os.environ["STRATUS_INVOKE_URL"])
    from moto import server

    server.main(argv)


if __name__ == "__main__":
    main()
