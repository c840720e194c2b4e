"""The idp's errors: OAuth 2.0 token-endpoint errors (RFC 6749 §5.2) and configuration errors."""

from __future__ import annotations

from collections.abc import Mapping

from stratus_common.environment import ConfigurationError

__all__ = ["ConfigurationError", "OAuthError"]


class OAuthError(Exception):
    """An error of ``/auth/token`` or ``/auth/refresh``, answered as ``{"error", "error_description"}``.

    ``error`` is one of RFC 6749's codes (``invalid_request``, ``invalid_client``, ``invalid_grant``,
    ``unauthorized_client``, ``unsupported_grant_type``, ``invalid_scope``), or ``too_many_requests`` (429) /
    ``temporarily_unavailable`` (503), both with ``Retry-After``; the description names the offending parameter and
    never repeats a submitted value.
    """

    def __init__(self, status: int, error: str, description: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})
