"""The local Lambda API as an ASGI app, called directly (httpx's ASGITransport, or raw ASGI messages where the
body's arrival matters) with functions that record what they are asked: client context, qualifiers, payload
limits, asynchronous invocations and their retries, the read operations' shapes, and refusing web pages."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest

from stratus.local.iam.operations import resolve
from stratus.local.invoke_api import ASYNC_LIMIT, SYNC_LIMIT, InvokeApi
from stratus.local.lambda_api.async_invoke import AsyncInvoker, delays_from_environ
from stratus.local.logs import LogSink
from stratus.local.runtime.function import FunctionConfig, InvokeResult, TooManyRequests
from stratus.manifest import load_stack
from stratus.manifest.functions import LIVE_ALIAS
from stratus.manifest.plan import Plan

REGION, ACCOUNT = "us-east-1", "123456789012"
MANIFEST = """
[project]
name = "demo"

[services.web]
kind = "lambda"
path = "/web"
reserved_concurrency = 2
provisioned_concurrency = 1
env = { GREETING = "hi" }

[services.other]
kind = "lambda"
path = "/other"
"""
MODEL = botocore.session.get_session().get_service_model("lambda")
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """A function that records its invocations and answers with the outcomes it is given, in turn."""

    def __init__(self, name: str, source: str, *, outcomes: list[str | None] | None = None, **environ: str) -> None:
        self.config = FunctionConfig(
            name=name, source=source, handler=f"{source}.main.handler", task_root=Path("/tmp") / source,
            memory=256, timeout=3, reserved_concurrency=2 if source == "web" else None,
            environ={"PATH": "/usr/bin", "AWS_SECRET_ACCESS_KEY": "x", **environ},
            arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}", log_group=f"/aws/lambda/{name}",
        )  # fmt: skip
        self.calls: list[dict[str, Any]] = []
        self.outcomes = outcomes or []

    async def invoke(
        self, payload: bytes, *, client_context: str | None = None, request_id: str | None = None,
        qualifier: str | None = None, version: str = "$LATEST",
    ) -> Any:  # fmt: skip
        self.calls.append({"payload": payload, "client_context": client_context, "request_id": request_id,
                           "qualifier": qualifier, "version": version})  # fmt: skip
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome == "throttle":
            raise TooManyRequests("Rate Exceeded.")
        return InvokeResult(request_id or "rid", b'{"ok":true}', outcome, 1.0, cold=False)

    def logs_of(self, request_id: str) -> bytes:
        return b""


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("demo")
    (root / "stratus.toml").write_text(textwrap.dedent(MANIFEST))
    return load_stack(root).plan


@pytest.fixture
def web() -> Recorder:
    return Recorder("demo-dev-web", "web", GREETING="hi", SERVICE_NAME="web", STRATUS_ENV="dev")


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def api(plan: Plan, web: Recorder, lines: Lines) -> InvokeApi:
    functions: dict[str, Any] = {"web": web, "other": Recorder("demo-dev-other", "other")}
    sink = LogSink(lines, buffered=False)  # type: ignore[arg-type]
    return InvokeApi(functions, sink, REGION, ACCOUNT, plan=lambda: plan, retry_delays=(0.01, 0.02))


@pytest.fixture
async def client(api: InvokeApi) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9001") as http:
        yield http
    await api.close()


def invoke_path(name: str = "demo-dev-web") -> str:
    return f"/2015-03-31/functions/{name}/invocations"


def b64(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


# --- client context ------------------------------------------------------------------------------------------


async def test_the_client_context_reaches_the_function_as_compact_json(
    client: httpx.AsyncClient, web: Recorder
) -> None:
    context = {"custom": {"k": "tab\there"}, "env": {"locale": "fr"}, "client": {"installation_id": "i-1"}}
    response = await client.post(invoke_path(), content=b"{}", headers={"x-amz-client-context": b64(context)})
    assert response.status_code == 200
    sent = web.calls[0]["client_context"]
    assert json.loads(sent) == context
    assert "\t" not in sent and "\n" not in sent and ": " not in sent


@pytest.mark.parametrize("value", ["not base64!", b64([1, 2]), base64.b64encode(b"{nope").decode(), b64("text")])
async def test_a_client_context_that_is_no_base64_json_object_is_refused(client: httpx.AsyncClient, value: str) -> None:
    response = await client.post(invoke_path(), content=b"{}", headers={"x-amz-client-context": value})
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert response.json() == {"Type": "User", "message": "Client context must be a valid Base64-encoded JSON object."}


async def test_a_client_context_over_3583_bytes_is_refused(client: httpx.AsyncClient, web: Recorder) -> None:
    value = b64({"custom": {"k": "x" * 2700}})
    assert len(value) > 3583
    response = await client.post(invoke_path(), content=b"{}", headers={"x-amz-client-context": value})
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert not web.calls
    fits = b64({"custom": {"k": "x" * 2600}})
    assert len(fits) <= 3583
    assert (await client.post(invoke_path(), content=b"{}", headers={"x-amz-client-context": fits})).status_code == 200


async def test_an_event_invocation_does_not_pass_the_client_context(client: httpx.AsyncClient, web: Recorder) -> None:
    headers = {"x-amz-client-context": b64({"custom": {}}), "x-amz-invocation-type": "Event"}
    assert (await client.post(invoke_path(), content=b"{}", headers=headers)).status_code == 202
    await asyncio.sleep(0.01)
    assert web.calls[0]["client_context"] is None


# --- qualifiers ----------------------------------------------------------------------------------------------


async def test_latest_and_the_alias_run_and_say_which_version_ran(client: httpx.AsyncClient, web: Recorder) -> None:
    latest = await client.post(invoke_path(), params={"Qualifier": "$LATEST"}, content=b"{}")
    assert latest.headers["x-amz-executed-version"] == "$LATEST"
    live = await client.post(invoke_path(), params={"Qualifier": "live"}, content=b"{}")
    assert live.status_code == 200 and live.headers["x-amz-executed-version"] == "1"
    by_name = await client.post(invoke_path("demo-dev-web:live"), content=b"{}")
    assert by_name.status_code == 200 and by_name.headers["x-amz-executed-version"] == "1"
    # the function is told what the caller named (its invoked ARN ends with it) and which version that selects
    assert [(c["qualifier"], c["version"]) for c in web.calls] == [("$LATEST", "$LATEST"), ("live", "1"), ("live", "1")]


async def test_an_unknown_qualifier_is_resource_not_found(client: httpx.AsyncClient, web: Recorder) -> None:
    response = await client.post(invoke_path(), params={"Qualifier": "prod"}, content=b"{}")
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert (
        response.json()["message"]
        == f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-dev-web:prod"
    )
    # A function without provisioned concurrency has no alias at all
    other = await client.post(invoke_path("demo-dev-other"), params={"Qualifier": "live"}, content=b"{}")
    assert other.status_code == 404
    assert other.json()["message"].endswith("function:demo-dev-other:live")
    assert not web.calls


def test_the_alias_is_the_one_the_terraform_module_creates() -> None:
    main_tf = Path(__file__).parents[2] / "src/stratus/infra/modules/lambda-service/main.tf"
    block = re.search(r'resource "aws_lambda_alias" "live" \{(.*?)\n\}', main_tf.read_text(), re.S)
    assert block is not None
    assert re.search(r'\bname\s*=\s*"([^"]+)"', block.group(1)).group(1) == LIVE_ALIAS  # type: ignore[union-attr]
    assert "var.provisioned_concurrency == null ? 0 : 1" in block.group(1)  # only with provisioned concurrency


# --- payload limits ------------------------------------------------------------------------------------------


async def call(api: InvokeApi, chunks: list[bytes], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes, int]:
    """Raw ASGI: the answer, and how many body chunks the app read."""
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += 1
        return {"type": "http.request", "body": chunks[taken - 1], "more_body": taken < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": invoke_path(), "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()], "server": ("127.0.0.1", 9001),
    }  # fmt: skip
    await api(scope, receive, send)  # type: ignore[arg-type]
    start, body = sent
    answer = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], answer, body["body"], taken


async def test_a_synchronous_payload_over_6_mb_is_refused_without_being_read(api: InvokeApi, web: Recorder) -> None:
    size = SYNC_LIMIT + 1
    status, headers, body, taken = await call(api, [b"x" * 65536], {"content-length": str(size)})
    assert status == 413 and taken == 0
    assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
    message = f"{size} byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)"
    assert json.loads(body)["message"] == message
    # Without a length, reading stops at the first chunk past the limit
    chunk = b" " * (1024 * 1024)
    status, _, body, taken = await call(api, [chunk] * 10, {})
    assert status == 413 and taken == 7
    assert json.loads(body)["message"].startswith(f"{7 * len(chunk)} byte payload is too large")
    assert not web.calls


async def test_an_event_payload_over_1_mb_is_refused(api: InvokeApi, web: Recorder) -> None:
    payload = b'"' + b"x" * (ASYNC_LIMIT - 1) + b'"'
    assert len(payload) == ASYNC_LIMIT + 1
    status, _, body, _ = await call(api, [payload], {"x-amz-invocation-type": "Event"})
    assert status == 413
    assert json.loads(body)["message"] == (
        f"{ASYNC_LIMIT + 1} byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    status, _, _, _ = await call(api, [payload[:-2] + b'"'], {"x-amz-invocation-type": "Event"})
    assert status == 202


# --- asynchronous invocations --------------------------------------------------------------------------------


async def test_an_event_answers_its_request_id_and_failures_are_retried_twice(
    client: httpx.AsyncClient, web: Recorder, lines: Lines
) -> None:
    web.outcomes = ["Unhandled", "Unhandled", "Unhandled"]
    response = await client.post(invoke_path(), content=b'{"a":1}', headers={"x-amz-invocation-type": "Event"})
    assert response.status_code == 202
    request_id = response.headers["x-amzn-requestid"]
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    for _ in range(100):
        if len(web.calls) == 3 and any("discarded" in line for line in lines.lines):
            break
        await asyncio.sleep(0.01)
    assert [call["request_id"] for call in web.calls] == [request_id] * 3
    logged = "\n".join(lines.lines)
    assert f"{request_id} async invocation failed (Unhandled); retry 1 of 2 in 0.01 s" in logged
    assert f"{request_id} async invocation failed (Unhandled); retry 2 of 2 in 0.02 s" in logged
    assert f"{request_id} async invocation failed (Unhandled) after 3 attempts; event discarded" in logged


async def test_a_success_is_not_retried_and_a_throttled_event_is(web: Recorder, lines: Lines) -> None:
    invoker = AsyncInvoker(LogSink(lines, buffered=False), delays=(0.01, 0.01), throttle=(0.01, 0.02))  # type: ignore[arg-type]
    web.outcomes = ["throttle", "throttle", None]
    invoker.submit(web, b"{}", "rid-1")  # type: ignore[arg-type]
    for _ in range(100):
        if not invoker.pending:
            break
        await asyncio.sleep(0.01)
    assert [call["request_id"] for call in web.calls] == ["rid-1"] * 3
    assert sum("throttled (TooManyRequestsException); retrying in" in line for line in lines.lines) == 2


async def test_closing_cancels_pending_retries(web: Recorder) -> None:
    invoker = AsyncInvoker(LogSink(Lines(), buffered=False), delays=(60.0, 120.0))  # type: ignore[arg-type]
    web.outcomes = ["Unhandled"]
    invoker.submit(web, b"{}", "rid-2")  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert invoker.pending == 1 and len(web.calls) == 1
    await asyncio.wait_for(invoker.close(), 1)
    assert invoker.pending == 0 and len(web.calls) == 1


def test_the_retry_delays_are_aws_s_unless_the_environment_shortens_them() -> None:
    assert delays_from_environ({}) == (60.0, 120.0)
    assert delays_from_environ({"STRATUS_ASYNC_RETRY_DELAYS": "0.2, 0.4"}) == (0.2, 0.4)
    with pytest.raises(ValueError, match="STRATUS_ASYNC_RETRY_DELAYS"):
        delays_from_environ({"STRATUS_ASYNC_RETRY_DELAYS": "soon"})


# --- GetFunction, GetFunctionConfiguration, ListFunctions ----------------------------------------------------


def members(operation: str) -> set[str]:
    return set(MODEL.operation_model(operation).output_shape.members)


async def test_get_function_configuration_describes_the_function_as_the_terraform_creates_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/2015-03-31/functions/demo-dev-web/configuration")
    assert response.status_code == 200
    config = response.json()
    assert set(config) <= members("GetFunctionConfiguration")
    assert config["FunctionName"] == "demo-dev-web"
    assert config["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-dev-web"
    assert config["Runtime"] == "python3.13" and config["Handler"] == "web.main.handler"
    assert config["Role"] == f"arn:aws:iam::{ACCOUNT}:role/demo-dev-web-role"
    assert (config["Timeout"], config["MemorySize"], config["Architectures"]) == (3, 256, ["arm64"])
    # exactly the declared variables, with the values the function runs with: not PATH, not credentials
    assert config["Environment"] == {"Variables": {"GREETING": "hi", "SERVICE_NAME": "web", "STRATUS_ENV": "dev"}}
    assert (config["State"], config["LastUpdateStatus"], config["PackageType"]) == ("Active", "Successful", "Zip")
    assert config["LoggingConfig"]["LogGroup"] == "/aws/lambda/demo-dev-web"
    assert config["TracingConfig"] == {"Mode": "Active"}
    assert config["DeadLetterConfig"]["TargetArn"].endswith(":demo-dev-web-async-dlq")


async def test_get_function_adds_the_code_and_the_reserved_concurrency(client: httpx.AsyncClient) -> None:
    response = await client.get("/2015-03-31/functions/demo-dev-web", params={"Qualifier": "live"})
    assert response.status_code == 200
    data = response.json()
    assert set(data) <= members("GetFunction")
    assert data["Code"]["RepositoryType"] == "S3" and data["Code"]["Location"].startswith("file://")
    assert data["Concurrency"] == {"ReservedConcurrentExecutions": 2}
    assert data["Configuration"]["Version"] == "1"
    other = (await client.get("/2015-03-31/functions/demo-dev-other")).json()
    assert "Concurrency" not in other and other["Configuration"]["Version"] == "$LATEST"
    missing = await client.get("/2015-03-31/functions/nope")
    assert missing.status_code == 404 and missing.headers["x-amzn-errortype"] == "ResourceNotFoundException"


async def test_list_functions_pages_with_marker_and_max_items(client: httpx.AsyncClient) -> None:
    first = (await client.get("/2015-03-31/functions/", params={"MaxItems": "1"})).json()
    assert set(first) <= members("ListFunctions")
    assert [f["FunctionName"] for f in first["Functions"]] == ["demo-dev-other"]
    second = (
        await client.get("/2015-03-31/functions/", params={"MaxItems": "1", "Marker": first["NextMarker"]})
    ).json()
    assert [f["FunctionName"] for f in second["Functions"]] == ["demo-dev-web"]
    assert "NextMarker" not in second
    every = (await client.get("/2015-03-31/functions/", params={"FunctionVersion": "ALL"})).json()
    assert [(f["FunctionName"], f["Version"]) for f in every["Functions"]] == [
        ("demo-dev-other", "$LATEST"), ("demo-dev-web", "$LATEST"), ("demo-dev-web", "1"),
    ]  # fmt: skip
    bad = await client.get("/2015-03-31/functions/", params={"Marker": "garbage"})
    assert bad.status_code == 400 and bad.headers["x-amzn-errortype"] == "InvalidParameterValueException"


async def test_an_unknown_operation_is_404(client: httpx.AsyncClient) -> None:
    response = await client.delete("/2015-03-31/functions/demo-dev-web")
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert response.json()["Type"] == "User"


def test_iam_authorises_the_read_operations_as_aws_does() -> None:
    def checks(method: str, path: str, query: str = "") -> tuple[tuple[str, str], ...]:
        op = resolve(
            "lambda", method, path, query, {}, b"", region=REGION, account=ACCOUNT, secret_arn=lambda r, n: None
        )
        return op.checks

    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-dev-web"
    assert checks("GET", "/2015-03-31/functions/") == (("lambda:ListFunctions", "*"),)
    assert checks("GET", "/2015-03-31/functions/demo-dev-web") == (("lambda:GetFunction", arn),)
    assert checks("GET", "/2015-03-31/functions/demo-dev-web/configuration", "Qualifier=live") == (
        ("lambda:GetFunctionConfiguration", f"{arn}:live"),
    )


# --- web pages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://localhost:8080"},  # another local port: the HTTP API's pages are not this API
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"host": "rebound.example:9001"},  # a DNS name rebound to 127.0.0.1
    ],
)
async def test_a_request_from_a_web_page_is_refused(
    client: httpx.AsyncClient, web: Recorder, headers: dict[str, str]
) -> None:
    response = await client.post(invoke_path(), content=b"{}", headers={"content-type": "text/plain", **headers})
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert not web.calls


async def test_the_api_s_own_origin_and_sdk_requests_are_served(client: httpx.AsyncClient, web: Recorder) -> None:
    for headers in (
        {},
        {"origin": "http://127.0.0.1:9001"},
        {"origin": "http://localhost:9001"},
        {"sec-fetch-site": "same-origin"},
    ):
        assert (await client.post(invoke_path(), content=b"{}", headers=headers)).status_code == 200
    assert len(web.calls) == 4


def test_the_api_reads_the_retry_delays_once_and_survives_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, lines: Lines
) -> None:
    sink = LogSink(lines, buffered=False)  # type: ignore[arg-type]
    monkeypatch.setenv("STRATUS_ASYNC_RETRY_DELAYS", "0.5,1")
    api = InvokeApi({}, sink, REGION, ACCOUNT)
    monkeypatch.setenv("STRATUS_ASYNC_RETRY_DELAYS", "9")
    assert api.async_invoker.delays == (0.5, 1.0)
    monkeypatch.setenv("STRATUS_ASYNC_RETRY_DELAYS", "later")
    assert InvokeApi({}, sink, REGION, ACCOUNT).async_invoker.delays == (60.0, 120.0)
    assert any("STRATUS_ASYNC_RETRY_DELAYS='later'" in line for line in lines.lines)
