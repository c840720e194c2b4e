"""``stratus test``: which tests run, with which pytest options, and the exit code it passes on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stratus.deploy.testrun import pytest_argv
from stratus.errors import StratusError
from stratus.manifest import parse_stack


@pytest.fixture
def stack(tmp_path):
    for name, files in {
        "services/api": ["api/__init__.py", "tests/unit/test_api.py", "tests/integration/test_flow.py"],
        "services/web": ["web/__init__.py", "tests/unit/test_web.py"],
        "libs/common": ["common/__init__.py", "tests/unit/test_common.py", "pyproject.toml"],
    }.items():
        for file in files:
            path = tmp_path / name / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("def test_ok():\n    assert True\n" if file.startswith("tests") else "")
    raw = {
        "project": {"name": "acme"},
        "services": {"api": {"kind": "lambda", "path": "/api"}, "web": {"kind": "apprunner", "path": "/web"}},
    }
    return parse_stack(raw, root=tmp_path)


def test_one_service_and_one_type(stack):
    argv = pytest_argv(stack, service="api", kind="unit", verbose=True)
    assert argv == [sys.executable, "-m", "pytest", "services/api/tests/unit", "-v"]


def test_all_services_and_libraries_with_coverage_and_workers(stack):
    argv = pytest_argv(stack, coverage=True, html=True, parallel=4)
    assert argv[3:6] == ["services/api/tests", "services/web/tests", "libs/common/tests"]
    assert argv[6:] == ["--cov=api", "--cov=web", "--cov=common", "--cov-report=term-missing",
                        "--cov-report=html", "-n", "4"]  # fmt: skip


def test_integration_runs_only_where_there_are_integration_tests(stack):
    assert pytest_argv(stack, kind="integration")[3:] == ["services/api/tests/integration"]
    with pytest.raises(StratusError, match="no integration tests in web's tests directory"):
        pytest_argv(stack, service="web", kind="integration")
    with pytest.raises(StratusError, match="no service named 'nope'"):
        pytest_argv(stack, service="nope")
    with pytest.raises(StratusError, match="--parallel must be at least 1"):
        pytest_argv(stack, parallel=0)


def test_the_command_runs_pytest_and_passes_its_exit_code_on(stack):
    (stack.root / "stratus.toml").write_text(
        '[project]\nname = "acme"\n[services.api]\nkind = "lambda"\npath = "/api"\n'
        '[services.web]\nkind = "apprunner"\npath = "/web"\n'
    )
    (stack.root / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '--import-mode=importlib'\n")
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "stratus", "test", "--service", "api", "--type", "unit"]
    ok = subprocess.run(command, cwd=stack.root, capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 passed" in ok.stdout
    (stack.root / "services/api/tests/unit/test_api.py").write_text("def test_no():\n    assert False\n")
    failed = subprocess.run(command, cwd=stack.root, capture_output=True, text=True, env=env, check=False)
    assert failed.returncode == 1
    assert "1 failed" in failed.stdout
