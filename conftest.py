"""For every test of the repository (the toolkit's, the services', the libraries'):

- botocore's service models are parsed once per process, not once per boto3 session
  (:func:`stratus_common.testing.share_botocore_models`);
- under pytest-xdist, the tests of one end-to-end or functional module run on one worker, so a stack a module
  shares (a fixture of module scope) starts once, not once per worker;
- the repository's own code is compiled to bytecode once, before the workers start: a run starts hundreds of
  Python processes (each stack a dozen), and where ``PYTHONDONTWRITEBYTECODE`` is set none of them would write the
  bytecode the next one could load. (``.ci/run`` installs the dependencies with ``--compile-bytecode``.)
"""

from __future__ import annotations

import compileall
import re
from pathlib import Path

import pytest
from stratus_common.testing import share_botocore_models

share_botocore_models()

ROOT = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller compiled already
        return
    skip = re.compile(r"/(tests|\.venv|\.stratus|__pycache__)/")
    for tree in ("src", "libs", "services"):
        compileall.compile_dir(ROOT / tree, quiet=1, workers=0, rx=skip)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which turns the groups into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        uses_the_session_stack = "stratus_cloud" in getattr(item, "fixturenames", ())  # the plugin groups those
        if item.path.parent.name in ("e2e", "functional") and not uses_the_session_stack:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
