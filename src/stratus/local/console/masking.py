"""Secrets kept out of what the console shows unless asked (``reveal``): events and requests hold bearer
tokens, API keys, cookies and passwords, and a screenshot or a screen share should not.

Masked: the values of credential headers (``authorization``, ``cookie``, ``x-api-key``...), of JSON fields whose
name says secret (``password``, ``token``, ``secret``, ``api_key``, ``authorization``...), of cookies, and any
JWT or ``Bearer`` value anywhere in a string. A masked value keeps its length, never its characters.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api[-_]?key|apikey|authorization|cookie|credential|private[-_]?key"
    r"|session[-_]?id|signature|x-amz-security-token",
    re.IGNORECASE,
)
_IN_TEXT = re.compile(
    r"(?P<jwt>eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"
    r"|(?P<bearer>(?<=Bearer )[A-Za-z0-9._~+/=-]{8,})"
    r"|(?P<pair>(?P<key>\"?[A-Za-z_-]*(?:password|secret|token|api_?key)\"?\s*[:=]\s*\"?)(?P<value>[^\s\",&}]{4,}))",
    re.IGNORECASE,
)


def masked(value: str) -> str:
    return f"•••• (masked, {len(value)} chars)"


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_text(text: str) -> str:
    """``text`` with every JWT, bearer token and ``password=...``-like value masked."""

    def replace(match: re.Match[str]) -> str:
        if match.group("pair"):
            return match.group("key") + masked(match.group("value"))
        return masked(match.group(0))

    return _IN_TEXT.sub(replace, text)


def mask_value(value: Any) -> Any:
    """A JSON value with secret-named fields and token-like strings masked (a new value; the input is kept)."""
    if isinstance(value, dict):
        return {k: _mask_field(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_field(name: str, value: Any) -> Any:
    if secret_name(str(name)) and isinstance(value, str | int | float) and not isinstance(value, bool):
        return masked(str(value))
    if name == "cookies" and isinstance(value, list):
        return [mask_cookie(str(v)) for v in value]
    return mask_value(value)


def mask_cookie(cookie: str) -> str:
    name, sep, value = cookie.partition("=")
    return f"{name}={masked(value)}" if sep else masked(cookie)


def mask_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, masked(v) if secret_name(k) else mask_text(v)) for k, v in headers]


def mask_body(body: str, content_type: str) -> str:
    """A request or response body: JSON and form fields by name, any other text by pattern."""
    if "json" in content_type or body[:1] in ("{", "["):
        try:
            parsed = json.loads(body)
        except ValueError:
            pass
        else:
            hidden = mask_value(parsed)
            return body if hidden == parsed else json.dumps(hidden, ensure_ascii=False)
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body, keep_blank_values=True)
        return urlencode([(k, masked(v) if secret_name(k) else v) for k, v in pairs])
    return mask_text(body)


def mask_query(query: str) -> str:
    """A raw query string with the values of secret-named parameters masked (the rest kept byte for byte)."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        parts.append(f"{name}={masked(value)}" if sep and secret_name(name) else mask_text(part))
    return "&".join(parts)


def mask_event(event: Any) -> Any:
    """An event (payload 2.0, SQS, S3, ...): headers by name, the body as its content type says, the rest by name
    and pattern."""
    if not isinstance(event, dict):
        return mask_value(event)
    out = mask_value({k: v for k, v in event.items() if k not in ("headers", "body")})
    headers = event.get("headers")
    if isinstance(headers, dict):
        out["headers"] = {k: masked(str(v)) if secret_name(k) else mask_text(str(v)) for k, v in headers.items()}
    body = event.get("body")
    if isinstance(body, str):
        content_type = str((headers or {}).get("content-type", "")) if isinstance(headers, dict) else ""
        out["body"] = body if event.get("isBase64Encoded") else mask_body(body, content_type)
    elif body is not None:
        out["body"] = mask_value(body)
    return {k: out[k] for k in event if k in out}  # the event's own key order
