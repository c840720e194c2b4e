"""Upstream routes: forwarding, hop-by-hop headers, X-Forwarded-For from the source IP only, 502 and 504."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from gateway import main, proxy
from stratus_common.environment import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from conftest import Cloud, TokenKit
    from fastapi.testclient import TestClient


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/base/slow"):
            time.sleep(2)
        if self.path.startswith("/base/big"):
            payload = b"x" * (proxy.MAX_RESPONSE_BYTES + 1)
        else:
            payload = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": [[name.lower(), value] for name, value in self.headers.items()],
                    "body": body.decode("latin-1"),
                }
            ).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.send_header("connection", "keep-alive, x-upstream-private")
        self.send_header("x-upstream-private", "hop-only")
        self.send_header("keep-alive", "timeout=5")
        self.send_header("proxy-authenticate", "Basic")
        self.send_header("x-upstream-public", "kept")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/base"
    server.shutdown()
    server.server_close()


@pytest.fixture
def echo(cloud: Cloud, upstream_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("UPSTREAM_ECHO_URL", upstream_url)
    monkeypatch.setenv("UPSTREAM_ECHO_PATH", "/echo")
    monkeypatch.setenv("UPSTREAM_ECHO_TIMEOUT", "0.5")
    main.reset()
    return upstream_url


def _seen(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json() if hasattr(response, "json") else json.loads(response)
    body["header_map"] = dict(body["headers"])
    return body


def test_a_request_is_forwarded_under_the_upstreams_url(echo: str, client: TestClient) -> None:
    response = client.post("/echo/players/7?full=1&x=%20y", content=b'{"a": 1}', headers={"x-custom": "ok"})
    assert response.status_code == 201
    seen = _seen(response)
    assert seen["method"] == "POST"
    assert seen["path"] == "/base/players/7?full=1&x=%20y"
    assert seen["body"] == '{"a": 1}'
    assert seen["header_map"]["x-custom"] == "ok"
    assert response.headers["x-upstream-public"] == "kept"


def test_the_prefix_itself_reaches_the_upstreams_root(echo: str, client: TestClient) -> None:
    assert _seen(client.get("/echo"))["path"] == "/base"


def test_hop_by_hop_headers_and_client_forwarding_headers_are_not_forwarded(
    echo: str, http_event: Callable[..., dict[str, Any]], kit: TokenKit
) -> None:
    # GIVEN a request through API Gateway whose client sends hop-by-hop, spoofed forwarding and credential headers
    headers = {
        "connection": "keep-alive, x-hop-custom",
        "x-hop-custom": "must go",
        "keep-alive": "timeout=5",
        "te": "trailers",
        "upgrade": "websocket",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        "x-forwarded-for": "6.6.6.6, 7.7.7.7",
        "forwarded": "for=6.6.6.6",
        "x-real-ip": "6.6.6.6",
        "authorization": "Bearer secret-token-value",
        "x-api-key": "stk_secret_api_key_value",
        "x-stratus-principal": "user:admin",
        "x-custom": "stays",
    }
    event = http_event("GET", "/echo/x", headers=headers, source_ip="203.0.113.44")
    # WHEN the gateway forwards it
    response = main.handler(event, None)
    assert response["statusCode"] == 200
    seen = _seen(kit.lambda_json(response) and json.dumps(kit.lambda_json(response)))
    names = seen["header_map"]
    # THEN none of those reach the upstream...
    for name in ("connection", "x-hop-custom", "keep-alive", "te", "upgrade", "proxy-authorization", "forwarded",
                 "x-real-ip", "authorization", "x-api-key", "x-stratus-principal"):  # fmt: skip
        assert name not in names or (name == "connection" and names[name].lower() in ("keep-alive", "close")), name
    assert "secret-token-value" not in json.dumps(seen) and "stk_secret_api_key_value" not in json.dumps(seen)
    # ...X-Forwarded-For is the API's source IP and nothing else...
    assert names["x-forwarded-for"] == "203.0.113.44"
    assert names["x-forwarded-proto"] == "https"
    assert names["x-request-id"] == event["requestContext"]["requestId"]
    # ...and the other headers do
    assert names["x-custom"] == "stays"


def test_hop_by_hop_headers_of_the_answer_are_dropped(echo: str, client: TestClient) -> None:
    response = client.get("/echo/x")
    assert "x-upstream-private" not in response.headers
    assert "keep-alive" not in response.headers
    assert "proxy-authenticate" not in response.headers
    assert response.headers["x-upstream-public"] == "kept"


def test_an_authenticated_caller_is_named_to_the_upstream(
    echo: str, http_event: Callable[..., dict[str, Any]], kit: TokenKit
) -> None:
    event = http_event("GET", "/echo/x", authorizer_context={"principalId": "key:abcd", "authMode": "api_key"})
    seen = kit.lambda_json(main.handler(event, None))
    assert dict(seen["headers"])["x-stratus-principal"] == "key:abcd"


def test_an_unreachable_upstream_is_a_502(cloud: Cloud, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("UPSTREAM_GONE_URL", f"http://127.0.0.1:{port}")
    main.reset()
    response = client.get("/gone/x")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "bad_gateway"


def test_a_slow_upstream_is_a_504(echo: str, client: TestClient) -> None:
    started = time.monotonic()
    response = client.get("/echo/slow")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "gateway_timeout"
    assert time.monotonic() - started < 1.9  # the timeout (0.5 s), not the upstream's 2 s


def test_an_oversized_answer_is_a_502(echo: str, client: TestClient) -> None:
    assert client.get("/echo/big").status_code == 502


@pytest.mark.parametrize(
    "path",
    ["/echo/../secret", "/echo/%2e%2e/secret", "/echo/a%2fb", "/echo/a%2Fb", "/echo/a%5cb", "/echo/./x"],
)
def test_path_tricks_are_refused_not_forwarded(
    echo: str, http_event: Callable[..., dict[str, Any]], kit: TokenKit, path: str
) -> None:
    response = main.handler(http_event("GET", path), None)
    assert response["statusCode"] in (400, 404), response
    if response["statusCode"] == 400:
        assert kit.lambda_json(response)["error"]["code"] == "invalid_path"


def test_a_protected_upstream_needs_a_valid_token(
    echo: str, client: TestClient, monkeypatch: pytest.MonkeyPatch, cloud: Cloud, kit: TokenKit
) -> None:
    monkeypatch.setenv("UPSTREAM_ECHO_AUTH", "token")
    main.reset()
    refused = client.get("/echo/x")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    session_id = cloud.create_session("user-5")
    token = kit.sign(kit.claims("user-5", session_id))
    allowed = client.get("/echo/x", headers={"authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert dict(allowed.json()["headers"])["x-stratus-principal"] == "user:user-5"


def test_the_default_prefix_comes_from_the_name() -> None:
    table = proxy.load_upstreams({"UPSTREAM_USER_SERVICE_URL": "https://users.example.com"})
    found = table.match("/user/42")
    assert found is not None and found[1].name == "USER_SERVICE"
    assert found[1].timeout == proxy.DEFAULT_TIMEOUT


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"UPSTREAM_A_URL": "ftp://x"}, "UPSTREAM_A_URL"),
        ({"UPSTREAM_A_URL": "https://x/?q=1"}, "UPSTREAM_A_URL"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_PATH": "/health"}, "UPSTREAM_A_PATH"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_PATH": "/sessions/x"}, "UPSTREAM_A_PATH"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_PATH": "no-slash"}, "UPSTREAM_A_PATH"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_AUTH": "maybe"}, "UPSTREAM_A_AUTH"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_TIMEOUT": "60"}, "UPSTREAM_A_TIMEOUT"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_A_RATE_LIMIT": "1/0"}, "UPSTREAM_A_RATE_LIMIT"),
        ({"UPSTREAM_A_URL": "https://x", "UPSTREAM_B_URL": "https://y", "UPSTREAM_B_PATH": "/a"}, "UPSTREAM_B_PATH"),
    ],
)
def test_bad_upstream_configuration_names_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        proxy.load_upstreams(environ)
