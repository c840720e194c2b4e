"""boto3 clients and resources, created once per process from one session.

Endpoints are never hard-coded: botocore itself honours ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_<SERVICE_ID>`` (``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL_DYNAMODB``,
``AWS_ENDPOINT_URL_S3``, ...; the per-service variable wins), which is how the same code talks to
the local cloud, LocalStack or AWS. The region comes from ``AWS_REGION`` (else
``AWS_DEFAULT_REGION``, else botocore's own configuration), read by :func:`stratus_common.environment.region`
rather than the pydantic settings, so that a light caller (the gateway's authorizer) does not import
pydantic with its first client.

Clients are created lazily, on first use, so importing a service stays cheap on a Lambda cold start.
They are cached by service name and keyword arguments; :func:`reset_clients` forgets them (tests
that change the environment call it). A caller on a request's critical path (an authorizer) passes
``config=FAST_CONFIG``: short timeouts, so that a stalled call fails before the caller's own deadline.
Importing this module imports no botocore: the two configurations are made on first use (PEP 562), so a
handler that imports it but makes no AWS call at init does not pay for botocore in its cold start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

from stratus_common.environment import region

if TYPE_CHECKING:
    from collections.abc import Hashable

    import boto3
    from boto3.resources.base import ServiceResource
    from botocore.client import BaseClient
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_s3 import S3Client, S3ServiceResource
    from mypy_boto3_sqs import SQSClient, SQSServiceResource

__all__ = ["DEFAULT_CONFIG", "FAST_CONFIG", "client", "new_session", "reset_clients", "resource", "session"]

if TYPE_CHECKING:
    DEFAULT_CONFIG: Config
    """Timeouts and retries for every client; a ``config=`` argument is merged over it."""
    FAST_CONFIG: Config
    """For clients on a request's critical path (the route authorizer, the token secret's read): 2 s to connect,
    5 s to read, with :data:`DEFAULT_CONFIG`'s retries. Pass it as ``client(name, config=FAST_CONFIG)``."""


def __getattr__(name: str) -> Any:
    """``DEFAULT_CONFIG`` and ``FAST_CONFIG``, made once, when first asked for."""
    if name not in ("DEFAULT_CONFIG", "FAST_CONFIG"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from botocore.config import Config

    with _lock:
        made = globals()
        if "DEFAULT_CONFIG" not in made:
            made["DEFAULT_CONFIG"] = Config(
                connect_timeout=5, read_timeout=30, retries={"mode": "standard", "total_max_attempts": 3},
                tcp_keepalive=True,
            )  # fmt: skip
            made["FAST_CONFIG"] = Config(connect_timeout=2, read_timeout=5)
        return made[name]


_lock = threading.RLock()
_session: boto3.session.Session | None = None
_clients: dict[Hashable, Any] = {}
_resources: dict[Hashable, Any] = {}


def session() -> boto3.session.Session:
    """Return the process's boto3 session, created on first use in :func:`~stratus_common.environment.region`."""
    global _session
    with _lock:
        if _session is None:
            _session = new_session(region())
        return _session


_loader: Any = None


def new_session(region_name: str | None = None) -> boto3.session.Session:
    """A new boto3 session (for a caller that needs one of its own: one per thread, say) that shares this
    process's parsed service models: making a client of it does not parse botocore's JSON again."""
    import boto3

    return boto3.session.Session(botocore_session=_botocore_session(), region_name=region_name)


def _botocore_session() -> Any:
    """A new botocore session whose data loader (the parsed service models, read-only) outlives
    :func:`reset_clients`: a session made again after a reset does not parse the JSON models again."""
    global _loader
    import botocore.loaders
    import botocore.session

    if _loader is None:
        _loader = botocore.loaders.create_loader()
    botocore_session = botocore.session.get_session()
    botocore_session.register_component("data_loader", _loader)
    return botocore_session


def _prepare(kwargs: dict[str, Any]) -> dict[str, Any]:
    prepared = dict(kwargs)
    config = prepared.get("config")
    default: Config = __getattr__("DEFAULT_CONFIG")
    prepared["config"] = default.merge(config) if config is not None else default
    return prepared


def _key(kind: str, service_name: str, kwargs: dict[str, Any]) -> Hashable | None:
    key = (kind, service_name, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:
        return None  # unhashable arguments: create a fresh object, uncached
    return key


@overload
def client(service_name: Literal["dynamodb"], **kwargs: Any) -> DynamoDBClient: ...
@overload
def client(service_name: Literal["sqs"], **kwargs: Any) -> SQSClient: ...
@overload
def client(service_name: Literal["s3"], **kwargs: Any) -> S3Client: ...
@overload
def client(service_name: str, **kwargs: Any) -> BaseClient: ...
def client(service_name: str, **kwargs: Any) -> Any:
    """Return the cached boto3 client for *service_name*.

    *kwargs* go to ``Session.client`` (``region_name``, ``endpoint_url``, ``config``...); an explicit
    ``endpoint_url`` overrides the ``AWS_ENDPOINT_URL*`` variables.
    """
    key = _key("client", service_name, kwargs)
    with _lock:
        if key is not None and key in _clients:
            return _clients[key]
        created = session().client(service_name, **_prepare(kwargs))  # type: ignore[call-overload]
        if key is not None:
            _clients[key] = created
        return created


@overload
def resource(service_name: Literal["dynamodb"], **kwargs: Any) -> DynamoDBServiceResource: ...
@overload
def resource(service_name: Literal["s3"], **kwargs: Any) -> S3ServiceResource: ...
@overload
def resource(service_name: Literal["sqs"], **kwargs: Any) -> SQSServiceResource: ...
@overload
def resource(service_name: str, **kwargs: Any) -> ServiceResource: ...
def resource(service_name: str, **kwargs: Any) -> Any:
    """Return the cached boto3 resource for *service_name*; see :func:`client`."""
    key = _key("resource", service_name, kwargs)
    with _lock:
        if key is not None and key in _resources:
            return _resources[key]
        created = session().resource(service_name, **_prepare(kwargs))  # type: ignore[call-overload]
        if key is not None:
            _resources[key] = created
        return created


def reset_clients() -> None:
    """Forget the session and every cached client and resource; the next call creates new ones."""
    global _session
    with _lock:
        _session = None
        _clients.clear()
        _resources.clear()
