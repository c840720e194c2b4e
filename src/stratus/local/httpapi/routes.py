"""Route selection of an API Gateway HTTP API.

A route key is ``$default`` or ``METHOD /path``, with METHOD one of GET, POST, PUT, PATCH,
DELETE, HEAD, OPTIONS or ANY, and path segments that are literals, ``{name}`` (one segment) or
``{name+}`` (greedy, last segment only, needs at least one segment: ``/worker/{proxy+}`` does
not match ``/worker``). Parameter names are not part of a route's identity: ``GET /users/{id}``
and ``GET /users/{x}`` are the same route and the table refuses to hold both.

Which route serves a request (AWS doc http-api-develop-routes.html "Routing API requests";
the finer order observed by yulin, docs/services/apigatewayv2):

1. a route matching the whole path beats a greedy route, which beats ``$default``;
2. then an exact method beats ``ANY``;
3. then, segment by segment from the left, a literal beats ``{name}`` beats ``{name+}``
   (so between greedy routes the longest literal prefix wins).

A path that matches only with another method matches nothing: 404, never 405. Routes are
case-sensitive (``/WORKER`` is not ``/worker``). A CORS preflight is routed like any OPTIONS request:
an ``OPTIONS`` route, then ``ANY``, then ``$default`` takes it (the API answers it only when none does,
``stratus.local.gateway``). The table holds the plan's routes (``stratus.manifest.routes.routes``), the
ones ``stratus infra`` renders: a protected service's ``OPTIONS`` routes, without its authorizer, included.

The route table is also what keeps protected services protected, so the path it routes on
must be exactly the path the Lambda will see, and a path that could be read two ways is not
routed at all. What the emulator does with the request path, before matching:

- it is percent-decoded once, as UTF-8, exactly as ``stratus.events.httpapi.decode_path``
  decodes ``rawPath`` for the event (HTTP APIs decode the path, ``%2F`` included; see that
  module). ``%2F`` therefore separates segments: ``/worker%2Fjobs`` is routed, and seen by the
  Lambda, as ``/worker/jobs``. Path parameter values are decoded. Decoding happens once only:
  ``%252e`` is the literal text ``%2e``.
- one trailing slash is ignored for matching (``/worker/`` is routed as ``/worker``; an HTTP API
  routes ``/hello/`` to ``GET /hello``); ``rawPath`` keeps it.
- it is NOT routed (``match`` returns None, the emulator answers 404) when, after decoding, it
  has a dot segment (``.`` or ``..``, however spelled: ``/worker/../auth``, ``/%2e%2e/auth``,
  ``/worker%2F..%2Fauth``), an empty segment (``//worker``, ``/worker//jobs``), a ``?`` (AWS
  truncates the path at a decoded ``?``, middleapi/standard-server#93; the emulator refuses
  rather than guess), a control character (``%00``, ``%0a``), invalid UTF-8 (``%ff``), or does
  not start with ``/``. What API Gateway does with dot and empty segments is not documented;
  refusing is the safe choice: such a path is never routed into a service that the literal
  path would not reach, and never reaches a backend that might resolve it differently.
- trailing dots are ordinary characters: ``/worker.`` is the literal segment ``worker.``, not
  ``worker``, so it goes wherever ``/worker.`` goes (``$default``), never to ``/worker``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from stratus.manifest.routes import DEFAULT_ROUTE_KEY, Route

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["METHODS", "Route", "RouteMatch", "RouteTable"]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})

_LITERAL, _PARAM, _GREEDY = 0, 1, 2
# Checked on the decoded path before the trailing slash is dropped: a dot segment, an empty
# segment, a control character or a "?" means the path is not routed.
_UNROUTABLE = re.compile(r"//|/\.\.?(?:/|$)|[\x00-\x1f\x7f?]")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str] | None  # decoded values; None when the route has none


@dataclass(frozen=True, slots=True)
class _Pattern:
    route: Route
    literals: tuple[str | None, ...]  # one per fixed segment; None where a {name} is
    names: tuple[str, ...]  # the {name}s, in order
    greedy: str | None  # the {name+}, if any
    rank: tuple[int, ...]  # per segment: literal < {name} < {name+}; smaller wins
    first: str | None  # the first segment when it is a literal: a cheap early reject

    def bind(self, segments: list[str]) -> dict[str, str] | None:
        values: dict[str, str] = {}
        names = iter(self.names)
        for literal, segment in zip(self.literals, segments, strict=False):
            if literal is None:
                values[next(names)] = segment
            elif literal != segment:
                return None
        if self.greedy is not None:
            values[self.greedy] = "/".join(segments[len(self.literals) :])
        return values


class RouteTable:
    """The routes of one API, precomputed for matching."""

    __slots__ = ("_default", "_greedy", "_literal", "_params", "_routes")

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes: tuple[Route, ...] = tuple(routes)
        self._default: Route | None = None
        self._literal: dict[str, dict[str, Route]] = {}  # path -> method -> route
        params: dict[tuple[str, int], list[_Pattern]] = {}  # (method, segment count) -> patterns
        greedy: dict[str, list[_Pattern]] = {}  # method -> patterns
        seen: dict[tuple[str, ...], Route] = {}
        for route in self._routes:
            shape = _register(route, self._literal, params, greedy)
            if shape is None:
                if self._default is not None:
                    raise ValueError(f"duplicate route: {self._default.key!r} and {route.key!r}")
                self._default = route
                continue
            previous = seen.get(shape)
            if previous is not None:
                raise ValueError(
                    f"duplicate route: {previous.key!r} and {route.key!r} are the same route "
                    "(parameter names do not tell routes apart)"
                )
            seen[shape] = route
        self._params = {key: tuple(sorted(group, key=_by_rank)) for key, group in params.items()}
        self._greedy = {key: tuple(sorted(group, key=_by_rank)) for key, group in greedy.items()}

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route serving ``method raw_path`` (path as sent, still encoded), or None (404)."""
        path = _routable_path(raw_path)
        if path is None:
            return None
        by_method = self._literal.get(path)
        if by_method is not None and (route := by_method.get(method)) is not None:
            return RouteMatch(route, None)
        segments = path[1:].split("/") if len(path) > 1 else []
        if self._params:
            found = self._match_params(method, segments)
            if found is not None:
                return found
        if by_method is not None and (route := by_method.get("ANY")) is not None:
            return RouteMatch(route, None)
        if self._params:
            found = self._match_params("ANY", segments)
            if found is not None:
                return found
        if self._greedy and segments:
            found = self._match_greedy(method, segments) or self._match_greedy("ANY", segments)
            if found is not None:
                return found
        if self._default is not None:
            return RouteMatch(self._default, None)
        return None

    def _match_params(self, method: str, segments: list[str]) -> RouteMatch | None:
        head = segments[0] if segments else None
        for pattern in self._params.get((method, len(segments)), ()):
            if pattern.first is not None and pattern.first != head:
                continue
            values = pattern.bind(segments)
            if values is not None:
                return RouteMatch(pattern.route, values)
        return None

    def _match_greedy(self, method: str, segments: list[str]) -> RouteMatch | None:
        count = len(segments)
        head = segments[0]
        for pattern in self._greedy.get(method, ()):
            if count > len(pattern.literals) and (pattern.first is None or pattern.first == head):
                values = pattern.bind(segments)
                if values is not None:
                    return RouteMatch(pattern.route, values)
        return None


