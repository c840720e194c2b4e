"""Declared secrets: read a ``[secrets.NAME]`` of stratus.toml from Secrets Manager, cached with a TTL.

A service that lists secret *NAME* in its ``uses`` (``uses = { token-signing = "read" }``) finds the secret's ARN in
``<NAME>_SECRET_ARN`` (upper-cased, ``-`` becomes ``_``: ``token-signing`` -> ``TOKEN_SIGNING_SECRET_ARN``), and its
role may call ``secretsmanager:GetSecretValue`` on that ARN. The local cloud (``stratus dev``) creates the same
secret in its Secrets Manager and points ``AWS_ENDPOINT_URL`` at it, so the same code runs in both places.

- :func:`get_secret` (``name``) -> the ``AWSCURRENT`` value;
- :func:`secret_versions` (``name``) -> ``(AWSCURRENT, AWSPREVIOUS or None)``: during a rotation
  (``aws secretsmanager put-secret-value``) the old value stays readable as ``AWSPREVIOUS`` until the next one,
  which is what lets a verifier accept what was signed with the old value;
- :func:`read_secret` (an ARN and a version stage): the same cache, for secrets found another way (the credentials
  of a database, :mod:`stratus_common.database`).

**Caching**: a value is re-read when it is older than *max_age* seconds: the argument, else ``STRATUS_SECRETS_MAX_AGE``
(seconds, ``0`` = read every time), else :data:`DEFAULT_MAX_AGE` (300 s), so a rotated value reaches a running
function within five minutes. ``refresh=True`` reads now whatever the age. Each version stage is cached apart (a
missing ``AWSPREVIOUS`` too, as ``None``), with one lock per entry so that concurrent threads read a value once.
Ages are measured with :data:`clock` (:func:`time.monotonic`; tests replace it: ``monkeypatch.setattr(secrets,
"clock", fake)``).

**Why not Powertools' Parameters utility** (``SecretsProvider``, the usual tool): its cache key is ``(name, transform,
is_nested)`` (``aws_lambda_powertools/utilities/parameters/base.py``, ``_build_cache_key``), without the SDK options,
so ``get(arn, VersionStage="AWSPREVIOUS")`` returns the cached ``AWSCURRENT`` value; it wraps every error in
``GetParameterError(str(exc))``, so "no ``AWSPREVIOUS`` yet" (``ResourceNotFoundException``) can only be told apart by
its text; its expiry uses ``datetime.now()``, which a test cannot drive; and importing it loads every provider (SSM,
AppConfig, DynamoDB: ~35 ms on top of boto3 on the authorizer's first token check). Two providers (one per stage)
would fix the first point only; the cache below is forty lines.

**Logs**: botocore logs every response body at DEBUG (``botocore.parsers``: "Response body"), so a process whose
root logger is at DEBUG (``AWS_LAMBDA_LOG_LEVEL=DEBUG``) would log the secret; the first read installs a filter on
that logger that replaces bodies holding a ``SecretString``/``SecretBinary`` with ``<redacted>``.

**Errors**: no variable -> :class:`~stratus_common.environment.ConfigurationError` naming it and the fix; Secrets
Manager failing or refusing -> :class:`SecretUnavailable` naming the variable, the stage and the AWS error code.
No value is ever logged or put in an exception message.

This module imports only the standard library; boto3 is imported on the first read (through
:func:`stratus_common.aws.client`, which honours ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stratus_common.environment import ConfigurationError

__all__ = [
    "CURRENT",
    "DEFAULT_MAX_AGE",
    "MAX_AGE_ENV",
    "PREVIOUS",
    "SecretUnavailable",
    "clear_cache",
    "clock",
    "default_max_age",
    "get_secret",
    "read_secret",
    "secret_arn",
    "secret_env_var",
    "secret_versions",
]

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
DEFAULT_MAX_AGE = 300.0
MAX_AGE_ENV = "STRATUS_SECRETS_MAX_AGE"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

clock: Callable[[], float] = time.monotonic
"""The clock cached values are aged with (seconds, monotonic). Tests replace it rather than sleep."""

logger = logging.getLogger("stratus_common.secrets")


class SecretUnavailable(RuntimeError):
    """Secrets Manager could not give the secret (denied, missing, unreachable). The message holds no value."""


@dataclass(frozen=True)
class _Entry:
    value: str | None
    read_at: float


_lock = threading.Lock()
_entries: dict[tuple[str, str], _Entry] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}


def secret_env_var(name: str) -> str:
    """The variable that holds the ARN of secret *name*: ``token-signing`` -> ``TOKEN_SIGNING_SECRET_ARN``."""
    if not _NAME.match(name):
        raise ConfigurationError(
            f"invalid secret name {name!r}: use letters, digits, '-' and '_', starting with a letter"
        )
    return f"{name.upper().replace('-', '_')}_SECRET_ARN"


def secret_arn(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The ARN of declared secret *name* (``<NAME>_SECRET_ARN``); :class:`ConfigurationError` if it is not set."""
    environ = os.environ if environ is None else environ
    variable = secret_env_var(name)
    value = environ.get(variable, "").strip()
    if not value:
        raise ConfigurationError(
            f"{variable} is not set, so the secret {name!r} is unknown to this service: declare it in stratus.toml "
            f'under [secrets.{name}] and list it in the `uses` of the service (e.g. uses = {{ {name} = "read" }})'
        )
    return value


