"""Answers in the shape of Lambda's REST-JSON API: a status, the error's type in ``x-amzn-errortype`` and a body
``{"Type": "User", "message": ...}`` (botocore reads the type from the header, the message from the body)."""

from __future__ import annotations

import json
from typing import Any

Headers = list[tuple[str, str]]
Answer = tuple[int, Headers, bytes]


def error(status: int, code: str, message: str, *, reason: str | None = None) -> Answer:
    body: dict[str, str] = {"Type": "User", "message": message}
    if reason:
        body["Reason"] = reason
    return status, [("content-type", "application/json"), ("x-amzn-errortype", code)], json.dumps(body).encode()


def document(data: dict[str, Any], status: int = 200) -> Answer:
    """A JSON document, as Lambda's control-plane operations answer."""
    return status, [("content-type", "application/json")], json.dumps(data).encode()
