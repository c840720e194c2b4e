"""A deployed stack under test (``stratus test --against URL``): is the URL one?"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import httpx

from stratus.errors import StratusError

__all__ = ["CREDENTIALS", "check_stack"]

CREDENTIALS = {"api_key": "STRATUS_API_KEY", "token": "STRATUS_TOKEN", "client": "STRATUS_CLIENT",
               "invite": "STRATUS_INVITE"}  # fmt: skip
"""What a deployed stack's tests are given (``stratus test --against``), and the variable each travels in: pytest's
environment, never its command line."""


def check_stack(url: str, *, timeout: float = 15.0) -> None:
    """Raise :class:`StratusError` (one line, with a hint) unless ``url`` answers as an API Gateway HTTP API does
    (every answer of which carries ``apigw-requestid``, as the local cloud's do)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StratusError(
            f"{url!r} is not an http(s) URL", hint="give the HTTP API's URL: terraform output primary_endpoint"
        )
    probe = f"{url.rstrip('/')}/stratus-probe-{secrets.token_hex(4)}"
    try:
        response = httpx.get(probe, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        raise StratusError(
            f"cannot reach {url}: {error or type(error).__name__}", hint="is the stack deployed, and the URL right?"
        ) from None
    if "apigw-requestid" not in response.headers:
        raise StratusError(
            f"{url} is not a Stratus stack: it answered {response.status_code} without API Gateway's apigw-requestid",
            hint="give the HTTP API's URL (terraform output primary_endpoint), not a page in front of it",
        )
