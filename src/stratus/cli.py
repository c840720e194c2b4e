"""The ``stratus`` command: parses arguments, calls the modules that do the work, prints with rich."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from stratus.errors import StratusError
from stratus.manifest import DEFAULT_ENV, ManifestError, load_stack

if TYPE_CHECKING:
    from stratus.local.cloud import LocalCloud, Readiness

app = typer.Typer(
    name="stratus",
    help="Build, run and ship multi-service Python backends on AWS serverless.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, highlight=False)

EnvOption = Annotated[str, typer.Option("--env", "-e", help="The environment (stratus.toml [environments.*]).")]


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
) -> None:
    """Run the whole stack locally: HTTP API, Lambdas, containers, AWS and PostgreSQL."""
    from stratus.local.cloud import DevOptions, run
    from stratus.local.logs import LogSink

    stack = load_stack(env=env)
    options = DevOptions(
        port=port, invoke_port=invoke_port, fresh=fresh, max_environments=max_environments, access_log=access_log
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


def main() -> None:
    """Entry point: runs the CLI and turns known errors into one readable line with a hint."""
    try:
        app()
    except ManifestError as exc:
        for problem in exc.problems:
            console.print(f"[red]error[/] {problem.render(exc.file)}", soft_wrap=True)
        console.print(f"[dim]hint: {exc.hint}[/]")
        sys.exit(exc.exit_code)
    except StratusError as exc:
        console.print(f"[red]error[/] {exc.message}", soft_wrap=True)
        if exc.hint:
            console.print(f"[dim]hint: {exc.hint}[/]")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
