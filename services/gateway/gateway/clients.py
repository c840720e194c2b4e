"""boto3 clients for the authorizer's light modules, created on first use.

:mod:`stratus_common.aws` does the same for the FastAPI app, but importing it pulls in pydantic-settings
(~140 ms), which the authorizer cannot afford on its cold path. boto3 itself is imported only when the
first client is made. Endpoints are never hard-coded: botocore honours ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``, which is how these clients reach the local cloud. The region comes from
``AWS_REGION``, else ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["client", "reset_clients"]

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def client(service_name: str) -> Any:
    """Return this process's cached boto3 client for *service_name* (short timeouts, standard retries)."""
    with _lock:
        found = _clients.get(service_name)
        if found is not None:
            return found
        import boto3
        from botocore.config import Config

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
        config = Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "total_max_attempts": 3},
            tcp_keepalive=True,
        )
        created = boto3.session.Session(region_name=region).client(service_name, config=config)  # type: ignore[call-overload]
        _clients[service_name] = created
        return created


def reset_clients() -> None:
    """Forget every client (tests that change the environment call this)."""
    with _lock:
        _clients.clear()
