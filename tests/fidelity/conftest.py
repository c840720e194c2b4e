"""The fidelity suite: one test per AWS behaviour, each naming where AWS states or shows it.

Every test here carries ``@pytest.mark.aws("<source>")``: an AWS documentation page (its URL), or a published
capture (the issue, post or fixture that shows AWS's answer). Collection fails for a test without one, so a case
cannot be added without saying why AWS behaves that way. The stacks are started once per worker, and every test
that uses them runs on one worker (``xdist_group``), so a run starts each at most once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.devstack import DevStack
from tests.e2e.lab import make_auth_lab, make_lab, make_queue_lab

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "aws(source): where AWS documents or shows the behaviour a fidelity test checks")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unsourced = []
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            continue
        marker = item.get_closest_marker("aws")
        if marker is None or not marker.args or not str(marker.args[0]).strip():
            unsourced.append(item.nodeid)
        if "lab" in getattr(item, "fixturenames", ()) or any(
            name in getattr(item, "fixturenames", ()) for name in ("queue_lab", "auth_lab")
        ):
            item.add_marker(pytest.mark.xdist_group("fidelity"))
    if unsourced:
        raise pytest.UsageError("fidelity tests without @pytest.mark.aws(source): " + ", ".join(unsourced))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """The lab project (tests/e2e/lab.py) under `stratus dev`, without its database."""
    stack = DevStack(make_lab(tmp_path_factory.mktemp("fidelity-lab"), databases=False))
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def queue_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A queue consumed by a function, a schedule and a bucket's notifications (tests/e2e/lab.py)."""
    stack = DevStack(make_queue_lab(tmp_path_factory.mktemp("fidelity-qlab")))
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def auth_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """Routes protected by an API key and by a token, through a Lambda authorizer that logs its calls."""
    stack = DevStack(make_auth_lab(tmp_path_factory.mktemp("fidelity-authlab")))
    yield stack
    stack.stop()
