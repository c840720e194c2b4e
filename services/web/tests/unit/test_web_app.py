"""The web service's routes: the game's page, its files, the security headers, the probes and the seed's data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib.resources import files
from typing import TYPE_CHECKING

import pytest
from stratus_common.settings import get_settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PACKAGE = files("web")
STATIC = PACKAGE / "static"
SCRIPTS = ("app.js", "api.js", "board.js", "http.js", "session.js", "typing.js")
LABELLED = frozenset({"input", "select", "textarea"})


class _Page(HTMLParser):
    """Collects what the tests look at, and checks that every opened element is closed."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.mismatched: list[str] = []
        self.title = ""
        self.text: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.inline_scripts: list[str] = []
        self.label_for: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "label" and attributes.get("for"):
            self.label_for.add(str(attributes["for"]))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)

    def handle_data(self, data: str) -> None:
        current = self.open[-1] if self.open else ""
        if current == "title":
            self.title += data
        elif current == "script" and data.strip():
            self.inline_scripts.append(data)
        elif current != "style":
            self.text.append(data)

    def by_tag(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]

    def ids(self) -> list[str]:
        return [str(attrs["id"]) for _, attrs in self.elements if attrs.get("id")]


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert page.open == [] and page.mismatched == [], (page.open, page.mismatched)
    return page


def set_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


# ------------------------------------------------------------------------------------------------- the page


