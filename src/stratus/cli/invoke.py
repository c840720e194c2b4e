"""``stratus invoke``: one invocation of a Lambda service, in the running stack or in a zip booted as Lambda boots
it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from stratus.cli._app import DEFAULT_ENV, LOCAL, EnvOption, app, console, service_of
from stratus.errors import StratusError
from stratus.manifest import LambdaService, Stack, load_stack


@app.command(rich_help_panel=LOCAL)
def invoke(
    service: Annotated[str, typer.Argument(help="The Lambda service.")],
    artifact: Annotated[Path | None, typer.Option(help="Boot this zip (from `stratus build`).")] = None,
    build_artifact: Annotated[
        bool, typer.Option("--build", help="Build the service for this machine first and boot that zip.")
    ] = False,
    event: Annotated[str | None, typer.Option(help="The event: a JSON file, or - for stdin.")] = None,
    method: Annotated[str, typer.Option(help="HTTP method of the API request.")] = "GET",
    path: Annotated[
        str | None, typer.Option(help="Path as the HTTP API receives it [default: <service path>/health].")
    ] = None,
    header: Annotated[list[str] | None, typer.Option(help="A request header, name:value (repeatable).")] = None,
    data: Annotated[str | None, typer.Option(help="The request body.")] = None,
    handler: Annotated[str | None, typer.Option(help="Another handler of the zip (e.g. a queue consumer).")] = None,
    env_var: Annotated[list[str] | None, typer.Option(help="An extra variable, NAME=value (repeatable).")] = None,
    aws_endpoint: Annotated[str | None, typer.Option(help="AWS_ENDPOINT_URL for the function.")] = None,
    env: EnvOption = DEFAULT_ENV,
) -> None:
    """Invoke a Lambda service (SERVICE or SERVICE:HANDLER) and print its response and logs: in the running
    `stratus dev`, or with --artifact (or --build) in a fresh environment booted from the zip as Lambda does,
    on a clean interpreter driven through the Lambda Runtime API."""
    from stratus.deploy.artifact import Artifact, invoke_artifact
    from stratus.local.logs import LogSink

    stack = load_stack(env=env)
    if ":" in service:
        service, _, handler = service.partition(":")
    svc = service_of(stack, service)
    if not isinstance(svc, LambdaService):
        raise StratusError(f"{service} is a {svc.kind} service: only Lambda services are invoked")
    if artifact is None and not build_artifact:
        _invoke_running(
            stack, service, handler, _event_payload(stack, service, event, method, path, header or [], data)
        )
        return
    if build_artifact:
        artifact = _build_for_host(stack, service)
    assert artifact is not None
    payload = _event_payload(stack, service, event, method, path, header or [], data)
    extra = dict(_pair(item, "=", "--env-var") for item in env_var or [])
    sink = LogSink(sys.stderr, buffered=False)
    result = asyncio.run(
        invoke_artifact(
            Artifact.open(artifact), stack, service, payload, sink,
            endpoint=aws_endpoint, extra_env=extra, handler=handler,
        )
    )  # fmt: skip
    typer.echo(result.payload.decode(errors="replace"))
    summary = f"{result.duration_ms:.1f} ms{', cold start' if result.cold else ''}"
    if result.function_error:
        console.print(f"[red]function error[/] ({result.function_error}), {summary}")
        raise typer.Exit(1)
    try:
        status = json.loads(result.payload).get("statusCode")
    except (ValueError, AttributeError):
        status = None
    console.print(f"[green]✓[/] {f'HTTP {status}, ' if status else ''}{summary}")


def _invoke_running(stack: Stack, service: str, handler: str | None, payload: bytes) -> None:
    from stratus.cli.local import print_invocation
    from stratus.local import client

    running = client.running_stack(stack.root)
    if running is None or running.env != stack.env:
        raise StratusError(
            f"no stack runs here for environment {stack.env!r}",
            hint="start it with `uv run stratus dev`, or invoke a fresh environment with --build (or --artifact ZIP)",
        )
    print_invocation(client.invoke(running, client.function_key(running, service, handler), payload))


def _build_for_host(stack: Stack, service: str) -> Path:
    from stratus.build.package import build_for_host

    result = build_for_host(stack, service)
    console.print(f"[dim]built {result.path.name}[/]")
    return result.path


def _event_payload(
    stack: Stack, service: str, event: str | None, method: str, path: str | None, headers: list[str], data: str | None
) -> bytes:
    from stratus.deploy.artifact import http_event

    if event is not None:
        text = sys.stdin.read() if event == "-" else Path(event).read_text()
        try:
            json.loads(text)
        except ValueError as exc:
            raise StratusError(f"the event is not JSON: {exc}") from exc
        return text.encode()
    raw_path, _, query = (path or "").partition("?")
    return http_event(
        stack,
        service,
        method=method,
        path=raw_path or None,
        query=query,
        headers=[_pair(h, ":", "--header") for h in headers],
        body=(data or "").encode(),
    )


def _pair(item: str, sep: str, option: str) -> tuple[str, str]:
    key, found, value = item.partition(sep)
    if not found or not key.strip():
        raise StratusError(f"{option} {item!r}: expected NAME{sep}value")
    return key.strip(), value.strip() if sep == ":" else value
