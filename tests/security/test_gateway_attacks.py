"""Attacks on the gateway's upstream routes, with real parts: the gateway app served by uvicorn on a socket, a WSGI
upstream (wsgiref) on another, DynamoDB in a moto server, and the attacker's requests sent by an HTTP client.

WSGI and CGI turn both ``-`` and ``_`` of a header's name into ``_``: ``X_Stratus_Principal: user:admin`` reaches a
WSGI app as ``HTTP_X_STRATUS_PRINCIPAL``, the variable the gateway's own ``X-Stratus-Principal`` becomes. The gateway
drops every header whose name has an underscore (as nginx does by default), so only its own principal arrives.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import httpx
import pytest
import uvicorn
from stratus_common import apikeys
from stratus_common.testing import free_port, moto_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

TABLES = {"sessions": "session_id", "rate_limits": "limit_key", "api_keys": "key_id"}
SECRET = "gateway-attack-test-signing-secret-0123456789"
SPOOFS = {
    "X_Stratus_Principal": "user:admin",
    "x_stratus_principal": "user:root",
    "X-Stratus_Principal": "user:mixed",
    "X_Forwarded_For": "6.6.6.6",
    "X_Real_IP": "6.6.6.6",
    "X_Api_Key": "stk_attacker",
    "X_Tenant": "smuggled",  # any other name with "_": its WSGI name is that of a "-" header
}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _echo_environ(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app answering with the ``HTTP_*`` variables of its environ: what a WSGI upstream believes."""
    body = json.dumps({name: value for name, value in environ.items() if name.startswith("HTTP_")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@dataclass
class Gateway:
    url: str
    api_key: str
    key_id: str


@pytest.fixture(scope="module")
def wsgi_upstream() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _echo_environ, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _tables(endpoint: str) -> tuple[Any, dict[str, str]]:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    names = {}
    for table, key in TABLES.items():
        names[table] = f"attack-{table}"
        dynamodb.create_table(
            TableName=names[table],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return dynamodb, names


def _reset() -> None:
    from gateway import authorizer, main
    from stratus_common.aws import reset_clients
    from stratus_common.settings import get_settings

    get_settings.cache_clear()
    reset_clients()
    authorizer.reset()
    main.reset()


@pytest.fixture(scope="module")
def gateway(wsgi_upstream: str) -> Iterator[Gateway]:
    """The gateway app on a socket, with two upstream routes to the WSGI app: /open (no auth), /keyed (API key)."""
    with moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        dynamodb, names = _tables(endpoint)
        created = apikeys.create_api_key(dynamodb, names["api_keys"], name="attack-tests")
        variables = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "STRATUS_ENV": "test",
            "TOKEN_SIGNING_SECRET": SECRET,
            "UPSTREAM_OPEN_URL": wsgi_upstream,
            "UPSTREAM_OPEN_PATH": "/open",
            "UPSTREAM_KEYED_URL": wsgi_upstream,
            "UPSTREAM_KEYED_PATH": "/keyed",
            "UPSTREAM_KEYED_AUTH": "api_key",
            **{f"{table.upper()}_TABLE_NAME": name for table, name in names.items()},
        }
        for name, value in variables.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        from gateway import main  # reads TOKEN_SIGNING_SECRET when first imported

        _reset()
        server = uvicorn.Server(uvicorn.Config(main.app, host="127.0.0.1", port=free_port(), log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.02)
        try:
            yield Gateway(f"http://127.0.0.1:{server.config.port}", created.plaintext, created.key.key_id)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            _reset()
    _reset()  # the environment is back: forget what was read from this one


def test_a_client_principal_with_underscores_never_reaches_a_wsgi_upstream(gateway: Gateway) -> None:
    # GIVEN an attacker who names himself admin in headers spelt with underscores
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        # WHEN he calls an upstream route that needs no credentials
        response = client.get("/open/whoami", headers=SPOOFS)
    # THEN the WSGI upstream sees no principal at all, nor any of his other headers
    assert response.status_code == 200, response.text
    seen = response.json()
    assert "HTTP_X_STRATUS_PRINCIPAL" not in seen
    assert "HTTP_X_API_KEY" not in seen
    assert "HTTP_X_REAL_IP" not in seen
    assert "HTTP_X_TENANT" not in seen
    assert seen["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"  # the socket's peer, set by the gateway
    for value in SPOOFS.values():
        assert value not in json.dumps(seen)


def test_an_authenticated_caller_gets_only_the_gateways_principal(gateway: Gateway) -> None:
    # GIVEN a caller with a valid API key who also claims to be admin, with underscores
    headers = {"x-api-key": gateway.api_key, **SPOOFS}
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        # WHEN he calls an upstream route protected by API keys
        response = client.get("/keyed/whoami", headers=headers)
    # THEN the upstream learns who he is from the gateway, and only from it
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["HTTP_X_STRATUS_PRINCIPAL"] == f"key:{gateway.key_id}"
    assert "HTTP_X_API_KEY" not in seen  # neither his key nor the spoofed one


def test_the_hyphenated_spoof_is_dropped_too(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        response = client.get("/keyed/whoami", headers={"x-api-key": gateway.api_key, "X-Stratus-Principal": "user:x"})
    assert response.json()["HTTP_X_STRATUS_PRINCIPAL"] == f"key:{gateway.key_id}"


def test_a_connection_header_naming_an_underscored_header_is_honoured(gateway: Gateway) -> None:
    # GIVEN a header the client marks hop-by-hop, named with "_" in Connection and "-" in the header itself
    headers = {"Connection": "keep-alive, X_Hop_Custom", "X-Hop-Custom": "must go", "X-Kept": "stays"}
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        seen = client.get("/open/x", headers=headers).json()
    # THEN it is not forwarded (names compare with "_" and "-" alike); the others are
    assert "HTTP_X_HOP_CUSTOM" not in seen
    assert seen["HTTP_X_KEPT"] == "stays"
