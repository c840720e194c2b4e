"""A ``stratus`` installed as a tool hands the commands that run the project's code to the project's own toolkit.

``uv tool install stratus-serverless`` gives one ``stratus`` for every project; each project pins its own toolkit
(``stratus-serverless`` in its dev dependencies) and its services' dependencies in its environment. ``stratus dev``
and ``stratus test`` run the services' code, so they must run there: when the ``stratus`` running is not the
project's (its interpreter is not the project's ``.venv``) and the project depends on the toolkit, the command
runs again as ``uv run --project ROOT stratus ...``, which also creates or updates that environment first. Every
other command (``validate``, ``infra``, ``build``...) reads only the manifest and runs where it is.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import find_root
from stratus.release import TOOLKIT

DELEGATED = "STRATUS_DELEGATED"
"""Set in the handed-over process (and by the test launcher, which runs a stack with its own interpreter on
purpose): it does not hand over again."""
_NAME = re.compile(r"^\s*([A-Za-z0-9._-]+)")


def depends_on_toolkit(pyproject: Path) -> bool:
    """Whether the project's pyproject.toml lists the toolkit in its dependencies or dependency groups."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    requirements = list(data.get("project", {}).get("dependencies", []))
    for group in data.get("dependency-groups", {}).values():
        requirements += [r for r in group if isinstance(r, str)]
    names = {m.group(1).lower().replace("_", "-") for r in requirements if (m := _NAME.match(r))}
    return TOOLKIT in names


def project_command(argv: list[str]) -> list[str] | None:
    """The command that runs ``stratus ARGV`` in the project's environment, or None to run it here."""
    if os.environ.get(DELEGATED):
        return None
    try:
        root = find_root()
    except StratusError:
        return None
    if not depends_on_toolkit(root / "pyproject.toml"):
        return None
    venv = root / ".venv"
    if venv.is_dir() and Path(sys.prefix).resolve() == venv.resolve():
        return None
    uv = shutil.which("uv")
    if uv is None:
        raise PrerequisiteError(
            "this project pins its own Stratus toolkit, and running it needs uv", hint="pip install uv"
        )
    return [uv, "run", "--project", str(root), "stratus", *argv]


def hand_over(argv: list[str]) -> None:
    """Run ``stratus ARGV`` in the project's environment instead of this process, if it should (see above)."""
    command = project_command(argv)
    if command is not None:
        os.execve(command[0], command, {**os.environ, DELEGATED: "1"})  # noqa: S606 (uv, found on PATH)
