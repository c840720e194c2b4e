"""Where this process runs, read from the environment with the standard library only.

:mod:`stratus_common.settings` reads the same variables through pydantic-settings, which costs ~140 ms to
import. Code on a cold path that cannot afford it (the gateway's route authorizer, token verification, the
AWS clients) reads them here instead:

- :func:`environment`: ``STRATUS_ENV``, else ``ENVIRONMENT``, else ``"local"``;
- :func:`project`: ``STRATUS_PROJECT``, else ``"stratus"``;
- :func:`region`: ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else ``None`` (botocore decides);
- :func:`service_name`: ``STRATUS_SERVICE``, else ``SERVICE_NAME``, else ``None``;
- :func:`log_level`: ``LOG_LEVEL`` upper-cased, else ``"INFO"``;
- :func:`in_local_cloud`: whether this is the local cloud (``stratus dev``) rather than AWS.

Every function takes an optional mapping in place of ``os.environ`` (tests pass one).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = [
    "LOCAL_ENVIRONMENTS",
    "ConfigurationError",
    "environment",
    "in_local_cloud",
    "log_level",
    "project",
    "region",
    "service_name",
]

LOCAL_ENVIRONMENTS = frozenset({"local", "dev"})
"""The environment names the local cloud runs under (``dev`` is also the name of real AWS environments)."""


class ConfigurationError(RuntimeError):
    """A setting the service needs is missing or invalid."""


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def environment(environ: Mapping[str, str] | None = None) -> str:
    """``STRATUS_ENV``, else ``ENVIRONMENT``, else ``"local"`` (as :mod:`stratus_common.settings` reads it)."""
    environ = _environ(environ)
    return (environ.get("STRATUS_ENV") or environ.get("ENVIRONMENT") or "local").strip() or "local"


def project(environ: Mapping[str, str] | None = None) -> str:
    """``STRATUS_PROJECT``, else ``"stratus"``."""
    environ = _environ(environ)
    return (environ.get("STRATUS_PROJECT") or "stratus").strip() or "stratus"


def region(environ: Mapping[str, str] | None = None) -> str | None:
    """``AWS_REGION``, else ``AWS_DEFAULT_REGION``; ``None`` when neither is set (botocore then decides)."""
    environ = _environ(environ)
    value = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
    return value.strip() or None


def service_name(environ: Mapping[str, str] | None = None) -> str | None:
    """``STRATUS_SERVICE``, else ``SERVICE_NAME``; ``None`` when neither is set (as the settings read it)."""
    environ = _environ(environ)
    value = (environ.get("STRATUS_SERVICE") or "").strip() or (environ.get("SERVICE_NAME") or "").strip()
    return value or None


def log_level(environ: Mapping[str, str] | None = None) -> str:
    """``LOG_LEVEL`` upper-cased, else ``"INFO"`` (as the settings read it)."""
    return (_environ(environ).get("LOG_LEVEL") or "").strip().upper() or "INFO"


def in_local_cloud(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs in the local cloud (``stratus dev``), not in AWS.

    True only when the environment is ``local`` or ``dev`` AND the AWS endpoint is a loopback address
    (the local cloud points ``AWS_ENDPOINT_URL`` at its embedded moto server; a Lambda in AWS has no
    such variable). Both are needed: ``dev`` is also the name of a real AWS environment.
    """
    environ = _environ(environ)
    if environment(environ) not in LOCAL_ENVIRONMENTS:
        return False
    host = urlsplit(environ.get("AWS_ENDPOINT_URL", "").strip()).hostname or ""
    if host == "localhost":
        return True
    try:
        return bool(host) and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
