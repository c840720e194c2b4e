"""The HTTP API's routes and authorizers, as both the local cloud and the Terraform declare them.

A service on ``/p`` gets ``ANY /p`` and ``ANY /p/{proxy+}``; a service on ``/`` gets ``$default``. A protected
service (``auth`` other than ``none``) has its routes guarded by the authorizer of its mode; with CORS
configured, it also gets ``OPTIONS`` routes without the authorizer, because browsers send preflights without
credentials. Authorizers: the manifest's one when it names identity sources, else one per auth mode in use,
each reading that mode's identity source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stratus import naming
from stratus.manifest.schema import LambdaService

if TYPE_CHECKING:
    from stratus.manifest.stack import Stack

DEFAULT_ROUTE_KEY = "$default"
# The request value each auth mode is decided by, when [api] authorizer names no identity sources.
MODE_IDENTITY_SOURCES: dict[str, tuple[str, ...]] = {
    "api_key": ("$request.header.x-api-key",),
    "token": ("$request.header.Authorization",),
}
DEFAULT_AUTHORIZER_KEY = "default"


@dataclass(frozen=True, slots=True)
class Route:
    """``key`` is ``$default`` or ``METHOD /path`` (``{name}`` and ``{name+}`` segments allowed)."""

    key: str
    target: str  # the service the route integrates with
    authorizer: str | None = None  # a key of ``plan.authorizers``; None: no authorization

    @property
    def greedy(self) -> bool:
        """Whether the route takes the rest of the path (``{proxy+}``, or ``$default``)."""
        return self.key == DEFAULT_ROUTE_KEY or self.key.endswith("+}")


@dataclass(frozen=True, slots=True)
class Authorizer:
    """A Lambda REQUEST authorizer (payload 2.0, simple responses)."""

    key: str
    service: str
    function: str  # its function's key in ``service``
    function_name: str
    identity_sources: tuple[str, ...]
    ttl: int


def route_keys(path: str, method: str = "ANY") -> list[str]:
    """The route keys of a service mounted at ``path``: ``/`` is ``$default``, ``/worker`` is ``ANY /worker``
    and ``ANY /worker/{proxy+}``; another method gives ``METHOD /`` and ``METHOD /{proxy+}`` for ``/``."""
    if not path.startswith("/") or (path != "/" and path.endswith("/")) or "{" in path or "}" in path:
        raise ValueError(f"service path {path!r}: must start with '/', not end with '/', and hold no '{{' or '}}'")
    if path == "/":
        return [DEFAULT_ROUTE_KEY] if method == "ANY" else [f"{method} /", f"{method} /{{proxy+}}"]
    return [f"{method} {path}", f"{method} {path}/{{proxy+}}"]


def authorizer_key(stack: Stack, auth: str) -> str | None:
    """Which authorizer guards routes of auth mode ``auth``: the manifest's only one, or that mode's."""
    if auth == "none":
        return None
    authorizer = stack.authorizer
    return DEFAULT_AUTHORIZER_KEY if authorizer is not None and authorizer.identity_sources else auth


def routes(stack: Stack) -> list[Route]:
    """Every route of the API, by service path."""
    out: list[Route] = []
    for name in sorted(stack.services, key=lambda n: (stack.services[n].path, n)):
        svc = stack.services[name]
        guard = authorizer_key(stack, svc.auth)
        out += [Route(key, name, guard) for key in route_keys(svc.path)]
        if guard is not None and stack.api.cors is not None:
            out += [Route(key, name, None) for key in route_keys(svc.path, "OPTIONS")]
    return out


def authorizers(stack: Stack) -> dict[str, Authorizer]:
    """The API's authorizers, by key: ``default`` when the manifest names identity sources, else one per auth
    mode in use."""
    config = stack.authorizer
    modes = sorted({svc.auth for svc in stack.services.values() if svc.auth != "none"})
    if config is None or not modes or not isinstance(stack.services.get(config.service), LambdaService):
        return {}
    function_name = stack.resource_name(naming.suffixed(config.service, "authorizer"))

    def authorizer(key: str, sources: tuple[str, ...]) -> Authorizer:
        return Authorizer(key, config.service, "authorizer", function_name, sources, config.ttl)

    if config.identity_sources:
        return {DEFAULT_AUTHORIZER_KEY: authorizer(DEFAULT_AUTHORIZER_KEY, tuple(config.identity_sources))}
    return {mode: authorizer(mode, MODE_IDENTITY_SOURCES[mode]) for mode in modes}
