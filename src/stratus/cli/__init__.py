"""The ``stratus`` command: thin modules that parse arguments, call the toolkit and print with rich.

Each module registers its commands on the shared app (``stratus.cli._app``); ``main`` turns known errors
into one readable line with a hint and an exit code, never a traceback.
"""

from __future__ import annotations

import sys

from rich.markup import escape

# Each module registers its commands: new, add, init; validate, dev, events, trigger; invoke; apikey; infra;
# build, image; deploy, test, logs.
from stratus.cli import accounts, apikeys, build, deploy, infra, invoke, local, scaffold  # noqa: F401
from stratus.cli._app import app, console
from stratus.errors import StratusError
from stratus.manifest import ManifestError


def main() -> None:
    """Entry point of the ``stratus`` command."""
    try:
        app()
    except ManifestError as exc:
        for problem in exc.problems:  # the texts name tables ([network]): not rich markup
            console.print(f"[red]error[/] {escape(problem.render(exc.file))}", soft_wrap=True)
        console.print(f"[dim]hint: {escape(exc.hint or '')}[/]")
        sys.exit(exc.exit_code)
    except StratusError as exc:
        console.print(f"[red]error[/] {escape(exc.message)}", soft_wrap=True)
        if exc.hint:
            console.print(f"[dim]hint: {escape(exc.hint)}[/]")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
