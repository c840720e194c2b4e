"""The web front end: an App Runner (or ECS Express) container, routed at ``/web`` by the HTTP API.

Run it with ``python -m web.main`` (or ``python -m web``): uvicorn on ``HOST`` (default ``0.0.0.0``)
and ``PORT`` (default ``8080``), logging at ``LOG_LEVEL``.

The page is served at ``/web/`` through the API but at ``/`` by the container, so every URL in it is
relative (``api/data``), resolved against the page's own directory.
"""

from __future__ import annotations

import html
import os
from typing import Any

from fastapi.responses import HTMLResponse
from stratus_common.app import create_app
from stratus_common.settings import get_settings

__all__ = ["app", "main"]

DEFAULT_PORT = "8080"

app = create_app(
    "Web Service",
    service="web",
    description="The web front end.",
    health_details=lambda: {"port": os.environ.get("PORT", DEFAULT_PORT)},
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Web Service</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 2.5rem auto; max-width: 40rem; padding: 0 1rem; color: #222; }}
  .info {{ background: #f4f4f4; padding: 1rem 1.25rem; border-radius: 6px; }}
  ul {{ padding-left: 1.25rem; }}
  .error {{ color: #a00; }}
</style>
</head>
<body>
<h1>Web Service</h1>
<div class="info">
  <p><strong>Service:</strong> Web Frontend</p>
  <p><strong>Version:</strong> {version}</p>
  <p><strong>Status:</strong> Running</p>
</div>
<h2>Items</h2>
<ul id="items"><li>Loading&hellip;</li></ul>
<script>
(function () {{
  // The page is /web/ through the API and / in the container: resolve against the page's directory,
  // and treat ".../web" (no trailing slash) as the directory itself.
  var base = window.location.pathname.endsWith("/") ? window.location.pathname : window.location.pathname + "/";
  var list = document.getElementById("items");
  fetch(base + "api/data", {{ headers: {{ "accept": "application/json" }} }})
    .then(function (response) {{
      if (!response.ok) {{ throw new Error("HTTP " + response.status); }}
      return response.json();
    }})
    .then(function (data) {{
      list.replaceChildren();
      data.items.forEach(function (item) {{
        var entry = document.createElement("li");
        entry.textContent = item.id + ". " + item.name;
        list.appendChild(entry);
      }});
    }})
    .catch(function (error) {{
      list.replaceChildren();
      var entry = document.createElement("li");
      entry.className = "error";
      entry.textContent = "Could not load the items: " + error.message;
      list.appendChild(entry);
    }});
}})();
</script>
</body>
</html>
"""


@app.get("/", response_class=HTMLResponse, tags=["web"])
def index() -> HTMLResponse:
    """The page."""
    return HTMLResponse(_PAGE.format(version=html.escape(get_settings().version)))


@app.get("/api/data", tags=["web"])
def data() -> dict[str, list[dict[str, Any]]]:
    """The items the page shows."""
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
