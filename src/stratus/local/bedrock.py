"""Amazon Bedrock Runtime in the local cloud: ``Converse`` and ``InvokeModel`` answered by an offline generator.

moto's bedrock-runtime answers ``InvokeModel`` with ``{}`` and has no ``Converse``, so the embedded AWS sends these
requests here instead (``POST /model/{modelId}/converse`` and ``/model/{modelId}/invoke``, the REST paths of
the bedrock-runtime API). A service calls Bedrock exactly as in AWS (``client("bedrock-runtime").converse(...)``)
and gets a response of AWS's shape:

- ``Converse``: ``{"output": {"message": {"role": "assistant", "content": [{"text": ...}]}}, "stopReason",
  "usage": {"inputTokens", "outputTokens", "totalTokens"}, "metrics": {"latencyMs"}}``;
- ``InvokeModel`` with an Anthropic Messages body (``anthropic_version``, ``messages``, ``max_tokens``): the
  Messages API response (``{"id", "type": "message", "role", "content": [{"type": "text", "text"}], "model",
  "stop_reason", "usage"}``). Other model families' bodies get AWS's ``ValidationException``.

The text is English prose made from a fixed vocabulary, **deterministic per request**: the seed is a hash of the
model id and the messages, so a test can rely on it, and a caller that wants a different text sends a different
prompt (a nonce, a topic). Its length follows ``maxTokens`` (about 0.75 words per token, at most 120 words). No
model is downloaded and nothing leaves the machine. Errors use the REST-JSON shape botocore parses
(``x-amzn-ErrorType`` header, ``{"message"}`` body): a malformed request is a ``ValidationException`` (400).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

__all__ = ["PATH", "generate", "middleware"]

PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<operation>converse|invoke)$")
MAX_WORDS = 120

_VOCABULARY = (
    "the quick river runs past old stone houses where people gather each morning to share news and bread "
    "a small garden grows beside the path with bright flowers that open toward the warm light of summer "
    "children learn to read and write at the school near the hill while their teachers plan new lessons "
    "every journey begins with a single step and a clear idea of where you want to go next music fills "
    "the evening air as friends walk home under a sky full of quiet stars good work takes patience "
    "practice and care so keep your hands steady and your mind calm the market sells fresh fruit warm "
    "coffee simple tools and books about distant places a careful typist watches the screen listens to "
    "the rhythm of the keys and keeps a steady pace"
)
_WORDS = tuple(_VOCABULARY.split())
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def generate(seed: str, max_tokens: int) -> tuple[str, bool]:
    """Deterministic prose for ``seed``: ``(text, truncated)``; ``truncated`` when ``max_tokens`` cut it short."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    wanted = rng.randint(40, 90)
    limit = max(1, min(MAX_WORDS, int(max_tokens * 0.75)))
    count = min(wanted, limit)
    sentences: list[str] = []
    words = 0
    while words < count:
        length = min(rng.randint(6, 14), count - words)
        chosen = [rng.choice(_WORDS) for _ in range(length)]
        sentence = " ".join(chosen)
        if not sentences or sentences[-1].endswith("."):
            sentence = sentence[0].upper() + sentence[1:]
        sentences.append(sentence + ("." if rng.random() < 0.85 else ","))
        words += length
    text = " ".join(sentences)
    return (text[:-1] + "." if text.endswith(",") else text), wanted > limit


def _tokens(text: str) -> int:
    return max(1, round(len(text.split()) / 0.75))


def _error(start_response: StartResponse, status: str, kind: str, message: str) -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind), ("Content-Length", str(len(body)))],
    )
    return [body]


def _ok(start_response: StartResponse, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


def _prompt_text(messages: Any) -> str:
    """The text of a list of messages (Converse blocks ``[{"text"}]`` or Anthropic content: strings or blocks)."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    parts = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise ValueError("each message needs a role of user or assistant")
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(block.get("text", "")) for block in content if isinstance(block, dict))
        else:
            raise ValueError("each message needs content")
    return "\n".join(parts)


def _converse(model: str, request: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    prompt = _prompt_text(request.get("messages"))
    system = json.dumps(request.get("system", []), sort_keys=True)
    max_tokens = int((request.get("inferenceConfig") or {}).get("maxTokens", 512))
    if max_tokens < 1:
        raise ValueError("inferenceConfig.maxTokens must be at least 1")
    text, truncated = generate(f"{model}\n{system}\n{prompt}", max_tokens)
    usage = {"inputTokens": _tokens(prompt), "outputTokens": _tokens(text)}
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "max_tokens" if truncated else "end_turn",
        "usage": {**usage, "totalTokens": usage["inputTokens"] + usage["outputTokens"]},
        "metrics": {"latencyMs": max(1, round((time.perf_counter() - started) * 1000))},
    }


def _invoke(model: str, request: dict[str, Any]) -> dict[str, Any]:
    if "anthropic_version" not in request:
        raise ValueError(
            "the local cloud emulates InvokeModel with the Anthropic Messages body only (anthropic_version, "
            "messages, max_tokens); use the Converse API for any model"
        )
    prompt = _prompt_text(request.get("messages"))
    max_tokens = int(request.get("max_tokens", 0))
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    text, truncated = generate(f"{model}\n{json.dumps(request.get('system', ''))}\n{prompt}", max_tokens)
    return {
        "id": f"msg_bdrk_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "max_tokens" if truncated else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": _tokens(prompt), "output_tokens": _tokens(text)},
    }


def middleware(app: Wsgi) -> Wsgi:
    """Wrap moto's WSGI app: Bedrock Runtime's Converse and InvokeModel are answered here, the rest by moto."""

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        model = unquote(match["model"])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
            answer = _converse(model, request) if match["operation"] == "converse" else _invoke(model, request)
        except (ValueError, TypeError) as exc:
            return _error(start_response, "400 Bad Request", "ValidationException", str(exc))
        return _ok(start_response, answer)

    return wsgi
