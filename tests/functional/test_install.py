"""Stratus as another team gets it: the wheels built from this repository, the tool installed from them into an
environment of its own (`uv tool install`), a project made by its `stratus init`, and in that project
`stratus validate`, `stratus infra` + `stratus infra check`, `stratus dev` (one request) and the project's own
tests, which use the pytest plugin.

Nothing here uses this repository's environment or paths: the tool and the project resolve `stratus-serverless`
and `stratus-common` from the built wheels (`UV_FIND_LINKS`), everything else from the package index, pinned to
this repository's lock where uv takes constraints (the tool), so uv's cache serves them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from stratus import release
from stratus.local.processes import free_port
from stratus.testing.launcher import READY_MARK

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
UV = shutil.which("uv")


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.skipif(UV is None, reason="needs uv (pip install uv), as the README's set-up does")
def test_the_built_wheels_install_a_tool_whose_new_project_validates_checks_runs_and_passes_its_tests(
    tmp_path: Path,
) -> None:
    assert UV is not None
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("UV_")}
    env |= {"UV_NO_PROGRESS": "1", "UV_FIND_LINKS": str(dist), "UV_TOOL_DIR": str(tmp_path / "tools"),
            "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}  # fmt: skip

    # GIVEN the two distributions, built as a release is: wheel and sdist each
    dist.mkdir()
    _run([UV, "build", "--out-dir", str(dist)], REPO, env)
    _run([UV, "build", "--package", release.RUNTIME, "--out-dir", str(dist)], REPO, env)
    version = release.toolkit_version()
    toolkit = dist / f"stratus_serverless-{version}-py3-none-any.whl"
    assert {p.name for p in dist.iterdir()} >= {
        toolkit.name, f"stratus_serverless-{version}.tar.gz",
        f"stratus_common-{version}-py3-none-any.whl", f"stratus_common-{version}.tar.gz",
    }  # fmt: skip
    names = zipfile.ZipFile(toolkit).namelist()
    shipped = {
        "stratus/infra/modules/http-api/main.tf",
        "stratus/infra/templates/main.tf.j2",
        "stratus/scaffold/templates/project/pyproject.toml.j2",
        "stratus/local/runtime/bootstrap.py",
    }
    assert shipped <= set(names), shipped - set(names)
    entry_points = zipfile.ZipFile(toolkit).read(f"stratus_serverless-{version}.dist-info/entry_points.txt").decode()
    assert "stratus = stratus.testing.plugin" in entry_points and "stratus = stratus.cli:main" in entry_points

    # WHEN the tool is installed from them, in an environment of its own
    constraints = tmp_path / "constraints.txt"
    _run([UV, "export", "--frozen", "--no-hashes", "--all-groups", "--no-emit-workspace", "--no-header",
          "-o", str(constraints)], REPO, env)  # fmt: skip
    _run([UV, "tool", "install", "--constraints", str(constraints), f"{release.TOOLKIT}[check]"], tmp_path, env)
    stratus = str(tmp_path / "bin" / "stratus")
    assert _run([stratus, "--version"], tmp_path, env).stdout.strip() == f"stratus ({release.TOOLKIT}) {version}"

    # AND a project is made with it, then checked, run and tested
    _run([stratus, "init", "shop"], tmp_path, env)
    project = tmp_path / "shop"
    _run([stratus, "validate"], project, env)
    _run([stratus, "infra"], project, env)
    checked = _run([stratus, "infra", "check"], project, env)
    assert "0 failed" in checked.stdout + checked.stderr

    port, invoke_port = free_port(), free_port()
    log_path = tmp_path / "dev.log"
    with log_path.open("w") as log:
        command = [stratus, "dev", "--port", str(port), "--invoke-port", str(invoke_port), "--no-reload"]
        dev = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            # `stratus dev` hands over to the project's own environment, which uv makes first
            deadline = time.monotonic() + 300
            while READY_MARK not in log_path.read_text():
                assert dev.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.2)
            answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30)
            assert answer.status_code == 200 and answer.json()["service"] == "api"
        finally:
            if dev.poll() is None:
                os.killpg(dev.pid, signal.SIGINT)
            dev.wait(60)
    assert (project / ".venv").is_dir()  # the handed-over dev ran in it

    tests = _run([UV, "run", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    summary = tests.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary, summary
