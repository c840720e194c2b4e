"""`stratus new`, `add` and `init` as a user runs them: in a copy of this repository, and in a new project.

The toolkit runs as `python -m stratus` from this venv, with `--no-sync`: a new service's package is
importable from its directory (the local cloud puts a Lambda's directory on PYTHONPATH and runs a container
from its directory), so nothing needs installing for `stratus dev` to serve it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stratus import release
from tests.e2e.devstack import DevStack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".terraform", "*.tfstate*", ".terraform.lock.hcl")


def stratus(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "stratus", *args], cwd=root, capture_output=True, text=True, env=env, timeout=120
    )


def pytest_in(root: Path, *paths: str, pythonpath: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRATUS_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(root / p) for p in pythonpath)
    return subprocess.run(
        # schemathesis's and hypothesis's plugins, of this environment, cost ~4 s to load; the project uses neither
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:schemathesis",
         "-p", "no:hypothesispytest", *paths],
        cwd=root, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout: float, stack: DevStack) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, stack.output()[-4000:]
        time.sleep(0.05)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("stratus.toml", "pyproject.toml", "uv.lock"):
        shutil.copy(REPO / name, root / name)
    for name in ("services", "libs", "infra"):
        shutil.copytree(REPO / name, root / name, ignore=_IGNORE)
    return root


def test_new_and_add_then_the_stack_serves_them_and_the_terraform_resolves(repo_copy: Path) -> None:
    root = repo_copy
    # WHEN a Lambda and an App Runner service are created, and given a table and a queue
    started = time.monotonic()
    created = stratus(root, "new", "lambda", "orders", "--no-sync")
    elapsed = time.monotonic() - started
    assert created.returncode == 0, created.stderr
    assert elapsed < 5, f"stratus new took {elapsed:.2f} s (interpreter start included)"
    assert "not synced: run `uv sync`" in created.stderr
    container = stratus(root, "new", "apprunner", "storefront", "--path", "/shop", "--no-sync")
    assert container.returncode == 0, container.stderr
    table = stratus(root, "add", "table", "orders-data", "--to", "orders")
    assert table.returncode == 0, table.stderr
    assert "ORDERS_DATA_TABLE_NAME" in table.stderr
    queue = stratus(root, "add", "queue", "order-events", "--to", "orders")
    assert queue.returncode == 0, queue.stderr
    # AND bad input is one line, exit 2, nothing written
    manifest = (root / "stratus.toml").read_bytes()
    for args in (["new", "lambda", "billing", "--path", "/shop", "--no-sync"], ["add", "table", "orders-data"]):
        refused = stratus(root, *args)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith("error "), refused.stderr
        assert "Traceback" not in refused.stderr
    assert (root / "stratus.toml").read_bytes() == manifest
    assert not (root / "services" / "billing").exists()

    # (the Terraform check runs meanwhile. Its references only: the new service and resources use the modules the
    # reference stack uses, which tests/unit/test_infra_check.py runs checkov on, and tests/functional/test_install.py
    # runs it on a new project's)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    check = subprocess.Popen([sys.executable, "-m", "stratus", "infra", "check", "--no-checkov"], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip

    # THEN the generated tests pass as generated
    tests = pytest_in(root, "services/orders", "services/storefront",
                      pythonpath=["services/orders", "services/storefront"])  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "passed" in tests.stdout and "failed" not in tests.stdout

    # AND the stack serves the new routes
    stack = DevStack(root)
    try:
        response = stack.client.get("/orders/health")
        assert response.status_code == 200, stack.output()[-3000:]
        assert response.json()["service"] == "orders"
        assert stack.client.get("/orders").json()["service"] == "orders"
        wait_until(lambda: stack.client.get("/shop/health").status_code == 200, 30, stack)
        assert stack.client.get("/shop/").json()["service"] == "storefront"
    finally:
        stack.stop()

    # AND the regenerated Terraform parses and every reference resolves
    output, _ = check.communicate(timeout=300)
    assert check.returncode == 0, output
    assert "every reference and module input resolves" in output
    terraform = "\n".join(p.read_text() for p in (root / "infra" / "terraform").glob("*.tf"))
    assert "orders-data" in terraform and "order-events" in terraform and "storefront" in terraform


def test_init_makes_a_project_that_validates_passes_its_tests_and_routes_a_new_service_live(tmp_path: Path) -> None:
    root = tmp_path / "acme-shop"
    # WHEN a project is started
    made = stratus(tmp_path, "init", str(root))
    assert made.returncode == 0, made.stderr
    # THEN it validates and its tests pass, the stack's included (the plugin starts it)
    assert stratus(root, "validate").returncode == 0
    readme = (root / "README.md").read_text()
    assert "uv tool install 'stratus-serverless[check]'" in readme and "uv run pytest" in readme
    # AND it depends on the toolkit and the runtime library by version range, never on a path of this machine
    pyproject = (root / "pyproject.toml").read_text()
    assert f'"{release.compatible("stratus-serverless", extras="check")}"' in pyproject
    assert f'"{release.compatible("stratus-common")}"' in (root / "services" / "api" / "pyproject.toml").read_text()
    assert str(REPO) not in pyproject and "path =" not in pyproject and not (root / "libs").exists()
    assert os.access(root / ".ci" / "run", os.X_OK)
    tests = pytest_in(root, pythonpath=["services/api"])
    assert tests.returncode == 0, tests.stdout[-3000:]
    summary = tests.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "skipped" not in summary, summary  # the integration tests ran too
    # AND a second init there is refused
    again = stratus(tmp_path, "init", str(root))
    assert again.returncode == 2 and "not empty" in again.stderr

    # AND its stack runs, and a service created while it runs is routed without a restart
    stack = DevStack(root)
    try:
        assert stack.client.get("/health").json()["service"] == "api"
        assert stack.client.get("/ledger/health").status_code == 404  # the root service's, for now
        created = stratus(root, "new", "lambda", "ledger", "--no-sync")
        assert created.returncode == 0, created.stderr
        wait_until(lambda: stack.client.get("/ledger/health").status_code == 200, 15, stack)
        assert stack.client.get("/ledger/health").json()["service"] == "ledger"
        assert stack.client.get("/health").json()["service"] == "api"
    finally:
        stack.stop()
