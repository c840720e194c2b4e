"""The Typer app the command modules register on, and what they share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from stratus.errors import StratusError
from stratus.manifest import DEFAULT_ENV

if TYPE_CHECKING:
    from stratus.manifest import Service, Stack

# The groups `stratus --help` lists commands in, and the order within them: the way a project is worked on.
PROJECT = "Project"
LOCAL = "Local cloud"
AWS = "AWS"
ORDER = ("init", "new", "add", "validate", "test",
         "dev", "invoke", "trigger", "events", "logs", "apikey", "client", "invite",
         "infra", "build", "image", "deploy", "migrate")  # fmt: skip


class _Ordered(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:  # Typer's own click Context
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))


app = typer.Typer(
    cls=_Ordered,
    name="stratus",
    help="Build, run and ship multi-service Python backends on AWS serverless.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # help texts are plain: brackets such as [default: ...] are shown as written
)
console = Console(stderr=True, highlight=False)


def _print_version(wanted: bool) -> None:
    if wanted:
        from stratus.release import TOOLKIT, toolkit_version

        typer.echo(f"stratus ({TOOLKIT}) {toolkit_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and stop.")
    ] = False,
) -> None:
    """Build, run and ship multi-service Python backends on AWS serverless."""


EnvOption = Annotated[str, typer.Option("--env", "-e", help="The environment (stratus.toml [environments.*]).")]


def service_of(stack: Stack, name: str) -> Service:
    """The service ``name`` of ``stack``, or an error listing the services."""
    svc = stack.services.get(name)
    if svc is None:
        raise StratusError(f"no service named {name!r} in {stack.manifest_path.name}",
                           hint=f"services: {', '.join(stack.services)}")  # fmt: skip
    return svc


__all__ = ["AWS", "DEFAULT_ENV", "LOCAL", "PROJECT", "EnvOption", "app", "console", "service_of"]