def test_the_page_is_valid_html_with_the_game_and_the_version(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the web service deployed as version 3.1.4
    set_env(monkeypatch, SERVICE_VERSION="3.1.4")
    # WHEN the page is requested
    response = client.get("/")
    # THEN it is well-formed HTML: the TypeRush game, its version, never cached
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.text.startswith("<!DOCTYPE html>")
    page = parse(response.text)
    assert page.title == "TypeRush"
    assert "version 3.1.4" in " ".join(" ".join(page.text).split())
    # AND it has every part of the game: sign-in, profile, play, leaderboard, history, stats
    for part in ("auth-form", "profile-form", "start-form", "typing", "board-table", "history-table", "stats-status"):
        assert part in page.ids()
    assert len(page.ids()) == len(set(page.ids())), "ids are unique"


@pytest.mark.parametrize(("base_path", "prefix"), [("/web", "/web"), ("/web/", "/web"), ("/", ""), ("", "")])
def test_the_page_names_its_files_under_the_base_path(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, base_path: str, prefix: str
) -> None:
    # GIVEN the service routed at STRATUS_BASE_PATH (/web through the HTTP API, which strips it)
    set_env(monkeypatch, STRATUS_BASE_PATH=base_path)
    # WHEN the page is requested
    page = parse(client.get("/").text)
    # THEN its script, style and icon are absolute paths under the base path: right at /web and /web/ alike
    (script,) = page.by_tag("script")
    assert script == {"type": "module", "src": f"{prefix}/static/js/app.js"}
    hrefs = {attrs["rel"]: attrs["href"] for attrs in page.by_tag("link")}
    assert hrefs == {"stylesheet": f"{prefix}/static/css/game.css", "icon": f"{prefix}/static/favicon.svg"}
    # AND the script learns the base path from the page (to find the APIs from location), not from inline code
    (html,) = page.by_tag("html")
    assert html["data-base"] == prefix
    # AND every file it names is served
    for url in (script["src"], *hrefs.values()):
        assert client.get(str(url)).status_code == 200, url


def test_requests_that_still_carry_the_base_path_are_served(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the container reached directly (not through the HTTP API), at its base path
    set_env(monkeypatch, STRATUS_BASE_PATH="/web")
    # WHEN the page and its files are requested with the /web prefix
    # THEN they are served as without it
    assert client.get("/web").status_code == 200
    assert client.get("/web/").text == client.get("/").text
    assert client.get("/web/static/js/app.js").text == client.get("/static/js/app.js").text
    assert client.get("/web/health").json()["status"] == "healthy"
    # AND another prefix is not
    assert client.get("/webby/static/js/app.js").status_code == 404


def test_the_page_has_no_inline_code_and_nothing_from_another_origin(client: TestClient) -> None:
    # GIVEN the page and every file of the package's static and templates folders
    response = client.get("/")
    page = parse(response.text)
    # THEN no inline script, style element or attribute, or event handler attribute (the CSP forbids them)
    assert page.inline_scripts == []
    assert page.by_tag("style") == []
    for tag, attrs in page.elements:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
    # AND no URL of another origin anywhere (no CDN: the game works offline)
    sources = [response.text]
    sources += [(STATIC / "js" / name).read_text() for name in SCRIPTS]
    sources.append((STATIC / "css" / "game.css").read_text())
    for source in sources:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", source, re.IGNORECASE), source[:200]


def test_every_input_has_a_label(client: TestClient) -> None:
    # GIVEN the page
    page = parse(client.get("/").text)
    # THEN every input, select and textarea is named by a <label for> (or an aria-label)
    controls = [(tag, attrs) for tag, attrs in page.elements if tag in LABELLED and attrs.get("type") != "hidden"]
    assert len(controls) >= 10
    unlabelled = [
        attrs.get("id")
        for _, attrs in controls
        if attrs.get("id") not in page.label_for and not attrs.get("aria-label")
    ]
    assert unlabelled == []
    # AND every button says what it does
    for attrs in page.by_tag("button"):
        assert attrs.get("type") in ("button", "submit"), attrs
    # AND the messages the game changes are announced (live regions)
    live = {attrs["id"]: attrs.get("role") for _, attrs in page.elements if attrs.get("role") in ("status", "alert")}
    assert live["notice"] == "alert" and live["typing-status"] == "status" and live["stats-status"] == "status"


def test_the_scripts_never_insert_html_or_put_tokens_in_urls() -> None:
    # GIVEN the game's JavaScript modules
    for name in SCRIPTS:
        source = (STATIC / "js" / name).read_text()
        # THEN text goes into the page as text: no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{name} uses {sink}"
        # AND tokens never go into a URL, localStorage or a cookie
        assert not re.search(r"[?&](access|refresh)_token=", source), name
        assert "localStorage" not in source and "document.cookie" not in source, name
    # AND the only thing stored is the refresh token, in sessionStorage (the access token stays in memory)
    stored = [re.findall(r"sessionStorage\.setItem\(([^)]*)\)", (STATIC / "js" / n).read_text()) for n in SCRIPTS]
    assert [call for calls in stored for call in calls] == ["REFRESH_KEY, token"]


@pytest.mark.parametrize(
    "version",
    ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "1.0 & <b>bold</b>"],
)
def test_the_templates_escape_what_they_are_given(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    # GIVEN a version and a base path carrying markup (set by whoever deploys, but never trusted)
    set_env(monkeypatch, SERVICE_VERSION=version, STRATUS_BASE_PATH='/w"eb<x>')
    # WHEN the page is rendered
    html = client.get("/").text
    # THEN the markup is text, escaped: no element, attribute or script comes from it
    page = parse(html)
    assert version not in html
    assert "<x>" not in html and '/w"eb' not in html
    assert [tag for tag, _ in page.elements if tag in ("img", "b", "x")] == []
    assert len(page.by_tag("script")) == 1
    assert version in " ".join(page.text)


# ------------------------------------------------------------------------------------------------ the files


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        *[(f"/static/js/{name}", "text/javascript; charset=utf-8") for name in SCRIPTS],
        ("/static/css/game.css", "text/css; charset=utf-8"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
def test_the_files_are_served_with_their_content_type(client: TestClient, path: str, content_type: str) -> None:
    # GIVEN the page's files (module scripts run only with a JavaScript type, and nosniff is on)
    # WHEN one is requested
    response = client.get(path)
    # THEN it is served, with its type, revalidated on each use
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "etag" in response.headers
    # AND a second request with its ETag is a 304
    again = client.get(path, headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304


def test_the_files_are_package_data() -> None:
    # GIVEN the web package, as installed (a wheel or the image's app/ folder)
    # THEN its templates and static files are inside it, imported modules are all there
    for relative in ("templates/base.html", "templates/index.html", "templates/not_found.html",
                     "static/css/game.css", "static/favicon.svg", *[f"static/js/{n}" for n in SCRIPTS]):  # fmt: skip
        assert (PACKAGE / relative).is_file(), relative
    imported = set()
    for name in SCRIPTS:
        imported |= set(re.findall(r'from "\./([a-z]+\.js)"', (STATIC / "js" / name).read_text()))
    assert imported <= set(SCRIPTS)


def test_a_missing_file_is_a_404(client: TestClient) -> None:
    response = client.get("/static/js/nope.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/static/../main.py").status_code == 404


# ------------------------------------------------------------------------------------------ security headers


@pytest.mark.parametrize("path", ["/", "/static/js/app.js", "/api/data", "/health", "/nope"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    # GIVEN any answer of the web service: the page, a file, JSON, an error
    headers = client.get(path).headers
    # THEN it has a strict Content-Security-Policy and the other protections
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "unsafe-eval" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_the_api_docs_are_off(client: TestClient) -> None:
    # Swagger UI and ReDoc load scripts from a CDN and run inline code: neither fits the CSP, nor offline use
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


# ------------------------------------------------------------------------------------------------- errors


def test_a_browser_asking_for_a_missing_page_gets_a_page_with_a_way_back(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the service at /web
    set_env(monkeypatch, STRATUS_BASE_PATH="/web")
    # WHEN a browser asks for a page that does not exist
    response = client.get("/nope", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    # THEN it gets an HTML page (not JSON) linking back to the game
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert {"href": "/web/"} in page.by_tag("a")
    assert "content-security-policy" in response.headers


def test_errors_are_json_for_api_clients(client: TestClient) -> None:
    # GIVEN the web service
    # WHEN an unknown path is requested by a client that does not ask for HTML
    response = client.get("/nope")
    # THEN the 404 is the standard JSON error
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.post("/").status_code == 405


# --------------------------------------------------------------------------------------- the seed's routes


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
