"""API Gateway HTTP API, Lambda proxy integration, payload format 2.0: the one adapter.

``build_event`` turns what a client sent into the event a Lambda receives, ``parse_response``
turns what the Lambda returned into what the client gets, and ``gateway_error`` is API Gateway's
own answer (``{"message": "..."}``). The facts, with their sources, are in
``shared/reference/aws-behaviour.md`` section A; the decisions below are where the emulator had
to choose.

Path (``rawPath`` and ``requestContext.http.path``)
    Both are the percent-DECODED path, decoded once, and both are the same string. Real HTTP
    APIs decode the path before the Lambda sees it, ``%2F`` included: a request for ``/a%2Fb``
    arrives with ``"rawPath": "/a/b"`` (live capture in fastify/aws-lambda-fastify#169; also
    honojs/hono#2156, ``%40id%2Fassets`` -> ``@id/assets``, and the HTTP API fixtures of
    hanabu/lambda-web, ``"rawPath": "/path with/space"``). REST APIs and Function URLs keep
    the encoding; HTTP APIs do not. The AWS doc example and the captured event have
    ``http.path == rawPath``. A trailing slash is kept. ``rawQueryString`` is the query
    exactly as sent, still encoded (ministackorg/ministack#1035, verified against AWS).
    The route table (``stratus.local.httpapi.routes``) decodes the same way, so the path a
    route was chosen for is exactly the path the Lambda sees.

``queryStringParameters``
    Decoded form-style (``+`` is a space, as observed on API Gateway in aws/aws-cdk#19827),
    blank values kept (``?flag`` -> ``{"flag": ""}``), repeats joined with ``,``.

Headers API Gateway sets
    ``x-forwarded-for``: the client's own ``X-Forwarded-For`` (if any) followed by
    ``", " + source ip``, i.e. the true peer address is always the LAST element. That is what
    proxies in front of Lambda do ("CloudFront or API Gateway append the true client's ip
    address to the rightmost position", speedrun.nobackspacecrew.com, 2026-03-06). A
    client-sent value is therefore never trustworthy downstream: code that needs the caller's
    address must read ``requestContext.http.sourceIp`` (or the rightmost element), never the
    leftmost.
    ``x-forwarded-proto`` / ``x-forwarded-port``: AWS always overrides them (``https``/``443``
    in captures). Locally the connection is plain HTTP, so the keys are kept for shape and the
    values are true to the local connection: ``http`` and the port of the ``Host`` header
    (``80`` when it names none). Client-sent values are replaced, never passed through.
    ``content-length``: always present, the length of the body (the captured curl GET, which
    sends none, shows ``"content-length": "0"``).
    ``x-amzn-trace-id``: added when the client sent none (``Root=1-<epoch hex>-<24 hex>``).
    ``host`` is left as the client sent it (AWS shows the API's own hostname, which is what
    the client used there too).

Body
    HTTP APIs have no binary media types: the body is text (``isBase64Encoded: false``) only
    for ``text/*``, ``application/json``, ``application/xml`` and ``application/javascript``
    (and then only if it is valid UTF-8); anything else, a missing Content-Type and
    ``application/x-www-form-urlencoded`` included, is base64. ``body`` is absent when empty.

Response
    Full form when the result is a JSON object with ``statusCode``; otherwise AWS's inference
    rule (200, ``application/json``, body = the JSON text of the result; a string result is
    the body itself). Header values that are numbers or booleans are written as their JSON
    text (``3`` -> ``"3"``, ``true`` -> ``"true"``): adapters such as serverless-express have
    long returned a numeric ``content-length`` to HTTP APIs (CodeGenieApp/serverless-express
    #685), and SAM CLI stringifies too. A ``null`` header value is dropped. Anything else
    malformed raises ``InvalidLambdaResponse`` (the emulator answers 500
    ``{"message":"Internal Server Error"}``). ``content-length``, ``transfer-encoding`` and
    ``connection`` from the Lambda are dropped: the body is complete, the server frames it.
    The full form's missing Content-Type is left missing (what AWS adds there is unverified).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "InvalidLambdaResponse",
    "build_event",
    "decode_path",
    "format_request_time",
    "gateway_error",
    "parse_response",
]

_TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Framing headers from the Lambda: the emulator's HTTP server frames the (complete) body itself.
_DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_JSON_HEADERS = (("content-type", "application/json"),)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What the emulator received from the client."""

    method: str  # upper-case
    raw_path: str  # path exactly as sent, still percent-encoded, no query
    raw_query: str  # "" when none
    headers: list[tuple[str, str]]  # in order received, any case, repeats allowed
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