def default_max_age(environ: Mapping[str, str] | None = None) -> float:
    """The default TTL: ``STRATUS_SECRETS_MAX_AGE`` (seconds, >= 0), else :data:`DEFAULT_MAX_AGE`."""
    environ = os.environ if environ is None else environ
    raw = environ.get(MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_AGE
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{MAX_AGE_ENV} must be a number of seconds (got {raw!r})") from None
    if not 0 <= value < float("inf"):
        raise ConfigurationError(f"{MAX_AGE_ENV} must be a number of seconds >= 0 (got {raw!r})")
    return value


def get_secret(name: str, *, max_age: float | None = None, refresh: bool = False) -> str:
    """The ``AWSCURRENT`` value of declared secret *name*, read at most once per *max_age* seconds."""
    return _current(secret_arn(name), max_age=max_age, refresh=refresh, label=secret_env_var(name))


def secret_versions(name: str, *, max_age: float | None = None, refresh: bool = False) -> tuple[str, str | None]:
    """``(AWSCURRENT, AWSPREVIOUS)`` of declared secret *name*; the second is ``None`` before the first rotation."""
    arn, label = secret_arn(name), secret_env_var(name)
    current = _current(arn, max_age=max_age, refresh=refresh, label=label)
    return current, read_secret(arn, stage=PREVIOUS, max_age=max_age, refresh=refresh, label=label)


def read_secret(
    arn: str,
    *,
    stage: str = CURRENT,
    max_age: float | None = None,
    refresh: bool = False,
    label: str | None = None,
) -> str | None:
    """The string value of secret *arn* at version *stage*, from the cache unless older than *max_age*.

    ``None`` only for a stage other than ``AWSCURRENT`` that no version has (no ``AWSPREVIOUS`` before the first
    rotation). *label* names the secret in errors and logs (the variable it came from); by default the ARN.
    """
    ttl = default_max_age() if max_age is None else max_age
    key = (arn, stage)
    with _lock:
        entry_lock = _locks.setdefault(key, threading.Lock())
    with entry_lock:  # one read per entry at a time: the other threads wait for it and use its value
        entry = _entries.get(key)
        if entry is not None and not refresh and clock() - entry.read_at < ttl:
            return entry.value
        value = _fetch(arn, stage, label or arn)
        with _lock:
            _entries[key] = _Entry(value, clock())
        return value


def _current(arn: str, *, max_age: float | None, refresh: bool, label: str) -> str:
    value = read_secret(arn, max_age=max_age, refresh=refresh, label=label)
    if value is None:  # cannot happen: a missing AWSCURRENT raises in _fetch
        raise SecretUnavailable(f"the secret in {label} has no {CURRENT} version")
    return value


def clear_cache() -> None:
    """Forget every cached value (tests, and :func:`stratus_common.tokens.reset_keys`)."""
    with _lock:
        _entries.clear()
        _locks.clear()


class _RedactSecretBodies(logging.Filter):
    """Drop the body of a Secrets Manager answer from botocore's DEBUG record of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(isinstance(arg, bytes | str) and _holds_secret(arg) for arg in args):
            record.args = tuple("<redacted>" if isinstance(arg, bytes | str) else arg for arg in args)
        return True


def _holds_secret(text: bytes | str) -> bool:
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    return b'"SecretString"' in raw or b'"SecretBinary"' in raw


_redaction = _RedactSecretBodies()


def _fetch(arn: str, stage: str, label: str) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    from stratus_common.aws import FAST_CONFIG, client

    parsers = logging.getLogger("botocore.parsers")
    if _redaction not in parsers.filters:
        parsers.addFilter(_redaction)
    sm: Any = client("secretsmanager", config=FAST_CONFIG)  # short timeouts: read on a request's path
    try:
        response = sm.get_secret_value(SecretId=arn, VersionStage=stage)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        if stage != CURRENT and code == "ResourceNotFoundException":
            logger.debug("secret %s has no %s version", label, stage)
            return None
        raise SecretUnavailable(f"could not read the secret in {label} ({stage}): {code}") from exc
    except BotoCoreError as exc:
        raise SecretUnavailable(f"could not read the secret in {label} ({stage}): {type(exc).__name__}") from exc
    value = response.get("SecretString")
    if not isinstance(value, str):
        raise ConfigurationError(f"the secret in {label} ({stage}) holds binary data, not a string")
    logger.debug("read secret %s (%s)", label, stage)
    return value
