"""``stratus test``: pytest over the services' own tests, as the seeds' ``scripts/test.py`` did.

``--service X`` runs ``services/X/tests`` (``--type unit`` or ``integration``: that subdirectory);
without it, every service's and every workspace library's tests.

``--against URL`` runs the services' integration tests, unchanged, against a deployed stack instead of the one
the pytest plugin starts (:class:`Against`): the parity suite. Its credentials travel in the environment
(``STRATUS_API_KEY``, ``STRATUS_TOKEN``, ``STRATUS_CLIENT``, ``STRATUS_INVITE``), never on a command line that
``ps`` shows. ``smoke``: only the tests marked ``smoke``, what ``stratus deploy`` runs after an apply.

``--coverage`` measures the code under test (pytest-cov: the services' and libraries' packages), ``--html``
writes ``htmlcov/`` too; ``--parallel N`` spreads the tests over N processes (pytest-xdist). It runs in the
workspace's one environment, with the root pyproject's pytest settings, so it behaves as ``uv run pytest`` does.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stratus import naming
from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import Stack
from stratus.testing.remote import CREDENTIALS

TestType = Literal["unit", "integration"]


@dataclass(frozen=True)
class Against:
    """A deployed stack to run the integration tests against, with what the tests cannot mint there."""

    url: str
    api_key: str | None = None
    token: str | None = None
    client: str | None = None  # a machine client's ID:SECRET
    invite: str | None = None
    smoke: bool = False

    def environ(self) -> dict[str, str]:
        """The test process's environment: this one's, with the credentials given (and none left from it)."""
        env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS.values()}
        for field_name, variable in CREDENTIALS.items():
            value = getattr(self, field_name)
            if value:
                env[variable] = value
        return env

    def options(self, env: str) -> list[str]:
        return ["--stratus-url", self.url, "--stratus-env", env, *(["-m", "smoke"] if self.smoke else [])]


def _library_dirs(root: Path) -> list[Path]:
    libs = root / "libs"
    return sorted(p for p in libs.iterdir() if (p / "pyproject.toml").exists()) if libs.is_dir() else []


def _package_of(directory: Path) -> str | None:
    for child in sorted(directory.iterdir()):
        if child.is_dir() and (child / "__init__.py").exists() and child.name not in ("tests", "test"):
            return child.name
    return None


def pytest_argv(
    stack: Stack,
    *,
    service: str | Sequence[str] | None = None,
    kind: TestType | None = None,
    coverage: bool = False,
    html: bool = False,
    parallel: int | None = None,
    verbose: bool = False,
    against: Against | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    """The pytest command line for the chosen tests (paths relative to the workspace root)."""
    if against is not None:
        if kind == "unit":
            raise StratusError("--against runs the integration tests: leave out --type unit")
        kind = "integration"
    names = [service] if isinstance(service, str) else list(service or ())
    unknown = [name for name in names if name not in stack.services]
    if unknown:
        raise StratusError(
            f"no service named {unknown[0]!r} in {stack.manifest_path.name}",
            hint=f"services: {', '.join(stack.services)}",
        )
    if names:
        dirs = [stack.service_dir(name) for name in names]
    else:
        dirs = [stack.service_dir(name) for name in stack.services] + _library_dirs(stack.root)
    targets = []
    for directory in dirs:
        tests = directory / "tests" / kind if kind else directory / "tests"
        if tests.is_dir():
            targets.append(tests)
    if not targets:
        where = f"{', '.join(names)}'s " if names else "any service's "
        raise StratusError(f"no {kind + ' ' if kind else ''}tests in {where}tests directory")
    argv = [sys.executable, "-m", "pytest", *(str(t.relative_to(stack.root)) for t in targets)]
    if verbose:
        argv.append("-v")
    if coverage or html:
        _require("pytest_cov", "pytest-cov", "--coverage")
        packages = [naming.package_name(name) for name in names]
        if not packages:
            packages = [p for d in dirs if (p := _package_of(d)) is not None]
        argv += [f"--cov={p}" for p in packages] + ["--cov-report=term-missing"]
        if html:
            argv.append("--cov-report=html")
    if parallel is not None:
        if parallel < 1:
            raise StratusError("--parallel must be at least 1")
        _require("xdist", "pytest-xdist", "--parallel")
        argv += ["-n", str(parallel)]
    if against is not None:
        argv += against.options(stack.env)
    return argv + (extra or [])


def _require(module: str, package: str, option: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise PrerequisiteError(
            f"{option} needs {package}, which is not installed", hint=f"`uv add --dev {package}`, then `uv sync`"
        )
