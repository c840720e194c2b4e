"""Commands that run the stack locally: ``validate`` and ``dev``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from stratus.cli._app import DEFAULT_ENV, EnvOption, app, console
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
    _run_async(run(stack, options, LogSink(), _print_ready))


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