def _routable_path(raw_path: str) -> str | None:
    """The decoded path routes are matched on, or None when it must not be routed."""
    if "%" in raw_path:
        try:
            path = unquote(raw_path, errors="strict")
        except UnicodeDecodeError:
            return None
    else:
        path = raw_path
    if not path.startswith("/") or _UNROUTABLE.search(path):
        return None
    if len(path) > 1 and path.endswith("/"):
        return path[:-1]
    return path


def _by_rank(pattern: _Pattern) -> tuple[int, ...]:
    return pattern.rank


def _register(
    route: Route,
    literal: dict[str, dict[str, Route]],
    params: dict[tuple[str, int], list[_Pattern]],
    greedy: dict[str, list[_Pattern]],
) -> tuple[str, ...] | None:
    """File ``route`` in the right index; its shape (None for ``$default``)."""
    if route.key == DEFAULT_ROUTE_KEY:
        return None
    method, path, segments = _split_key(route.key)
    literals: list[str | None] = []
    names: list[str] = []
    greedy_name: str | None = None
    rank: list[int] = []
    shape: list[str] = [method]
    for position, segment in enumerate(segments):
        kind, name = _segment(route.key, segment, last=position == len(segments) - 1)
        if name is not None and (name in names or name == greedy_name):
            raise ValueError(f"route {route.key!r}: parameter {{{name}}} appears twice")
        rank.append(kind)
        if kind == _LITERAL:
            literals.append(segment)
            shape.append(segment)
        elif kind == _PARAM and name is not None:
            literals.append(None)
            names.append(name)
            shape.append("{}")
        else:
            greedy_name = name
            shape.append("{+}")

    if greedy_name is None and not names:
        literal.setdefault(path, {})[method] = route
    else:
        first = literals[0] if literals else None
        pattern = _Pattern(route, tuple(literals), tuple(names), greedy_name, tuple(rank), first)
        if greedy_name is not None:
            greedy.setdefault(method, []).append(pattern)
        else:
            params.setdefault((method, len(segments)), []).append(pattern)
    return tuple(shape)


def _split_key(key: str) -> tuple[str, str, list[str]]:
    """``METHOD /path`` -> method, path, segments."""
    method, _, path = key.partition(" ")
    if method not in METHODS:
        raise ValueError(f"route {key!r}: method must be one of {', '.join(sorted(METHODS))} (or the key '$default')")
    if not path.startswith("/"):
        raise ValueError(f"route {key!r}: path must start with '/'")
    if path != "/" and path.endswith("/"):
        raise ValueError(f"route {key!r}: path must not end with '/'")
    return method, path, (path[1:].split("/") if path != "/" else [])


def _segment(key: str, segment: str, *, last: bool) -> tuple[int, str | None]:
    """The kind of one route key segment, and its parameter name (None for a literal)."""
    if not segment or segment in (".", ".."):
        raise ValueError(f"route {key!r}: empty or dot segment")
    if segment.startswith("{") and segment.endswith("}"):
        name = segment[1:-1]
        kind = _PARAM
        if name.endswith("+"):
            name = name[:-1]
            kind = _GREEDY
            if not last:
                raise ValueError(f"route {key!r}: a greedy parameter {segment} must be the last segment")
        if not _PARAM_NAME.fullmatch(name):
            raise ValueError(f"route {key!r}: invalid parameter {segment}")
        return kind, name
    if "{" in segment or "}" in segment:
        raise ValueError(f"route {key!r}: a parameter must be a whole segment, not {segment!r}")
    return _LITERAL, None
