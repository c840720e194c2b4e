"""The web front end: the TypeRush typing game, an App Runner (or ECS Express) container routed at ``/web``.

Run it with ``python -m web.main`` (or ``python -m web``): uvicorn on ``HOST`` (default ``0.0.0.0``)
and ``PORT`` (default ``8080``), logging at ``LOG_LEVEL``.

The HTTP API sends ``/web`` and ``/web/...`` to the container's ``/`` and ``/...``, and the container cannot
tell ``/web`` from ``/web/``. So the page names its own files with absolute paths under ``STRATUS_BASE_PATH``
(``/web/static/js/app.js``), right at either address, and its script finds the APIs from ``location`` (the page
and the APIs share the host). Requests that still carry the base path (the container reached directly, at
``http://127.0.0.1:PORT/web/``) are served as if they did not.

Everything the page needs (templates, JavaScript modules, CSS, the icon) is package data under ``web/templates``
and ``web/static``: no CDN, no build step, nothing fetched from the internet.
"""

from __future__ import annotations

import inspect
import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from stratus_common.app import create_app
from stratus_common.settings import get_settings

from web.security import SecurityHeadersMiddleware

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["app", "main"]

DEFAULT_PORT = "8080"
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

# The container's slim image has no /etc/mime.types: say what each kind of file is, since the page is served
# with `X-Content-Type-Options: nosniff` and browsers run a module script only with a JavaScript type.
for _suffix, _type in ((".js", "text/javascript"), (".css", "text/css"), (".svg", "image/svg+xml")):
    mimetypes.add_type(_type, _suffix)

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def base_prefix() -> str:
    """The path the HTTP API routes to this service, without a trailing slash: ``/web``, or ``""`` at ``/``."""
    base = get_settings().base_path
    return "" if base == "/" else base


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``web/templates``: autoescaped, never cached (a new deployment shows at once)."""
    settings = get_settings()
    html = templates.get_template(template).render(base=base_prefix(), version=settings.version, **context)
    return HTMLResponse(html, status_code=status_code, headers={"cache-control": "no-store"})


class _StaticFiles(StaticFiles):
    """The page's files, revalidated on each use (ETag / Last-Modified), so a deployment never mixes versions."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "no-cache"
        return response


class _StripBasePath:
    """Serve ``<base>/x`` as ``/x``: the container reached directly, not through the HTTP API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = base_prefix()
        path: str = scope.get("path", "")
        if prefix and scope["type"] == "http" and (path == prefix or path.startswith(prefix + "/")):
            scope = {**scope, "path": path[len(prefix) :] or "/", "raw_path": None}
        await self.app(scope, receive, send)


app = create_app(
    "Web Service",
    service="web",
    description="The web front end: the TypeRush typing game.",
    health_details=lambda: {"port": os.environ.get("PORT", DEFAULT_PORT)},
    docs_url=None,  # Swagger UI and ReDoc load from a CDN and run inline scripts: neither fits the page's CSP
    redoc_url=None,
)
app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
app.add_middleware(_StripBasePath)
app.add_middleware(SecurityHeadersMiddleware)

_json_http_exception = app.exception_handlers[StarletteHTTPException]


async def _not_found_page(request: Request, exc: Exception) -> Response:
    """A browser that asks for a page that does not exist gets a page with a way back; API clients get JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
        return render("not_found.html", status_code=404)
    response = _json_http_exception(request, exc)
    return await response if inspect.isawaitable(response) else response


app.add_exception_handler(StarletteHTTPException, _not_found_page)


@app.get("/", response_class=HTMLResponse, tags=["web"])
def index() -> HTMLResponse:
    """The game."""
    return render("index.html")


@app.get("/api/data", tags=["web"])
def data() -> dict[str, list[dict[str, Any]]]:
    """The seed's sample items (kept for the clients and checks that read them)."""
    return {"items": [{"id": n, "name": f"Item {n}"} for n in (1, 2, 3)]}


def main() -> None:
    """Serve the app with uvicorn on ``HOST``:``PORT``, logging at ``LOG_LEVEL``."""
    import uvicorn

    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", DEFAULT_PORT))
    log_level = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"
    uvicorn.run(app, host=host, port=port, log_level=log_level)


if __name__ == "__main__":
    main()
