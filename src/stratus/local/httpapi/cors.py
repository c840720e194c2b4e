"""CORS of an HTTP API, as API Gateway applies it (AWS doc http-api-cors.html).

With a CORS configuration, API Gateway adds the configured CORS headers to integration responses and
IGNORES the CORS headers the backend returned (they are stripped). CORS headers are only returned to a
request with an ``Origin`` header; a preflight is an OPTIONS with ``Origin`` and
``Access-Control-Request-Method``.

Who answers a preflight (see ``stratus.local.gateway``): route selection comes first. A preflight that
matches a route (an ``OPTIONS`` route, an ``ANY`` route, ``$default``) is that route's: its authorizer and
its integration answer (the doc's ``$default`` caveat; aws/serverless-application-model#1603 "Lambda
receives the OPTIONS request"; anomalyco/sst#5493), and :meth:`CorsConfig.apply` with ``preflight=True``
then puts the preflight headers on the integration's answer. Only a preflight that matches no route is
answered by the API itself (:meth:`CorsConfig.preflight`: "even if there isn't an OPTIONS route").

``allow_origins`` entries are an exact origin (``https://www.example.com``), ``*`` (every
origin), or ``https://*`` / ``http://*`` (every origin with that scheme): the forms the AWS doc
lists. ``*`` is answered as ``*``; every other allowed origin is echoed, with ``vary: origin``.
``*`` together with ``allow_credentials`` is refused: browsers ignore credentials on ``*``.
An origin that is not allowed gets no ``access-control-*`` header at all (a preflight for it
is still answered 204, without them). ``expose_headers`` go on actual responses only, not on
preflights (observed, aws/serverless-application-model#2478).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.events.httpapi import HttpResponse

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["CorsConfig", "preflight_origin"]


class CorsConfig:
    __slots__ = (
        "_any_origin",
        "_exact_origins",
        "_preflight_headers",
        "_response_headers",
        "_scheme_prefixes",
        "allow_credentials",
        "allow_headers",
        "allow_methods",
        "allow_origins",
        "expose_headers",
        "max_age",
    )

    def __init__(
        self,
        allow_origins: Iterable[str] = (),
        allow_methods: Iterable[str] = (),
        allow_headers: Iterable[str] = (),
        expose_headers: Iterable[str] = (),
        max_age: int | None = None,
        allow_credentials: bool = False,
    ) -> None:
        self.allow_origins = tuple(allow_origins)
        self.allow_methods = tuple(allow_methods)
        self.allow_headers = tuple(allow_headers)
        self.expose_headers = tuple(expose_headers)
        self.max_age = max_age
        self.allow_credentials = allow_credentials

        exact: set[str] = set()
        prefixes: list[str] = []
        for origin in self.allow_origins:
            if origin == "*":
                continue
            if origin in ("https://*", "http://*"):
                prefixes.append(origin[:-1])
            elif "*" in origin:
                raise ValueError(f"CORS origin {origin!r}: only '*', 'https://*' and 'http://*' may hold a '*'")
            else:
                exact.add(origin.lower())
        self._any_origin = "*" in self.allow_origins
        if self._any_origin and allow_credentials:
            raise ValueError("CORS: allow_credentials cannot be used with the origin '*'")
        if max_age is not None and max_age < 0:
            raise ValueError(f"CORS max_age must not be negative, not {max_age}")
        self._exact_origins = frozenset(exact)
        self._scheme_prefixes = tuple(prefixes)

        credentials = [("access-control-allow-credentials", "true")] if allow_credentials else []
        preflight: list[tuple[str, str]] = []
        if self.allow_methods:
            preflight.append(("access-control-allow-methods", ",".join(self.allow_methods)))
        if self.allow_headers:
            preflight.append(("access-control-allow-headers", ",".join(self.allow_headers)))
        if max_age is not None:
            preflight.append(("access-control-max-age", str(max_age)))
        self._preflight_headers = tuple(preflight + credentials)
        response = list(credentials)
        if self.expose_headers:
            response.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        self._response_headers = tuple(response)

    def __repr__(self) -> str:
        return (
            f"CorsConfig(allow_origins={self.allow_origins!r}, allow_methods={self.allow_methods!r}, "
            f"allow_headers={self.allow_headers!r}, expose_headers={self.expose_headers!r}, "
            f"max_age={self.max_age!r}, allow_credentials={self.allow_credentials!r})"
        )

    def allowed_origin(self, origin: str) -> str | None:
        """The ``access-control-allow-origin`` value for ``origin``, or None if not allowed."""
        if self._any_origin:
            return "*"
        lowered = origin.lower()
        if lowered in self._exact_origins or lowered.startswith(self._scheme_prefixes):
            return origin
        return None

    def preflight(self, request_headers: Iterable[tuple[str, str]]) -> HttpResponse | None:
        """API Gateway's own answer to the OPTIONS request with these headers when no route takes
        it, or None when it is not a preflight (no ``Origin`` or no ``Access-Control-Request-Method``)."""
        origin = preflight_origin(request_headers)
        if origin is None:
            return None
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return HttpResponse(204, [], b"")
        headers = [("access-control-allow-origin", allowed), *self._preflight_headers]
        if allowed != "*":
            headers.append(("vary", "origin"))
        return HttpResponse(204, headers, b"")

    def apply(
        self, origin: str | None, response_headers: Iterable[tuple[str, str]], *, preflight: bool = False
    ) -> list[tuple[str, str]]:
        """``response_headers`` without the backend's CORS headers, plus the configured ones
        when ``origin`` (the request's ``Origin``, None when absent) is allowed: those of a
        preflight when ``preflight`` (the integration answered a routed preflight), else those
        of an actual response."""
        headers = [(name, value) for name, value in response_headers if not _is_cors_header(name)]
        if origin is None:
            return headers
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return headers
        headers.append(("access-control-allow-origin", allowed))
        headers.extend(self._preflight_headers if preflight else self._response_headers)
        if allowed != "*" and not _varies_on_origin(headers):
            headers.append(("vary", "origin"))
        return headers


def preflight_origin(request_headers: Iterable[tuple[str, str]]) -> str | None:
    """The ``Origin`` of a CORS preflight with these headers (an OPTIONS request's), or None when they
    are not a preflight's: a preflight has both ``Origin`` and ``Access-Control-Request-Method``."""
    origin: str | None = None
    has_method = False
    for name, value in request_headers:
        key = name.lower()
        if key == "origin":
            origin = value
        elif key == "access-control-request-method":
            has_method = True
    return origin if has_method else None


def _is_cors_header(name: str) -> bool:
    return name[:15].lower() == "access-control-"


def _varies_on_origin(headers: list[tuple[str, str]]) -> bool:
    for name, value in headers:
        if name.lower() == "vary":
            tokens = {token.strip().lower() for token in value.split(",")}
            if "origin" in tokens or "*" in tokens:
                return True
    return False
