"""Commands of the local cloud: ``validate``, ``dev``, ``events``, ``trigger``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from stratus.cli._app import DEFAULT_ENV, LOCAL, PROJECT, EnvOption, app, console
from stratus.manifest import find_root, load_stack

if TYPE_CHECKING:
    from stratus.local.client import Invocation
    from stratus.local.cloud import LocalCloud, Readiness


@app.command(rich_help_panel=PROJECT)
def validate(env: EnvOption = DEFAULT_ENV) -> None:
    """Check stratus.toml and list every problem, each with its table and field."""
    stack = load_stack(env=env)
    console.print(
        f"[green]✓[/] {stack.manifest_path.name}: {len(stack.services)} services, "
        f"{len(stack.resources)} resources, valid for environments {', '.join(stack.environment_names)}"
    )


@app.command(rich_help_panel=LOCAL)
def dev(
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8080,
    env: EnvOption = DEFAULT_ENV,
    fresh: Annotated[bool, typer.Option(help="Start with empty databases.")] = False,
    invoke_port: Annotated[int | None, typer.Option(help="Port of the Lambda Invoke API [default: port + 1].")] = None,
    max_environments: Annotated[
        int, typer.Option(help="Execution environments per function when no reserved concurrency is set.")
    ] = 8,
    environments: Annotated[
        int | None,
        typer.Option(help="Execution environments of the whole stack [default: one per function plus 4 per core]."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every API request.")] = True,
    reload: Annotated[bool, typer.Option(help="Reload a service when its code or stratus.toml changes.")] = True,
    iam: Annotated[
        bool, typer.Option(help="Enforce IAM: each service runs as its role; what it did not declare is denied.")
    ] = True,
    console: Annotated[
        bool, typer.Option(help="Serve the local console (requests, functions, queues, logs) on 127.0.0.1.")
    ] = True,
    console_port: Annotated[int | None, typer.Option(help="Port of the local console [default: port + 2].")] = None,
) -> None:
    """Run the whole stack locally: HTTP API, Lambdas, containers, AWS and PostgreSQL."""
    import sys

    from stratus.cli.delegate import hand_over

    hand_over(sys.argv[1:])  # in the project's own environment, when it pins its own toolkit
    from stratus.local.cloud import DevOptions
    from stratus.local.dev import serve

    options = DevOptions(
        port=port,
        invoke_port=invoke_port,
        fresh=fresh,
        max_environments=max_environments,
        environments=environments,
        access_log=access_log,
        reload=reload,
        iam=iam,
        console=console,
        console_port=console_port,
    )
    serve(load_stack(env=env), options, _print_ready)


def _print_ready(cloud: LocalCloud, ready: Readiness) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    for part, where, status in ready.lines:
        table.add_row(f"[bold]{part}[/]", where, status)
    console.print(table)
    where = f"[bold]{cloud.api_url}[/]"
    if cloud.console_url is not None:
        where += f", console [bold]{cloud.console_url}[/]"
    console.print(f"[green]✓ ready[/] in {ready.seconds:.2f} s: {where} (Ctrl-C stops everything)")


# ------------------------------------------------------------------------------------------ events, trigger


events_app = typer.Typer(help="Print a sample event to start from (edit it, then `stratus invoke --event`).")
app.add_typer(events_app, name="events", rich_help_panel=LOCAL)


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
    from stratus.events import samples

    _print_json(samples.http(method=method, path=path, body=body, content_type=content_type))


@events_app.command("sqs")
def events_sqs(
    body: Annotated[str, typer.Option(help="Message body.")] = '{"hello": "world"}',
    queue: Annotated[str, typer.Option(help="Queue name.")] = "my-queue",
    count: Annotated[int, typer.Option(help="Records in the batch.")] = 1,
) -> None:
    """An SQS event source mapping batch."""
    from stratus.events import samples

    _print_json(samples.sqs_batch(body=body, queue=queue, count=count))


@events_app.command("schedule")
def events_schedule(rule: Annotated[str, typer.Option(help="Rule name.")] = "my-schedule") -> None:
    """An EventBridge Scheduled Event."""
    from stratus.events import samples

    _print_json(samples.schedule(rule=rule))


@events_app.command("s3")
def events_s3(
    bucket: Annotated[str, typer.Option(help="Bucket name.")] = "my-bucket",
    key: Annotated[str, typer.Option(help="Object key.")] = "uploads/photo one.jpg",
    event: Annotated[str, typer.Option(help="Event name.")] = "ObjectCreated:Put",
    size: Annotated[int, typer.Option(help="Object size.")] = 1024,
) -> None:
    """An S3 notification."""
    from stratus.events import samples

    _print_json(samples.s3_notification(bucket=bucket, key=key, event=event, size=size))


@app.command(rich_help_panel=LOCAL)
def trigger(
    schedule: Annotated[str, typer.Argument(help="SERVICE.SCHEDULE, e.g. worker.sweeper")],
    env: EnvOption = DEFAULT_ENV,
) -> None:
    """Fire a schedule of the running stack now, with the Scheduled Event EventBridge would send."""
    from stratus.local import client

    print_invocation(client.trigger(client.require_running(find_root(), env), schedule))


def print_invocation(result: Invocation) -> None:
    """The function's log tail (stderr) and its result (stdout); exit 1 when it failed."""
    if result.log:
        console.print(result.log.rstrip(), markup=False, highlight=False)
    typer.echo(result.payload.decode(errors="replace"))
    if result.function_error:
        console.print(f"[red]function error[/] ({result.function_error})")
        raise typer.Exit(1)
