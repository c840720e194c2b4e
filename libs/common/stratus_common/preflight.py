"""OPTIONS requests, answered before any route of the app: a CORS preflight passes, the app's code never runs.

Behind an API Gateway HTTP API, a service's routes are ``ANY /p`` and ``ANY /p/{proxy+}`` (or ``$default``), and
a protected service also has ``OPTIONS`` routes without its authorizer (browsers send preflights without
credentials). A preflight matching any of them is sent to the service, not answered by the API
(aws/serverless-application-model#1603, anomalyco/sst#5493; the ``$default`` note of
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html). The browser's preflight passes
only when that answer is a 2xx, and FastAPI has no route taking OPTIONS: it would answer 405 (or 404).

So :class:`PreflightMiddleware` answers every OPTIONS request itself, with ``204`` and no body, and sets no CORS
header: the CORS configuration is the HTTP API's (``[api.cors]`` of stratus.toml), which "ignores CORS headers
returned from your backend integration" and "adds the configured CORS headers to the response" (same doc). An
origin the API does not allow gets its 204 without them, and the browser refuses, as it should. An OPTIONS that is
not a preflight gets the same empty 204: through an ``OPTIONS`` route it arrives unauthenticated, so none of the
app's code may run for it, and it has nothing to learn from the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PreflightMiddleware"]


class PreflightMiddleware:
    """Answer every HTTP ``OPTIONS`` request ``204`` with an empty body; pass every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
