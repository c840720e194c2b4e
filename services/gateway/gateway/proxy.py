"""Upstream routes: requests under a configured prefix are forwarded to an external URL.

Configuration, one group of variables per upstream ``<NAME>`` (the seeds' style)::

    UPSTREAM_USER_SERVICE_URL=https://users-api.example.com   # required: enables the upstream
    UPSTREAM_USER_SERVICE_PATH=/users        # the route prefix; default /user (the name, minus _SERVICE/_API,
                                             # lower-cased, "_" -> "-")
    UPSTREAM_USER_SERVICE_TIMEOUT=10         # seconds for the whole exchange; default UPSTREAM_TIMEOUT, else 10
    UPSTREAM_USER_SERVICE_AUTH=token         # none (default) | token | api_key: checked by the gateway itself
    UPSTREAM_USER_SERVICE_RATE_LIMIT=50/60   # N/seconds; default: the gateway's own policy

``GET /users/42?x=1`` goes to ``https://users-api.example.com/42?x=1``: the prefix is replaced by the
URL (which may have a path of its own).

What is forwarded, and what is not:

- a header whose name has an underscore is dropped, as nginx does by default (``underscores_in_headers off``):
  WSGI and CGI turn both ``-`` and ``_`` into ``_`` (``X_Stratus_Principal`` and ``X-Stratus-Principal`` are both
  ``HTTP_X_STRATUS_PRINCIPAL``), so an upstream could not tell a client's header from the gateway's; and every
  comparison of names below reads ``_`` as ``-`` (:func:`folded`);
- hop-by-hop headers (RFC 9110 §7.6.1: ``Connection`` and the headers it names, ``Keep-Alive``,
  ``Proxy-*``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``) are dropped both ways;
- ``X-Forwarded-For`` is the API's source IP (``requestContext.http.sourceIp``) and nothing else: what
  the client sent in ``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP`` is dropped, never trusted;
  ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` / ``X-Request-Id`` are set by the gateway;
- the caller's credentials (``Authorization``, ``X-Api-Key``) are not sent to the upstream: an upstream
  is another party. An authenticated caller is named in ``X-Stratus-Principal`` (client-sent
  ``X-Stratus-*`` headers are dropped);
- paths with ``.``/``..`` segments or encoded ``/`` or ``\\`` are refused (400) rather than forwarded.

Failures: 502 ``bad_gateway`` when the upstream cannot be reached or answers garbage (or more than
:data:`MAX_RESPONSE_BYTES`), 504 ``gateway_timeout`` when it does not answer within the timeout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from stratus_common.environment import ConfigurationError

from gateway.config import AUTH_MODES, AuthMode, RatePolicy, RouteTable

if TYPE_CHECKING:
    import httpx  # imported by the first forwarded request: a cold start that proxies nothing skips ~110 ms

__all__ = [
    "HOP_BY_HOP",
    "MAX_RESPONSE_BYTES",
    "ProxyResult",
    "Upstream",
    "UpstreamError",
    "folded",
    "forward",
    "load_upstreams",
    "request_headers",
    "response_headers",
]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "authorization",
        "x-api-key",
        "forwarded",
        "x-real-ip",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-request-id",
    }
)
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
"""Lambda's synchronous response limit is 6 MB (base64 and JSON included): refuse more than 5 MB."""
DEFAULT_TIMEOUT = 10.0
_NAME_RE = re.compile(r"^UPSTREAM_([A-Z0-9_]+)_URL$")
_RESERVED_PREFIXES = ("/health", "/sessions", "/liveness", "/readiness", "/docs", "/redoc", "/openapi.json")
_OWN_HEADERS = "x-stratus-"
"""The prefix of the headers the gateway sets for the upstream; a client's are dropped."""


class UpstreamError(Exception):
    """The upstream failed: ``status`` is 502 or 504."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Upstream:
    """One upstream route."""

    name: str
    prefix: str
    url: str
    timeout: float
    auth: AuthMode = "none"
    rate_limit: RatePolicy | None = None


@dataclass(frozen=True)
class ProxyResult:
    """The upstream's answer, ready to return."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _default_prefix(name: str) -> str:
    base = name.lower()
    for suffix in ("_service", "_api"):
        if base.endswith(suffix) and base != suffix.lstrip("_"):
            base = base.removesuffix(suffix)
    return "/" + base.replace("_", "-")


