"""``stratus test``: pytest over the services' own tests, as the seeds' ``scripts/test.py`` did.

``--service X`` runs ``services/X/tests`` (``--type unit`` or ``integration``: that subdirectory);
without it, every service's and every workspace library's tests. ``--coverage`` measures the code under
test (pytest-cov: the services' and libraries' packages), ``--html`` writes ``htmlcov/`` too;
``--parallel N`` spreads the tests over N processes (pytest-xdist). It runs in the workspace's one
environment, with the root pyproject's pytest settings, so it behaves as ``uv run pytest`` does.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Literal

from stratus import naming
from stratus.errors import PrerequisiteError, StratusError
from stratus.manifest import Stack

TestType = Literal["unit", "integration"]


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
    service: str | None = None,
    kind: TestType | None = None,
    coverage: bool = False,
    html: bool = False,
    parallel: int | None = None,
    verbose: bool = False,
    extra: list[str] | None = None,
) -> list[str]:
    """The pytest command line for the chosen tests (paths relative to the workspace root)."""
    if service is not None:
        if service not in stack.services:
            raise StratusError(
                f"no service named {service!r} in {stack.manifest_path.name}",
                hint=f"services: {', '.join(stack.services)}",
            )
        dirs = [stack.service_dir(service)]
    else:
        dirs = [stack.service_dir(name) for name in stack.services] + _library_dirs(stack.root)
    targets = []
    for directory in dirs:
        tests = directory / "tests" / kind if kind else directory / "tests"
        if tests.is_dir():
            targets.append(tests)
    if not targets:
        where = f"{service}'s " if service else "any service's "
        raise StratusError(f"no {kind + ' ' if kind else ''}tests in {where}tests directory")
    argv = [sys.executable, "-m", "pytest", *(str(t.relative_to(stack.root)) for t in targets)]
    if verbose:
        argv.append("-v")
    if coverage or html:
        _require("pytest_cov", "pytest-cov", "--coverage")
        packages = [naming.package_name(service)] if service else []
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
    return argv + (extra or [])


def _require(module: str, package: str, option: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise PrerequisiteError(
            f"{option} needs {package}, which is not installed", hint=f"`uv add --dev {package}`, then `uv sync`"
        )
