"""The level of a log line, read the way a developer would: a JSON line's ``level`` (Powertools, structlog),
Lambda's ``[ERROR]`` prefix or a logging-style level word near the start, a traceback, or the platform's lines
of a failed or timed-out invocation. Anything else is INFO."""

from __future__ import annotations

import json
import re

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_WORD = re.compile(r"\b(DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|EXCEPTION)\b")
_ALIASES = {"WARN": "WARNING", "CRITICAL": "ERROR", "FATAL": "ERROR", "EXCEPTION": "ERROR"}
_ERRORS = ("Traceback (most recent call last)", "INIT FAILED", "Task timed out", "Status: error", "Status: timeout")


def level_of(line: str) -> str:
    if line.startswith("{"):
        try:
            doc = json.loads(line)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            value = doc.get("level") or doc.get("levelname") or doc.get("severity")
            if isinstance(value, str):
                return _named(value.upper())
    if any(marker in line for marker in _ERRORS):
        return "ERROR"
    found = _WORD.search(line[:48])
    return _named(found.group(1)) if found else "INFO"


def _named(word: str) -> str:
    word = _ALIASES.get(word, word)
    return word if word in LEVELS else "INFO"


def at_least(level: str, minimum: str) -> bool:
    return LEVELS.index(level) >= LEVELS.index(minimum) if minimum in LEVELS else True
