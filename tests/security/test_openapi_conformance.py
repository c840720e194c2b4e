"""The OpenAPI documents describe the services: schemathesis, with every check, over the gateway (``/openapi.json``),
the idp (``/auth/openapi.json``) and the worker (``/worker/openapi.json``, behind an API key) of the running stack,
through its HTTP API. No 5xx, every status documented, every answer in its schema, a 405 with ``Allow`` for a method
a path does not have, schema-valid requests accepted.

The budget is small (:data:`EXAMPLES` per operation, a fixed seed, no example database, so a run replays nothing of
an earlier one); ``bench/fuzz.py`` runs the same with 25. A failure lists what schemathesis found, one block each.
The runs send valid credentials, so the authorizer's own answers are checked apart: the worker's 401 and 403 are
what its document says.

Two choices, deliberate:

- the requests come from a source address of their own (:func:`relay`): the HTTP API counts the idp's sign-in and
  registration limits per source IP, and the other tests of the session share the stack;
- a path parameter the local HTTP API does not route (a control character, ``?``, invalid UTF-8, a ``.``/``..`` or
  empty segment, once decoded: ``stratus.local.httpapi.routes``) is not generated (:func:`filter_case`). The
  emulator answers those with API Gateway's own ``{"message":"Not Found"}`` (it refuses such paths on purpose), which
  is not the service's document to describe; the services' in-process fuzz tests send such values to the app.

This file is also the schemathesis process's entry point: ``python tests/security/test_openapi_conformance.py run
...`` registers :func:`filter_case` and runs schemathesis's command line.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.devstack import DevStack

EXAMPLES = 3
"""Examples per operation in the test (bench/fuzz.py: 25)."""
SEED = 20261202
PASSWORD = "conformance passphrase, long enough 7"
SOURCES = {"gateway": "127.0.0.91", "idp": "127.0.0.92", "worker": "127.0.0.93"}
"""The source address of each service's run: per-IP limits of one never touch another's, or other tests'."""


@dataclass(frozen=True)
class Service:
    name: str
    path: str  # where the HTTP API routes it
    credentials: str  # what its runs send: "none", "api_key" (x-api-key) or "token" (a Bearer access token)


SERVICES = (
    Service("gateway", "", "token"),  # signed in, so /sessions/current answers more than its 401
    Service("idp", "/auth", "none"),
    Service("worker", "/worker", "api_key"),
)


@dataclass
class Outcome:
    """What one schemathesis run found."""

    service: str
    exit_code: int
    seconds: float
    generated: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors

    def report(self) -> str:
        """The failures, one block each (what was checked, what came back, how to reproduce)."""
        lines = [f"{self.service}: exit code {self.exit_code}, {len(self.failures)} failures, {self.generated} cases"]
        lines += self.failures + self.errors
        if not self.failures and not self.errors:
            lines.append(self.output[-4000:])  # no report to read: what the command line said
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- the hooks

_UNROUTABLE = re.compile(r"[\x00-\x1f\x7f?]")  # stratus.local.httpapi.routes refuses these once decoded


def routable(value: object) -> bool:
    """Whether the local HTTP API routes a path with this (percent-encoded) path parameter value."""
    try:
        text = unquote(str(value), errors="strict")
    except UnicodeDecodeError:
        return False
    segments = text.split("/")
    if _UNROUTABLE.search(text) or any(segment in (".", "..") for segment in segments):
        return False
    return "" not in segments[:-1] if len(segments) > 1 else True  # no empty segment but a trailing "/"


def filter_case(context: Any, case: Any) -> bool:
    """schemathesis's ``filter_case`` hook (every phase): only paths the local HTTP API routes."""
    parameters: Mapping[str, object] | None = case.path_parameters
    return not parameters or all(routable(value) for value in parameters.values())


# ------------------------------------------------------------------------------------------- the runs


