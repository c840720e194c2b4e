"""Fixtures of the stratus_common unit tests: a clean AWS environment, and HTTP API 2.0 events."""

from __future__ import annotations

import base64
import json
import os
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from stratus_common.aws import reset_clients
from stratus_common.settings import get_settings

with warnings.catch_warnings():
    # starlette >= 1.x warns, on import, that its TestClient wants `httpx2` rather than `httpx`.
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from starlette.types import ASGIApp

_VARIABLES = (
    "STRATUS_SERVICE",
    "SERVICE_NAME",
    "STRATUS_ENV",
    "ENVIRONMENT",
    "STRATUS_BASE_PATH",
    "SERVICE_VERSION",
    "LOG_LEVEL",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_SESSION_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with fake credentials, a fixed region, no endpoints, no cached settings or clients."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name.endswith(
            ("_QUEUE_URL", "_DLQ_URL", "_TABLE_NAME", "_BUCKET_NAME", "_DATABASE_URL")
        ):
            monkeypatch.delenv(name)
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    get_settings.cache_clear()
    reset_clients()
    yield
    get_settings.cache_clear()
    reset_clients()


HttpEvent = Callable[..., dict[str, Any]]


@pytest.fixture
def http_event() -> HttpEvent:
    """Build an API Gateway HTTP API event, payload format 2.0, as API Gateway sends it to a Lambda."""

    def build(
        method: str,
        raw_path: str,
        *,
        route_key: str | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        all_headers = {
            "accept": "*/*",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            "x-amzn-trace-id": "Root=1-65f0a0a0-0123456789abcdef01234567",
            "x-forwarded-for": "192.0.2.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **(headers or {}),
        }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key or f"ANY {raw_path}",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": all_headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.10",
                    "userAgent": "pytest",
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": route_key or f"ANY {raw_path}",
                "stage": "$default",
                "time": "10/Mar/2026:12:00:00 +0000",
                "timeEpoch": 1773144000000,
            },
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers.setdefault("content-type", "application/json")
            all_headers["content-length"] = str(len(raw))
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        return event

    return build


@pytest.fixture
def make_client() -> Callable[[ASGIApp], TestClient]:
    """Return a factory of TestClients (imported here, away from starlette's import-time warning)."""

    def build(app: ASGIApp) -> TestClient:
        return TestClient(app)

    return build
