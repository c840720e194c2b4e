"""Who is calling: the principal the gateway's route authorizer allowed, as a FastAPI dependency.

A service behind ``auth = "token"`` or ``auth = "api_key"`` never checks credentials itself. API Gateway (and the
local cloud's HTTP API, which does the same) calls the gateway's Lambda authorizer first and passes what it
returned to the integration as ``requestContext.authorizer.lambda`` of the payload 2.0 event; Mangum hands that
event to the app as ``request.scope["aws.event"]``. The context (see ``gateway.authorizer``)::

    token:   {"principalId": "user:<sub>", "kind": "user", "subject": "<sub>", "scopes": [...],
              "authMode": "token", "username": "..."}            (a machine client: kind "client", clientId)
    API key: {"principalId": "key:<id>", "kind": "api_key", "keyId": "...", "keyName": "...", "scopes": [...],
              "authMode": "api_key"}

- :func:`principal_of` (a request) -> :class:`Principal`, or ``None`` when the request did not come through an
  authorizer (an ``auth = "none"`` route, a direct invoke, a test client);
- :func:`current_principal`: the dependency, 401 when there is none;
- :func:`current_user`: the dependency for endpoints that act for a person: 401 without one, 403 for a machine
  client or an API key;
- :func:`require_scopes` (``"texts:write"``): a dependency that also wants every scope listed: 403 naming the missing
  ones otherwise.

Nothing here trusts a header: the context is only ever set by the authorizer, never by the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from stratus_common.errors import Forbidden, Unauthorized

__all__ = ["Principal", "current_principal", "current_user", "principal_of", "require_scopes"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller the authorizer allowed."""

    principal_id: str
    kind: str
    """``user``, ``client`` (OAuth client credentials) or ``api_key``."""
    subject: str
    """The user's id (the token's ``sub``), the client id, or the API key's id."""
    scopes: frozenset[str]
    username: str | None = None

    @property
    def is_user(self) -> bool:
        """Whether this is a person signed in with a token."""
        return self.kind == "user"

    def has_scopes(self, *scopes: str) -> bool:
        """Whether every one of *scopes* was granted."""
        return all(scope in self.scopes for scope in scopes)


def _from_context(context: Mapping[str, Any]) -> Principal | None:
    principal_id = context.get("principalId")
    kind = context.get("kind")
    if not isinstance(principal_id, str) or not principal_id or not isinstance(kind, str):
        return None
    subject = context.get("subject") or context.get("keyId") or principal_id.partition(":")[2]
    raw_scopes = context.get("scopes") or []
    if isinstance(raw_scopes, str):  # a context value may arrive as a space-separated string
        raw_scopes = raw_scopes.split()
    username = context.get("username")
    return Principal(
        principal_id=principal_id,
        kind=kind,
        subject=str(subject),
        scopes=frozenset(str(scope) for scope in raw_scopes),
        username=str(username) if username else None,
    )


def principal_of(request: Request) -> Principal | None:
    """The principal of *request*, from ``requestContext.authorizer.lambda`` of its Lambda event; else ``None``."""
    event = request.scope.get("aws.event")
    if not isinstance(event, Mapping):
        return None
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    context = authorizer.get("lambda") if isinstance(authorizer, Mapping) else None
    return _from_context(context) if isinstance(context, Mapping) else None


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, or 401 when the request came through no authorizer."""
    principal = principal_of(request)
    if principal is None:
        raise Unauthorized("This endpoint needs a signed-in caller", headers={"WWW-Authenticate": "Bearer"})
    return principal


def current_user(request: Request) -> Principal:
    """FastAPI dependency: the signed-in person; 401 without a caller, 403 for a machine client or an API key."""
    principal = current_principal(request)
    if not principal.is_user:
        raise Forbidden("Only a signed-in user can do this", code="user_required")
    return principal


def require_scopes(*scopes: str) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the caller, who must hold every one of *scopes* (403 naming the missing ones)."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        missing = sorted(set(scopes) - principal.scopes)
        if missing:
            raise Forbidden(
                f"Missing scope: {' '.join(missing)}", details={"missing_scopes": missing}, code="insufficient_scope"
            )
        return principal

    return dependency
