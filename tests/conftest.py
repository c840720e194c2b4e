"""The repository's own stack, started once per test session with `stratus dev` as the README says, for every
test module that exercises the reference services (the stack boots eight services and a PostgreSQL: once is
enough)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.devstack import DevStack

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    # A copy of the project, so a developer's own `stratus dev` in the checkout is left alone.
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(REPO / "stratus.toml", root / "stratus.toml")
    shutil.copytree(REPO / "services", root / "services", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    shutil.copytree(REPO / "libs", root / "libs", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    running = DevStack(root, timeout=180)
    created = subprocess.run(
        [sys.executable, "-m", "stratus", "apikey", "create", "e2e-tests"],
        cwd=root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    running.api_key = created.stdout.strip()  # type: ignore[attr-defined]
    running.client.headers["x-api-key"] = running.api_key  # type: ignore[attr-defined]
    yield running
    running.stop()