@contextlib.contextmanager
def relay(target: str, source: str) -> Iterator[str]:
    """A TCP relay on 127.0.0.1 to *target*'s host and port, connecting from *source*: the HTTP API then sees
    *source* as the requests' ``sourceIp`` (schemathesis's client cannot choose its address). Yields its URL."""
    parts = urlsplit(target)
    destination = (parts.hostname or "127.0.0.1", parts.port or 80)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def pump(reader: socket.socket, writer: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := reader.recv(65536):
                writer.sendall(chunk)
        with contextlib.suppress(OSError):
            writer.shutdown(socket.SHUT_WR)

    def connection(client: socket.socket) -> None:
        with client, socket.create_connection(destination, timeout=60, source_address=(source, 0)) as upstream:
            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                client, _ = listener.accept()
                client.settimeout(60)
                threading.Thread(target=connection, args=(client,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}{parts.path.rstrip('/')}"
    finally:
        stop.set()
        acceptor.join()
        listener.close()


def signed_in(url: str, source: str) -> str:
    """A Bearer access token of a fresh account (registered and signed in from *source*)."""
    username = f"conformance-{uuid.uuid4().hex[:12]}"
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
        registered = client.post("/auth/register", json={"username": username, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        form = {"grant_type": "password", "username": username, "password": PASSWORD}
        answer = client.post("/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _failure_block(operation: str, text: str) -> list[str]:
    """One JUnit failure of schemathesis as lines: each check that failed, the answer, the command reproducing it."""
    blocks: list[str] = []
    lines = [line.strip() for line in text.splitlines()]
    answer = next((line + " " + lines[i + 2] for i, line in enumerate(lines[:-2]) if line.startswith("[")), "")
    curl = next((line for line in lines if line.startswith("curl ")), "")
    for i, line in enumerate(lines):
        if line.startswith("- ST"):
            detail = []
            for following in lines[i + 2 :]:
                if not following or following.startswith(("- ST", "[")):
                    break
                detail.append(following)
            blocks.append(f"  {operation}: {line[2:]}: {' / '.join(detail)}\n    {answer[:300]}\n    {curl[:300]}")
    return blocks


def fuzz(service: Service, url: str, *, headers: Mapping[str, str], examples: int, seed: int, work: Path) -> Outcome:
    """Run schemathesis, every check, over *service* of the stack at *url*; read what it found from its reports."""
    junit, report = work / f"{service.name}.xml", work / f"{service.name}.json"
    base = f"{url}{service.path}"
    config = Path(__file__).with_name("schemathesis.toml")
    command = [sys.executable, str(Path(__file__).resolve()), "--config-file", str(config),
               "run", f"{base}/openapi.json", "--url", base,
               "--checks", "all", "--max-examples", str(examples), "--seed", str(seed),
               "--generation-database", ":memory:", "--no-color", "--report", "junit,json",
               "--report-junit-path", str(junit), "--report-json-path", str(report)]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    outcome = Outcome(service.name, done.returncode, time.monotonic() - started, output=done.stdout + done.stderr)
    if report.exists():
        summary = json.loads(report.read_text())
        outcome.generated = int(summary.get("test_cases", {}).get("generated", 0))
        outcome.errors = [f"  error: {json.dumps(error)[:500]}" for error in summary.get("errors", [])]
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            for failure in [*case.iter("failure"), *case.iter("error")]:
                outcome.failures += _failure_block(case.get("name", "?"), failure.text or "")
    return outcome


def credentials(service: Service, url: str, *, api_key: str, source: str) -> dict[str, str]:
    """The headers of *service*'s run."""
    if service.credentials == "api_key":
        return {"x-api-key": api_key}
    if service.credentials == "token":
        return {"authorization": f"Bearer {signed_in(url, source)}"}
    return {}


# ------------------------------------------------------------------------------------------- the test


@pytest.mark.e2e
@pytest.mark.parametrize("service", SERVICES, ids=[service.name for service in SERVICES])
def test_the_openapi_document_describes_the_service(repo_stack: DevStack, service: Service, tmp_path: Path) -> None:
    # GIVEN the service of the running stack, reached from an address of its own
    source = SOURCES[service.name]
    headers = credentials(service, repo_stack.url, api_key=repo_stack.api_key, source=source)  # type: ignore[attr-defined]
    with relay(repo_stack.url, source) as url:
        # WHEN schemathesis runs every check over its OpenAPI document
        outcome = fuzz(service, url, headers=headers, examples=EXAMPLES, seed=SEED, work=tmp_path)
    # THEN it finds nothing
    if outcome.generated == 0 or not outcome.passed:
        pytest.fail(outcome.report(), pytrace=False)


@pytest.mark.e2e
def test_the_workers_document_describes_the_authorizers_answers(repo_stack: DevStack) -> None:
    # GIVEN the worker's document (which needs its API key)
    transport = httpx.HTTPTransport(local_address=SOURCES["worker"])
    with httpx.Client(base_url=f"{repo_stack.url}/worker", transport=transport, timeout=30) as client:
        document = client.get("/openapi.json", headers={"x-api-key": repo_stack.api_key}).json()  # type: ignore[attr-defined]
        # WHEN a route is called without a key, and with a key the authorizer refuses
        answers = {
            401: client.get(f"/jobs/{uuid.uuid4()}"),
            403: client.get(f"/jobs/{uuid.uuid4()}", headers={"x-api-key": "stk_0000000000000000_" + "x" * 43}),
        }
    # THEN each is the HTTP API's own answer, which the document states
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        assert set(answer.json()) == {"message"}
        documented = document["paths"]["/jobs/{job_id}"]["get"]["responses"][str(status)]
        assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HttpApiError"}
    assert document["components"]["schemas"]["HttpApiError"]["required"] == ["message"]


def _main() -> None:
    import schemathesis
    from schemathesis.cli import schemathesis as command_line

    schemathesis.hook(filter_case)
    command_line()


if __name__ == "__main__":
    _main()
