"""The Typer app the command modules register on, and what they share."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from stratus.manifest import DEFAULT_ENV

app = typer.Typer(
    name="stratus",
    help="Build, run and ship multi-service Python backends on AWS serverless.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, highlight=False)

EnvOption = Annotated[str, typer.Option("--env", "-e", help="The environment (stratus.toml [environments.*]).")]

__all__ = ["DEFAULT_ENV", "EnvOption", "app", "console"]
