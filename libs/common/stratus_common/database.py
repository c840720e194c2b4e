"""Database connection URLs, with the credentials from Secrets Manager, re-read when they are rotated.

A service that lists database *NAME* in its ``uses`` finds two variables (``records`` -> ``RECORDS_...``):

- ``<NAME>_DATABASE_URL``: ``postgresql://<user>@<host>:<port>/<db>``, without a password (in AWS with
  ``?sslmode=require``);
- ``<NAME>_DATABASE_SECRET_ARN``: a secret whose value is JSON with at least ``{"username", "password"}``: in AWS
  the secret RDS manages for the master user (``manage_master_user_password``), which RDS rotates; in the local
  cloud one written with the embedded PostgreSQL's credentials (the password may be empty).

:func:`database_url` puts the secret's username and password into the URL (percent-encoded, so ``@ : / %`` in a
password are safe) and returns it. The secret is cached by :mod:`stratus_common.secrets` (re-read after
``STRATUS_SECRETS_MAX_AGE``, 300 s by default); ``refresh=True`` re-reads it now. Without
``<NAME>_DATABASE_SECRET_ARN`` the URL is returned as it is (one that carries its own credentials).

A rotation changes the password under running functions: connections already open keep working (PostgreSQL does
not close them), but the next one made with the cached password fails. :func:`connect` handles that: it calls
``connector(database_url(name))`` and, on an authentication failure (:func:`is_authentication_failure`: SQLSTATE
``28P01``/``28000``, or "password authentication failed"), re-reads the secret and calls the connector once more.
Any other error, or a second failure, is raised. With psycopg::

    import psycopg
    from stratus_common.database import connect

    with connect("records", psycopg.connect) as conn:
        conn.execute("select 1")

With SQLAlchemy, let the pool make its connections through :func:`connect` (a URL given to ``create_engine`` once
would keep the old password for the life of the process)::

    import psycopg
    from sqlalchemy import create_engine
    from stratus_common.database import connect

    engine = create_engine(
        "postgresql+psycopg://",                              # the connection details come from creator
        creator=lambda: connect("records", psycopg.connect),  # every new connection: current credentials
        pool_pre_ping=True,                                   # a dropped pooled connection is replaced (via creator)
    )

Nothing here logs or raises a password or a URL with credentials. This module imports only the standard
library; psycopg is never imported by it (errors are recognised by their ``sqlstate`` attribute and message).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from stratus_common.environment import ConfigurationError

__all__ = [
    "AUTH_FAILURE_SQLSTATES",
    "connect",
    "database_secret_env_var",
    "database_url",
    "database_url_env_var",
    "is_authentication_failure",
]

AUTH_FAILURE_SQLSTATES = frozenset({"28P01", "28000"})  # invalid_password, invalid_authorization_specification
_AUTH_FAILURE_TEXT = "password authentication failed"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_MAX_CHAIN = 8

T = TypeVar("T")
logger = logging.getLogger("stratus_common.database")


def _prefix(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigurationError(
            f"invalid database name {name!r}: use letters, digits, '-' and '_', starting with a letter"
        )
    return name.upper().replace("-", "_")


def database_url_env_var(name: str) -> str:
    """``records`` -> ``RECORDS_DATABASE_URL``."""
    return f"{_prefix(name)}_DATABASE_URL"


def database_secret_env_var(name: str) -> str:
    """``records`` -> ``RECORDS_DATABASE_SECRET_ARN``."""
    return f"{_prefix(name)}_DATABASE_SECRET_ARN"


def database_url(name: str, *, refresh: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """The URL of database *name* with its credentials (see the module's docstring); *refresh* re-reads them."""
    environ = os.environ if environ is None else environ
    variable = database_url_env_var(name)
    url = environ.get(variable, "").strip()
    if not url:
        service = (environ.get("STRATUS_SERVICE") or environ.get("SERVICE_NAME") or "").strip()
        section = f"[services.{service}]" if service else "the service's section"
        raise ConfigurationError(
            f"{variable} is not set, so the database {name!r} is unknown to this service: declare it in "
            f"stratus.toml under [databases.{name}] and list it in the `uses` of {section} "
            f'(e.g. uses = {{ {name} = "read-write" }})'
        )
    secret_variable = database_secret_env_var(name)
    arn = environ.get(secret_variable, "").strip()
    if not arn:
        return url
    from stratus_common import secrets

    value = secrets.read_secret(arn, refresh=refresh, label=secret_variable)
    username, password = _credentials(value, secret_variable)
    return _with_credentials(url, username, password, variable)


def _credentials(value: str | None, variable: str) -> tuple[str, str]:
    try:
        parsed = json.loads(value or "")
    except ValueError:  # never chain it: a JSONDecodeError carries the whole document
        parsed = None
    if not isinstance(parsed, dict):
        raise ConfigurationError(f'the secret in {variable} must be JSON with "username" and "password"')
    username, password = parsed.get("username"), parsed.get("password", "")
    if not isinstance(username, str) or not username or not isinstance(password, str):
        raise ConfigurationError(f'the secret in {variable} must be JSON with "username" and "password" strings')
    return username, password


def _with_credentials(url: str, username: str, password: str, variable: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ConfigurationError(f"{variable} is not a URL like postgresql://user@host:5432/db")
    host = parts.netloc.rpartition("@")[2]  # drop whatever credentials the URL had: the secret's win
    userinfo = quote(username, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


def is_authentication_failure(exc: BaseException) -> bool:
    """Whether *exc* (or what it wraps: SQLAlchemy's ``.orig``, ``__cause__``) is PostgreSQL refusing the login."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < _MAX_CHAIN and not any(current is done for done in seen):
        seen.append(current)
        if getattr(current, "sqlstate", None) in AUTH_FAILURE_SQLSTATES:
            return True
        if _AUTH_FAILURE_TEXT in str(current).lower():
            return True
        wrapped = getattr(current, "orig", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return False


def connect(name: str, connector: Callable[[str], T]) -> T:
    """``connector(database_url(name))``; after an authentication failure, once more with the secret re-read.

    Retries only when the credentials come from ``<NAME>_DATABASE_SECRET_ARN`` (otherwise there is nothing newer
    to read), only once, and only for an authentication failure: any other error is raised as it is.
    """
    try:
        return connector(database_url(name))
    except Exception as exc:
        if not is_authentication_failure(exc) or not os.environ.get(database_secret_env_var(name), "").strip():
            raise
        logger.warning(
            "database %s: authentication failed (%s); re-reading %s and retrying once",
            name,
            type(exc).__name__,
            database_secret_env_var(name),
        )
    return connector(database_url(name, refresh=True))
