"""The repository's own stack for the tests that exercise the reference services: the pytest plugin's
``stratus_cloud`` (started once per session with `stratus dev`, as the README says, its state in a temporary
directory), seen as the launcher it runs (:class:`stratus.testing.launcher.DevStack`) with an API key."""

from __future__ import annotations

import pytest

from stratus.testing import StratusCloud
from stratus.testing.launcher import DevStack


@pytest.fixture(scope="session")
def repo_stack(stratus_cloud: StratusCloud) -> DevStack:
    launcher = stratus_cloud.launcher
    if launcher is None:
        pytest.skip("these tests need the stack the session starts (not --stratus-url or --stratus-attach)")
    launcher.api_key = stratus_cloud.api_key()  # type: ignore[attr-defined]
    launcher.client.headers["x-api-key"] = launcher.api_key  # type: ignore[attr-defined]
    return launcher
