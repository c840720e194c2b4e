"""Structured JSON logging with AWS Lambda Powertools, named after the service.

Secrets stay out of the logs by default: the logger never logs the incoming event (Powertools'
``log_event`` stays off), and any logged key whose name looks like a credential (``password``,
``client_secret``, ``access_token``, ``Authorization``, ``cookie``, ``x-api-key``, ...) has its value replaced by
``"***"``, at any depth of the structured record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from stratus_common import environment

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

__all__ = ["REDACTED", "RedactingFormatter", "get_logger", "redact"]

REDACTED = "***"

# A key is sensitive when one of its words is always a secret, or its last word names a credential.
# Words come from snake_case, kebab-case and camelCase: "X-Api-Key" -> x, api, key.
_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "authorization", "credentials", "credential"})
_CREDENTIAL_LAST_WORDS = frozenset({"token", "tokens", "cookie", "cookies", "signature", "dsn", "apikey", "jwt"})
_CREDENTIAL_PAIRS = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("session", "id"), ("database", "url")}
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_MAX_DEPTH = 8


def _is_sensitive(key: object) -> bool:
    if not isinstance(key, str):
        return False
    words = [word for word in _SEPARATORS.split(_CAMEL.sub("_", key).lower()) if word]
    if not words:
        return False
    if _SECRET_WORDS.intersection(words) or words[-1] in _CREDENTIAL_LAST_WORDS:
        return True
    return len(words) >= 2 and (words[-2], words[-1]) in _CREDENTIAL_PAIRS


def redact(value: Any, *, _depth: int = 0) -> Any:
    """Return *value* with the values of credential-like keys replaced by ``"***"``, recursively."""
    if _depth > _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_sensitive(key) and item is not None else redact(item, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, _depth=_depth + 1) for item in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter, with credential-like keys redacted (see :func:`redact`)."""

    def serialize(self, log: LogRecord) -> str:
        """Serialise the structured record *log*, redacted."""
        redacted: LogRecord = redact(log)
        return super().serialize(redacted)


def get_logger(name: str | None = None) -> Logger:
    """Return a Powertools :class:`Logger` for this service.

    *name* is the logger's Powertools ``service`` (its ``logging`` name too); it defaults to the
    service name (``STRATUS_SERVICE``, then ``SERVICE_NAME``), then ``"stratus"``. The level comes from
    ``LOG_LEVEL``. The variables are read with the standard library (:mod:`stratus_common.environment`):
    an SQS consumer that logs does not import pydantic-settings for it. Loggers with the same name share one
    handler, configured by the first call.
    """
    service = name or environment.service_name() or "stratus"
    return Logger(service=service, level=environment.log_level(), logger_formatter=RedactingFormatter())