@dataclass(slots=True)
class HttpResponse:
    """What the client gets back."""

    status: int
    headers: list[tuple[str, str]]  # lower-case names; set-cookie may repeat
    body: bytes


class InvalidLambdaResponse(ValueError):
    """The Lambda's result is not a valid payload 2.0 response (API Gateway answers 500)."""


def decode_path(raw_path: str) -> str:
    """The path as an HTTP API hands it to the Lambda: percent-decoded once (``%2F`` too)."""
    return unquote(raw_path) if "%" in raw_path else raw_path


def format_request_time(epoch_ms: int) -> str:
    """``requestContext.time``: ``dd/Mon/yyyy:HH:MM:SS +0000``, English months whatever the locale."""
    t = time.gmtime(epoch_ms // 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def build_event(
    request: HttpRequest,
    *,
    route_key: str,
    path_parameters: dict[str, str] | None,
    api_id: str,
    account_id: str,
    domain_name: str,
    request_id: str,
    stage: str = "$default",
    time_epoch_ms: int | None = None,
    authorizer: dict[str, Any] | None = None,
    stage_variables: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for ``request`` (see the module docstring for the choices)."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(_split_cookies(value))
        elif key in headers:
            headers[key] = headers[key] + "," + value
        else:
            headers[key] = value

    if time_epoch_ms is None:
        time_epoch_ms = time.time_ns() // 1_000_000
    source_ip = request.source_ip
    body = request.body
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {source_ip}" if forwarded_for else source_ip
    headers["x-forwarded-proto"] = "http"
    headers["x-forwarded-port"] = _host_port(headers.get("host"))
    headers["content-length"] = str(len(body))
    if "x-amzn-trace-id" not in headers:
        headers["x-amzn-trace-id"] = _trace_id(request_id, time_epoch_ms)

    path = decode_path(request.raw_path)
    raw_query = request.raw_query
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if raw_query:
        parameters = _query_parameters(raw_query)
        if parameters:
            event["queryStringParameters"] = parameters

    context: dict[str, Any] = {"accountId": account_id, "apiId": api_id}
    if authorizer is not None:
        context["authorizer"] = authorizer
    context["domainName"] = domain_name
    context["domainPrefix"] = domain_name.partition(".")[0]
    context["http"] = {
        "method": request.method,
        "path": path,
        "protocol": request.protocol,
        "sourceIp": source_ip,
        "userAgent": headers.get("user-agent", ""),
    }
    context["requestId"] = request_id
    context["routeKey"] = route_key
    context["stage"] = stage
    context["time"] = format_request_time(time_epoch_ms)
    context["timeEpoch"] = time_epoch_ms
    event["requestContext"] = context

    is_base64 = False
    if body:
        text = _body_text(body, headers.get("content-type"))
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            is_base64 = True
        else:
            event["body"] = text
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = stage_variables
    return event


# What API Gateway gives a full-form response that has a body and no content-type (published captures: ridge#9,
# quarkus#15909, aws-lambda-go-api-proxy#116, powertools-lambda-python#2464; AWS does not document it).
DEFAULT_CONTENT_TYPE = ("content-type", "text/plain; charset=utf-8")


def parse_response(result: Any) -> HttpResponse:
    """What the client gets for ``result``, the decoded JSON a Lambda returned."""
    if isinstance(result, dict) and "statusCode" in result:
        return _parse_full_response(result)
    if isinstance(result, str):
        text = result
    else:
        try:
            text = json.dumps(result, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidLambdaResponse(f"result is not JSON: {error}") from error
    return HttpResponse(200, list(_JSON_HEADERS), _utf8(text, "result"))


def gateway_error(status: int, message: str) -> HttpResponse:
    """API Gateway's own answer, e.g. ``gateway_error(404, "Not Found")``."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, list(_JSON_HEADERS), body)


def _split_cookies(value: str) -> list[str]:
    return [cookie for part in value.split(";") if (cookie := part.strip())]


def _host_port(host: str | None) -> str:
    if host:
        if host.startswith("["):  # IPv6 literal, "[::1]:8080"
            _, _, rest = host.partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            _, _, port = host.rpartition(":")
        if port.isascii() and port.isdigit():
            return port
    return "80"


def _trace_id(request_id: str, epoch_ms: int) -> str:
    digest = hashlib.blake2b(request_id.encode(), digest_size=12).hexdigest()
    return f"Root=1-{epoch_ms // 1000:08x}-{digest}"


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        if key in parameters:
            parameters[key] = parameters[key] + "," + value
        else:
            parameters[key] = value
    return parameters


def _body_text(body: bytes, content_type: str | None) -> str | None:
    """The body as text when an HTTP API passes it as text, else None (base64)."""
    if content_type is None:
        return None
    media_type = content_type.partition(";")[0].strip().lower()
    if not (media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_full_response(result: dict[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if type(status) is not int or not 100 <= status <= 599:
        raise InvalidLambdaResponse(f"statusCode must be an integer from 100 to 599, not {status!r}")
    headers = _response_headers(result.get("headers"))
    cookies = result.get("cookies")
    if cookies is not None:
        _add_cookies(headers, cookies)
    body = _response_body(result.get("body"), result.get("isBase64Encoded"))
    if body and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(DEFAULT_CONTENT_TYPE)
    return HttpResponse(status, headers, body)


def _response_headers(raw_headers: object) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if raw_headers is None:
        return headers
    if not isinstance(raw_headers, dict):
        raise InvalidLambdaResponse(f"headers must be an object, not {type(raw_headers).__name__}")
    for name, value in raw_headers.items():
        if value is None:
            continue
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidLambdaResponse(f"invalid header name {name!r}")
        key = name.lower()
        if key not in _DROPPED_RESPONSE_HEADERS:
            headers.append((key, _header_value(name, value)))
    return headers


def _add_cookies(headers: list[tuple[str, str]], cookies: object) -> None:
    if not isinstance(cookies, list):
        raise InvalidLambdaResponse(f"cookies must be a list, not {type(cookies).__name__}")
    for cookie in cookies:
        if not isinstance(cookie, str) or _has_line_break(cookie):
            raise InvalidLambdaResponse(f"invalid cookie {cookie!r}")
        headers.append(("set-cookie", cookie))


def _response_body(body: object, is_base64: object) -> bytes:
    if body is None:
        body = ""
    elif not isinstance(body, str):
        raise InvalidLambdaResponse(f"body must be a string, not {type(body).__name__}")
    if is_base64 is None or is_base64 is False:
        return _utf8(body, "body")
    if is_base64 is not True:
        raise InvalidLambdaResponse(f"isBase64Encoded must be a boolean, not {is_base64!r}")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidLambdaResponse(f"body is not valid base64: {error}") from error


def _header_value(name: str, value: object) -> str:
    if isinstance(value, str):
        text = value
    elif value is True:
        text = "true"
    elif value is False:
        text = "false"
    elif isinstance(value, int):
        text = str(value)  # the text the Lambda's JSON carried: 3 -> "3"
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidLambdaResponse(f"header {name!r} is not a finite number")
        text = repr(value)  # as JSON writes it: 1.5 -> "1.5"
    else:
        raise InvalidLambdaResponse(f"header {name!r} must be a string, not {type(value).__name__}")
    if _has_line_break(text):
        raise InvalidLambdaResponse(f"header {name!r} contains a line break or NUL")
    return text


def _has_line_break(text: str) -> bool:
    return "\n" in text or "\r" in text or "\0" in text


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate from "\ud800" in the JSON
        raise InvalidLambdaResponse(f"{what} is not valid UTF-8 text") from error