def _timeout(value: str, where: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigurationError(f"{where}: must be a number of seconds") from None
    if not 0.1 <= seconds <= 29:
        raise ConfigurationError(f"{where}: must be 0.1-29 seconds (API Gateway gives an integration 30 s)")
    return seconds


def load_upstreams(environ: Mapping[str, str] | None = None) -> RouteTable[Upstream]:
    """The upstreams configured in the environment; raise :class:`ConfigurationError` naming the bad variable."""
    environ = os.environ if environ is None else environ
    default_timeout = (
        _timeout(environ["UPSTREAM_TIMEOUT"], "UPSTREAM_TIMEOUT")
        if environ.get("UPSTREAM_TIMEOUT")
        else DEFAULT_TIMEOUT
    )
    upstreams: dict[str, Upstream] = {}
    for variable in sorted(environ):
        match = _NAME_RE.match(variable)
        if not match or not environ[variable].strip():
            continue
        name = match[1]
        url = environ[variable].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigurationError(f"{variable}: must be an http(s) URL without query or fragment")
        prefix = (environ.get(f"UPSTREAM_{name}_PATH") or _default_prefix(name)).strip().rstrip("/").lower()
        if not re.fullmatch(r"(/[a-z0-9][a-z0-9_.-]*)+", prefix):
            raise ConfigurationError(f"UPSTREAM_{name}_PATH: must be /segment[/segment...] (got {prefix!r})")
        if any(prefix == p or prefix.startswith(p + "/") for p in _RESERVED_PREFIXES):
            raise ConfigurationError(f"UPSTREAM_{name}_PATH: {prefix} is one of the gateway's own routes")
        if prefix in upstreams:
            raise ConfigurationError(
                f"UPSTREAM_{name}_PATH: {prefix} is already the prefix of {upstreams[prefix].name}"
            )
        auth = (environ.get(f"UPSTREAM_{name}_AUTH") or "none").strip()
        if auth not in AUTH_MODES:
            raise ConfigurationError(f"UPSTREAM_{name}_AUTH: must be one of {', '.join(AUTH_MODES)}")
        timeout_text = environ.get(f"UPSTREAM_{name}_TIMEOUT")
        limit_text = environ.get(f"UPSTREAM_{name}_RATE_LIMIT")
        upstreams[prefix] = Upstream(
            name=name,
            prefix=prefix,
            url=url.rstrip("/"),
            timeout=_timeout(timeout_text, f"UPSTREAM_{name}_TIMEOUT") if timeout_text else default_timeout,
            auth=auth,
            rate_limit=RatePolicy.parse(limit_text.strip(), f"UPSTREAM_{name}_RATE_LIMIT") if limit_text else None,
        )
    return RouteTable(upstreams)


def safe_suffix(raw_path: str, prefix: str) -> str | None:
    """The part of *raw_path* after *prefix*, still percent-encoded; ``None`` when it must not be forwarded."""
    lowered = raw_path.lower()
    if "%2f" in lowered or "%5c" in lowered or "\\" in raw_path:
        return None
    parts = [part for part in raw_path.split("/") if part]
    prefix_parts = [part for part in prefix.split("/") if part]
    rest = parts[len(prefix_parts) :]
    if any(unquote(part).strip() in (".", "..") for part in parts):
        return None
    suffix = "/" + "/".join(rest) if rest else ""
    if raw_path.endswith("/") and rest:
        suffix += "/"
    return quote(suffix, safe="/%:@!$&'()*+,;=-._~")


def folded(name: str) -> str:
    """A header name as the proxy compares it: lower-case, ``_`` read as ``-`` (as WSGI and CGI read both)."""
    return name.lower().replace("_", "-")


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if folded(name) == "connection":
            tokens.update(folded(token.strip()) for token in value.split(",") if token.strip())
    return tokens


def request_headers(
    incoming: Iterable[tuple[str, str]],
    *,
    source_ip: str,
    proto: str,
    host: str | None,
    request_id: str | None,
    principal: str | None,
) -> list[tuple[str, str]]:
    """The headers sent upstream (see the module's docstring)."""
    incoming = list(incoming)
    dropped = HOP_BY_HOP | _NOT_FORWARDED | _connection_tokens(incoming)
    out = [
        (name, value)
        for name, value in incoming
        if "_" not in name and folded(name) not in dropped and not folded(name).startswith(_OWN_HEADERS)
    ]
    out.append(("x-forwarded-for", source_ip))
    out.append(("x-forwarded-proto", proto))
    if host:
        out.append(("x-forwarded-host", host))
    if request_id:
        out.append(("x-request-id", request_id))
    if principal:
        out.append((_OWN_HEADERS + "principal", principal))
    return out


def response_headers(incoming: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream's response headers, without hop-by-hop ones and without ``content-length``."""
    incoming = list(incoming)
    dropped = HOP_BY_HOP | {"content-length"} | _connection_tokens(incoming)
    return [(name, value) for name, value in incoming if folded(name) not in dropped]


def forward(
    client: httpx.Client,
    upstream: Upstream,
    *,
    method: str,
    suffix: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> ProxyResult:
    """Send the request to the upstream and read its answer; raise :class:`UpstreamError` on failure."""
    import httpx

    url = upstream.url + suffix + (f"?{query}" if query else "")
    timeout = httpx.Timeout(upstream.timeout)
    try:
        request = client.build_request(method, url, headers=headers, content=body or None, timeout=timeout)
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise UpstreamError(502, "bad_gateway", "The upstream's response is too large")
                chunks.append(chunk)
        finally:
            response.close()
    except httpx.TimeoutException:
        raise UpstreamError(504, "gateway_timeout", "The upstream did not answer in time") from None
    except httpx.HTTPError:
        raise UpstreamError(502, "bad_gateway", "The upstream could not be reached or gave an invalid answer") from None
    return ProxyResult(response.status_code, response_headers(response.headers.multi_items()), b"".join(chunks))


def event_of(scope: Mapping[str, Any]) -> Mapping[str, Any]:
    """The API Gateway event behind an ASGI request (Mangum puts it in the scope), else ``{}``."""
    event = scope.get("aws.event")
    return event if isinstance(event, Mapping) else {}
