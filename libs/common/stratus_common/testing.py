"""What the services' tests share: callers signed in as the gateway's authorizer says, a clean environment, moto.

**Callers.** A service behind ``auth = "token"`` learns who calls from ``requestContext.authorizer.lambda`` of its
Lambda event, which Mangum hands the app as ``scope["aws.event"]`` (:mod:`stratus_common.principal`).
:func:`authorizer_context` is what the gateway's authorizer returns; :class:`SignedIn` makes every request of a
TestClient (or of schemathesis) arrive with it, so the routes see what they see behind API Gateway::

    client = client_for(app, "alice")                       # a person; kind="client" for a machine client
    client = client_for(app, authorizer_context("bot", kind="api_key", scopes=["texts:write"]))
    client = client_for(app)                                 # no authorizer: a direct request

Whole Lambda events are built by the toolkit, in the shapes the local cloud sends (``stratus.events.samples.http``,
with ``authorizer=`` the context above).

**Environment.** :func:`clean_environment`: fake credentials, one region, no endpoints and no resource variables
left over from the shell, and no cached settings, clients or secrets, before and after. :func:`mocked_aws`: moto's
in-process AWS, with the run's one boto3 session for the test's clients and the service's alike.
:func:`serialise_moto_dynamodb`: one DynamoDB request at a time, as AWS makes each one atomic.
:func:`moto_server`: a moto server in a subprocess, for tests whose threads need AWS's atomicity.
:func:`cancelled_transaction`: the error of a transaction DynamoDB cancelled, for a fake client to raise.

**A running stack** is the toolkit's pytest plugin's: the ``stratus_cloud`` fixture (``stratus.testing``).

Nothing heavy is imported at import: starlette's TestClient, boto3 and moto are imported by the function that
needs them.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    import pytest
    from fastapi.testclient import TestClient
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "CLEARED_VARIABLES",
    "REGION",
    "RESOURCE_SUFFIXES",
    "SignedIn",
    "authorizer_context",
    "authorizer_event",
    "cancelled_transaction",
    "clean_environment",
    "client_for",
    "forget_caches",
    "free_port",
    "mocked_aws",
    "moto_server",
    "serialise_moto_dynamodb",
    "share_botocore_models",
    "shared_session",
]

REGION = "us-east-1"
RESOURCE_SUFFIXES = ("_QUEUE_URL", "_DLQ_URL", "_TABLE_NAME", "_BUCKET_NAME", "_DATABASE_URL", "_SECRET_ARN")
"""The endings of the variables Stratus gives a service for its resources: none is kept from the shell."""
CLEARED_VARIABLES = (
    "STRATUS_BASE_PATH",
    "STRATUS_SERVICE",
    "STRATUS_ENV",
    "STRATUS_SECRETS_MAX_AGE",
    "SERVICE_NAME",
    "SERVICE_VERSION",
    "LOG_LEVEL",
    "PORT",
    "HOST",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
)

Caller = str | Mapping[str, Any] | None
"""A subject (a person's id, or a client's or key's with ``kind``), an authorizer's context, or nobody."""


def authorizer_context(subject: str, *, kind: str = "user", scopes: Iterable[str] = ("profile",)) -> dict[str, Any]:
    """What the gateway's route authorizer returns for *subject*: a person signed in with a token (``kind="user"``,
    whose ``username`` is ``<subject>-name``), a machine client (``"client"``) or an API key (``"api_key"``)."""
    if kind == "api_key":
        return {
            "principalId": f"key:{subject}",
            "kind": kind,
            "keyId": subject,
            "keyName": f"{subject}-name",
            "scopes": list(scopes),
            "authMode": "api_key",
        }
    context: dict[str, Any] = {
        "principalId": f"{kind}:{subject}",
        "kind": kind,
        "subject": subject,
        "scopes": list(scopes),
        "authMode": "token",
    }
    if kind == "client":
        context["clientId"] = subject
    else:
        context["username"] = f"{subject}-name"
    return context


def authorizer_event(context: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a payload 2.0 event that carries the authorizer's *context*: ``requestContext.authorizer.lambda``."""
    return {"requestContext": {"authorizer": {"lambda": dict(context)}}}


