"""One version for the toolkit and its runtime library; the ranges `stratus init` writes; when a `stratus`
installed as a tool hands a command to the project's own environment."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from stratus import release
from stratus.cli import delegate

REPO = Path(__file__).resolve().parents[2]


def test_the_toolkit_and_the_runtime_library_have_one_version_and_the_toolkit_pins_it() -> None:
    toolkit = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = tomllib.loads((REPO / "libs" / "common" / "pyproject.toml").read_text())["project"]
    assert (toolkit["name"], runtime["name"]) == (release.TOOLKIT, release.RUNTIME)
    assert toolkit["version"] == runtime["version"] == release.toolkit_version()
    assert f"{release.RUNTIME}=={runtime['version']}" in toolkit["dependencies"]


@pytest.mark.parametrize(
    ("installed", "range_"),
    [("0.1.0", ">=0.1.0,<0.2"), ("0.12.3", ">=0.12.3,<0.13"), ("1.4.2", ">=1.4.2,<2"), ("2.0.0", ">=2.0.0,<3")],
)
def test_a_new_project_depends_on_the_compatible_series(
    monkeypatch: pytest.MonkeyPatch, installed: str, range_: str
) -> None:
    monkeypatch.setattr(release, "toolkit_version", lambda: installed)
    assert release.compatible("stratus-common") == f"stratus-common{range_}"
    assert release.compatible(release.TOOLKIT, extras="check") == f"stratus-serverless[check]{range_}"


def _project(root: Path, dev: list[str]) -> Path:
    (root / "stratus.toml").write_text('[project]\nname = "p"\n')
    lines = ", ".join(f'"{r}"' for r in dev)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "p"\nversion = "0"\n[dependency-groups]\ndev = [{lines}]\n'
    )
    return root


def test_a_project_that_pins_the_toolkit_gets_the_command_in_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, ["stratus-serverless[check]>=0.1.0,<0.2", "pytest"])
    monkeypatch.chdir(root)
    monkeypatch.delenv(delegate.DELEGATED, raising=False)
    monkeypatch.setattr(delegate.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert delegate.project_command(["dev", "--port", "9000"]) == [
        "/usr/bin/uv", "run", "--project", str(root), "stratus", "dev", "--port", "9000",
    ]  # fmt: skip
    # not again from the handed-over process, and not from the project's own environment
    monkeypatch.setenv(delegate.DELEGATED, "1")
    assert delegate.project_command(["dev"]) is None
    monkeypatch.delenv(delegate.DELEGATED)
    monkeypatch.setattr(sys, "prefix", str(root / ".venv"))
    (root / ".venv").mkdir()
    assert delegate.project_command(["dev"]) is None


def test_a_project_without_the_toolkit_or_a_manifest_runs_the_command_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(delegate.DELEGATED, raising=False)
    monkeypatch.chdir(_project(tmp_path, ["stratus>=0.1", "stratus-common>=0.1"]))  # PyPI's stratus is another
    assert delegate.project_command(["dev"]) is None
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert delegate.project_command(["dev"]) is None
