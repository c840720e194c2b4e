"""What more than one end-to-end module uses: the browser, and stacks (each started once per test worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMEDRIVER, install_chromium
from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_console_lab


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Chromium's driver, installed if needed (request it before a stack, so a skip costs no stack start)."""
    reason = install_chromium()
    if reason is not None:
        pytest.skip(reason)
    return CHROMEDRIVER


@pytest.fixture(scope="session")
def console_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """tests/e2e/lab.py's console lab under `stratus dev`: what test_console and test_console_browser look at
    (both in the xdist group ``console``, so one worker starts it)."""
    stack = DevStack(make_console_lab(tmp_path_factory.mktemp("console-lab")))
    yield stack
    stack.stop()
