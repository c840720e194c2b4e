"""The web service's routes: the page, its data and the probes."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING

from stratus_common.settings import get_settings

if TYPE_CHECKING:
    import pytest
    from fastapi.testclient import TestClient


class _Page(HTMLParser):
    """Collects what the tests look at, and checks that every opened element is closed."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.title = ""
        self.scripts: list[str] = []
        self.text: list[str] = []
        self.mismatched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)

    def handle_data(self, data: str) -> None:
        current = self.open[-1] if self.open else ""
        if current == "title":
            self.title += data
        elif current == "script":
            self.scripts.append(data)
        else:
            self.text.append(data)


def test_the_page_is_small_valid_html_with_the_version(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the web service deployed as version 3.1.4
    monkeypatch.setenv("SERVICE_VERSION", "3.1.4")
    get_settings.cache_clear()
    # WHEN the page is requested
    response = client.get("/")
    # THEN it is well-formed HTML titled "Web Service", showing the version
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    page = _Page()
    page.feed(response.text)
    page.close()
    assert page.open == []
    assert page.mismatched == []
    assert page.title == "Web Service"
    assert "3.1.4" in "".join(page.text)


def test_the_page_fetches_its_data_with_a_relative_url(client: TestClient) -> None:
    # GIVEN the page, which is served at /web/ through the API
    page = _Page()
    page.feed(client.get("/").text)
    script = "".join(page.scripts)
    # WHEN its script is read
    # THEN it fetches api/data relative to the page, never from the site's root
    assert 'base + "api/data"' in script
    assert '"/api/data"' not in script
    assert "fetch(" in script


def test_the_data(client: TestClient) -> None:
    # GIVEN the web service
    # WHEN its data is requested
    response = client.get("/api/data")
    # THEN it is the three items
    assert response.json() == {
        "items": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}, {"id": 3, "name": "Item 3"}]
    }


def test_health_includes_the_port(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no PORT, then PORT=9090
    default = client.get("/health").json()
    monkeypatch.setenv("PORT", "9090")
    # WHEN /health is called
    configured = client.get("/health").json()
    # THEN it reports the port, with the standard fields
    assert default["port"] == "8080"
    assert configured["port"] == "9090"
    assert (configured["status"], configured["service"]) == ("healthy", "web")
    assert configured["uptime_seconds"] >= 0


def test_probes(client: TestClient) -> None:
    # GIVEN the web service
    # WHEN the probes are called
    # THEN it is alive and ready
    assert client.get("/liveness").json() == {"status": "alive"}
    assert client.get("/readiness").json() == {"status": "ready"}


def test_errors_are_json(client: TestClient) -> None:
    # GIVEN the web service
    # WHEN an unknown path is requested
    response = client.get("/nope")
    # THEN the 404 is the standard JSON error
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
