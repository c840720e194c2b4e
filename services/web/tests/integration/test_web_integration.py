"""The web front end (a container: App Runner in AWS) through the stack under test: `stratus dev` (the
`stratus_cloud` fixture), or a deployed stack (`stratus test --against URL`), unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from stratus.testing import StratusCloud


@pytest.mark.smoke
def test_health(stratus_cloud: StratusCloud) -> None:
    response = stratus_cloud.http.get("/web/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


@pytest.mark.smoke
def test_the_game_page_is_served_through_the_api(stratus_cloud: StratusCloud) -> None:
    page = stratus_cloud.http.get("/web/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "TypeRush" in page.text
