"""Fixtures of the web service's unit tests."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

with warnings.catch_warnings():
    # starlette >= 1.x warns, on import, that its TestClient wants `httpx2` rather than `httpx`.
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning, message=".*httpx2.*")
    from fastapi.testclient import TestClient


VARIABLES = ("PORT", "HOST", "LOG_LEVEL", "SERVICE_VERSION", "STRATUS_SERVICE", "SERVICE_NAME", "STRATUS_ENV",
             "STRATUS_BASE_PATH")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without the variables the web service reads, and without cached settings."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client() -> TestClient:
    """A TestClient of the web app."""
    from web.main import app

    return TestClient(app)
