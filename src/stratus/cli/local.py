"""Commands that run the stack locally: ``validate`` and ``dev``."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from stratus.cli._app import DEFAULT_ENV, EnvOption, app, console
from stratus.errors import StratusError
from stratus.manifest import load_stack

if TYPE_CHECKING:
    from stratus.local.cloud import LocalCloud, Readiness


@app.command()
def validate(env: EnvOption = DEFAULT_ENV) -> None:
    """Check stratus.toml and list every problem, each with its table and field."""
    stack = load_stack(env=env)
    console.print(
        f"[green]✓[/] {stack.manifest_path.name}: {len(stack.services)} services, "
        f"{len(stack.resources)} resources, valid for environments {', '.join(sorted({env, *stack.environments}))}"
    )


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8080,
    env: EnvOption = DEFAULT_ENV,
    fresh: Annotated[bool, typer.Option(help="Start with empty databases.")] = False,
    invoke_port: Annotated[int | None, typer.Option(help="Port of the Lambda Invoke API [default: port + 1].")] = None,
    max_environments: Annotated[
        int, typer.Option(help="Execution environments per function when no reserved concurrency is set.")
    ] = 8,
    access_log: Annotated[bool, typer.Option(help="Log every API request.")] = True,
    reload: Annotated[bool, typer.Option(help="Reload a service when its code or stratus.toml changes.")] = True,
) -> None:
    """Run the whole stack locally: HTTP API, Lambdas, containers, AWS and PostgreSQL."""
    from stratus.local.cloud import DevOptions, run
    from stratus.local.logs import LogSink

    stack = load_stack(env=env)
    options = DevOptions(
        port=port,
        invoke_port=invoke_port,
        fresh=fresh,
        max_environments=max_environments,
        access_log=access_log,
        reload=reload,
    )
    sink = LogSink(log_dir=stack.root / ".stratus" / "logs")  # copies read by `stratus logs SERVICE`
    try:
        _run_async(run(stack, options, sink, _print_ready))
    finally:
        sink.close()


def _print_ready(cloud: LocalCloud, ready: Readiness) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    for part, where, status in ready.lines:
        table.add_row(f"[bold]{part}[/]", where, status)
    console.print(table)
    console.print(
        f"[green]✓ ready[/] in {ready.seconds:.2f} s: [bold]{cloud.api_url}[/] (Ctrl-C stops everything)",
    )


def _run_async(coro: Any) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        asyncio.run(coro)
    else:
        uvloop.run(coro)


# ------------------------------------------------------------------------------------------ events, trigger


events_app = typer.Typer(help="Print a sample event to start from (edit it, then `stratus invoke --event`).")
app.add_typer(events_app, name="events")


def _print_json(event: object) -> None:
    typer.echo(json.dumps(event, indent=2))


@events_app.command("http")
def events_http(
    method: Annotated[str, typer.Option(help="HTTP method.")] = "GET",
    path: Annotated[str, typer.Option(help="Path and query as the client sends it.")] = "/",
    body: Annotated[str, typer.Option(help="Request body.")] = "",
    content_type: Annotated[str, typer.Option(help="Content-Type of the body.")] = "application/json",
) -> None:
    """An API Gateway HTTP API request, payload format 2.0."""
    from stratus.events.httpapi import HttpRequest, build_event

    raw_path, _, query = path.partition("?")
    headers = [("host", "127.0.0.1:8080"), ("user-agent", "stratus"), ("accept", "*/*")]
    if body:
        headers.append(("content-type", content_type))
    request = HttpRequest(method.upper(), raw_path, query, headers, body.encode(), "127.0.0.1")
    _print_json(
        build_event(
            request,
            route_key="$default",
            path_parameters=None,
            api_id="local",
            account_id="123456789012",
            domain_name="127.0.0.1:8080",
            request_id="sample-request-id",
        )
    )


@events_app.command("sqs")
def events_sqs(
    body: Annotated[str, typer.Option(help="Message body.")] = '{"hello": "world"}',
    queue: Annotated[str, typer.Option(help="Queue name.")] = "my-queue",
    count: Annotated[int, typer.Option(help="Records in the batch.")] = 1,
) -> None:
    """An SQS event source mapping batch."""
    import hashlib
    import uuid

    from stratus.events import sqs

    records = []
    for _ in range(count):
        message = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": uuid.uuid4().hex,
            "Body": body,
            "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1700000000000",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1700000000001",
            },
        }
        records.append(sqs.record(message, queue_arn=f"arn:aws:sqs:us-east-1:123456789012:{queue}", region="us-east-1"))
    _print_json(sqs.event(records))


@events_app.command("schedule")
def events_schedule(rule: Annotated[str, typer.Option(help="Rule name.")] = "my-schedule") -> None:
    """An EventBridge Scheduled Event."""
    from stratus.events.schedule import rule_arn, scheduled_event

    arn = rule_arn(region="us-east-1", account_id="123456789012", rule=rule)
    _print_json(scheduled_event(rule_arn=arn, account_id="123456789012", region="us-east-1"))


@events_app.command("s3")
def events_s3(
    bucket: Annotated[str, typer.Option(help="Bucket name.")] = "my-bucket",
    key: Annotated[str, typer.Option(help="Object key.")] = "uploads/photo one.jpg",
    event: Annotated[str, typer.Option(help="Event name.")] = "ObjectCreated:Put",
    size: Annotated[int, typer.Option(help="Object size.")] = 1024,
) -> None:
    """An S3 notification."""
    from stratus.events import s3

    record = s3.record(
        event_name=event, bucket=bucket, key=key, size=size, etag="d41d8cd98f00b204e9800998ecf8427e",
        region="us-east-1", configuration_id="sample",
    )  # fmt: skip
    _print_json({"Records": [record]})


@app.command()
def trigger(
    schedule: Annotated[str, typer.Argument(help="SERVICE.SCHEDULE, e.g. worker.sweeper")],
) -> None:
    """Fire a schedule of the running stack now, with the Scheduled Event EventBridge would send."""
    from stratus.events.schedule import rule_arn, scheduled_event
    from stratus.local.client import invoke, running_stack
    from stratus.manifest import find_root

    service, _, name = schedule.partition(".")
    key = f"{service}/{name}"
    running = running_stack(find_root())
    if running is None:
        raise StratusError("no stack is running here", hint="start it with `uv run stratus dev`")
    if key not in running.schedules:
        known = ", ".join(k.replace("/", ".") for k in sorted(running.schedules)) or "none"
        raise StratusError(f"no schedule {schedule!r} in the running stack", hint=f"its schedules: {known}")
    function = running.functions[key]
    arn = rule_arn(region="us-east-1", account_id="123456789012", rule=function)
    event = json.dumps(scheduled_event(rule_arn=arn, account_id="123456789012", region="us-east-1")).encode()
    result = invoke(running, key, event)
    _print_invocation(result)


def _print_invocation(result: Any) -> None:
    if result.log:
        console.print(result.log.rstrip(), markup=False, highlight=False)
    typer.echo(result.payload.decode(errors="replace"))
    if result.function_error:
        console.print(f"[red]function error[/] ({result.function_error})")
        raise typer.Exit(1)