def _context(caller: str | Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return authorizer_context(caller, kind=kind) if isinstance(caller, str) else caller


class SignedIn:
    """An ASGI wrapper: every request arrives as API Gateway hands it over once the authorizer let *caller* in
    (a subject, see :func:`authorizer_context`, or a whole context)."""

    def __init__(self, app: ASGIApp, caller: str | Mapping[str, Any], *, kind: str = "user") -> None:
        self.app = app
        self.event = authorizer_event(_context(caller, kind))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "aws.event": self.event}
        await self.app(scope, receive, send)


def client_for(app: ASGIApp, caller: Caller = None, *, kind: str = "user") -> TestClient:
    """A TestClient of *app* whose requests come from *caller* (:class:`SignedIn`); ``None``: through no authorizer."""
    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():
        # starlette >= 1.x warns, on import, that its TestClient wants `httpx2` rather than `httpx`.
        warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
        from fastapi.testclient import TestClient

    return TestClient(app if caller is None else SignedIn(app, caller, kind=kind))


def forget_caches() -> None:
    """Forget the cached settings, AWS clients and secrets: the next use reads the environment again."""
    from stratus_common import secrets
    from stratus_common.aws import reset_clients
    from stratus_common.settings import get_settings

    get_settings.cache_clear()
    reset_clients()
    secrets.clear_cache()


@contextmanager
def clean_environment(patch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, region ``us-east-1``, no ``AWS_ENDPOINT_URL*``, no resource variables (any ending in
    :data:`RESOURCE_SUFFIXES`) and none of :data:`CLEARED_VARIABLES`; caches forgotten before and after."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name.endswith(RESOURCE_SUFFIXES):
            patch.delenv(name)
    for name in CLEARED_VARIABLES:
        patch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        patch.setenv(name, value)
    forget_caches()
    try:
        yield
    finally:
        forget_caches()


@functools.cache
def share_botocore_models() -> None:
    """Give every botocore session of this process one data loader, so each service model and the endpoints are
    parsed from their JSON once, not once per session. moto's ``mock_aws`` drops boto3's default session at every
    start, so without this each test's first client parses ~2 MB of JSON again (in the idp's unit tests, 762 parses
    took a third of the run). The models are read-only; a session with its own ``data_path`` keeps its own."""
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    create = botocore.loaders.create_loader

    def create_loader(search_path_string: str | None = None) -> Any:
        return shared if search_path_string is None else create(search_path_string)

    botocore.session.create_loader = create_loader


@functools.cache
def shared_session() -> boto3.session.Session:
    """One boto3 session for the whole run: a new one loads botocore's service models again (~0.1 s a client)."""
    import boto3

    return boto3.session.Session(region_name=REGION)


@contextmanager
def mocked_aws(patch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    """moto's in-process AWS for the block; yields :func:`shared_session`, which the service's clients
    (:func:`stratus_common.aws.client`) come from too. They are still made afresh, at the start of the block."""
    from moto import mock_aws

    from stratus_common import aws

    session = shared_session()
    patch.setattr(aws, "session", lambda: session)
    with mock_aws():
        aws.reset_clients()
        try:
            yield session
        finally:
            aws.reset_clients()


def serialise_moto_dynamodb(patch: pytest.MonkeyPatch) -> None:
    """Make moto's in-process DynamoDB serve one request at a time, as the local cloud's does: otherwise two threads'
    conditional writes interleave, which DynamoDB never lets them."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    patch.setattr(DynamoHandler, "call_action", call_action)


def cancelled_transaction(*codes: str) -> Exception:
    """The error DynamoDB's ``TransactWriteItems`` raises when it cancels a transaction, with one reason *code* per
    item (``"None"``, ``"ConditionalCheckFailed"``, ``"TransactionConflict"``...), as botocore makes it."""
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def moto_server(module: str = "moto.server", *, timeout: float = 30) -> Iterator[str]:
    """A moto server in a subprocess (``python -m <module> -H 127.0.0.1 -p <port>``); yields its URL.

    The local cloud's (``module="stratus.local.aws_server"``) makes each DynamoDB action atomic, as AWS does;
    moto's in-process mock does not, across threads. The server sees no ``AWS_*`` variable of the test's, and
    enforces no IAM (``STRATUS_IAM=off``): the tests that use it sign with any credentials, as with moto's mock.
    """
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env["STRATUS_IAM"] = "off"
    command = [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the moto server ({module}) did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
