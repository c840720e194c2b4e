"""The records database: one SQLAlchemy engine per execution environment, made for Lambda.

:func:`engine` creates it on first use and keeps it for the life of the process (a Lambda execution environment
serves one request at a time, for minutes to hours): no connection per request, and nothing at import, since
importing SQLAlchemy and psycopg is a noticeable part of a cold start (this module imports neither at the top).

- **Credentials**: every new connection is made through :func:`stratus_common.database.connect`, which reads
  ``RECORDS_DATABASE_URL`` and the secret of ``RECORDS_DATABASE_SECRET_ARN`` (cached, re-read after a rotation's
  authentication failure), so the URL with the password never sits in the engine.
- **Pool**: ``pool_size=1, max_overflow=0`` (one request at a time), ``pool_pre_ping`` (a connection that died while
  the environment was frozen is replaced before use), ``pool_recycle`` (no connection older than
  :data:`POOL_RECYCLE_SECONDS`), ``pool_timeout`` (a checkout waits at most :data:`POOL_TIMEOUT_SECONDS`).
- **Nothing hangs**: connecting gives up after :data:`CONNECT_TIMEOUT_SECONDS`; the session has a
  ``statement_timeout`` (:data:`STATEMENT_TIMEOUT_MS`), a ``lock_timeout`` and an
  ``idle_in_transaction_session_timeout`` (an environment frozen inside a transaction does not hold its locks for
  long); TCP keepalives and ``tcp_user_timeout`` notice a peer that vanished. The session's time zone is UTC.

Failures to reach the database become :class:`DatabaseUnavailable` (:func:`unavailable`), with a short reason that
never holds a credential (:func:`describe`); the app answers them with a 503 and ``Retry-After``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DATABASE",
    "POOL_RECYCLE_SECONDS",
    "STATEMENT_TIMEOUT_MS",
    "DatabaseUnavailable",
    "connect",
    "describe",
    "engine",
    "make_engine",
    "ping",
    "reset_engine",
    "transaction",
    "translate_errors",
    "unavailable",
]

DATABASE = "records"
"""The database's name in stratus.toml: ``RECORDS_DATABASE_URL``, ``RECORDS_DATABASE_SECRET_ARN``."""
CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 5_000
LOCK_TIMEOUT_MS = 3_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000
TCP_USER_TIMEOUT_MS = 5_000
POOL_RECYCLE_SECONDS = 300
POOL_TIMEOUT_SECONDS = 5

_lock = threading.Lock()
_engine: Engine | None = None


class DatabaseUnavailable(Exception):
    """The database could not be reached or did not answer in time; *reason* is short and holds no secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _session_options(statement_timeout_ms: int) -> str:
    return " ".join(
        (
            f"-c statement_timeout={statement_timeout_ms}",
            f"-c lock_timeout={LOCK_TIMEOUT_MS}",
            f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}",
            "-c TimeZone=UTC",
        )
    )


def connect(*, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Any:
    """A new psycopg connection to the records database, with the current credentials and the timeouts above."""
    import psycopg
    from stratus_common.database import connect as connect_with_secret

    def connector(url: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="records",
            options=_session_options(statement_timeout_ms),
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=TCP_USER_TIMEOUT_MS,
        )

    return connect_with_secret(DATABASE, connector)


def make_engine(*, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS, pooled: bool = True) -> Engine:
    """A new engine on the records database; *pooled* ``False`` for a one-off job (the migrations): no pool."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    def creator() -> Any:
        return connect(statement_timeout_ms=statement_timeout_ms)

    if not pooled:
        return create_engine("postgresql+psycopg://", creator=creator, poolclass=NullPool)
    return create_engine(
        "postgresql+psycopg://",
        creator=creator,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE_SECONDS,
        pool_timeout=POOL_TIMEOUT_SECONDS,
    )


def engine() -> Engine:
    """The process's engine, created on first use."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = make_engine()
    return _engine


def reset_engine() -> None:
    """Close the process's engine and its connection; the next :func:`engine` makes a new one (tests do this)."""
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None


def _unavailable_types() -> tuple[type[BaseException], ...]:
    from sqlalchemy import exc
    from stratus_common.environment import ConfigurationError
    from stratus_common.secrets import SecretUnavailable

    return (
        exc.OperationalError,
        exc.InterfaceError,
        exc.TimeoutError,
        exc.DisconnectionError,
        ConfigurationError,
        SecretUnavailable,
    )


def describe(exc: BaseException) -> str:
    """A short reason for a database failure that never carries a credential, a URL or a query."""
    from stratus_common.database import is_authentication_failure
    from stratus_common.environment import ConfigurationError
    from stratus_common.secrets import SecretUnavailable

    if isinstance(exc, ConfigurationError):
        return "not configured (RECORDS_DATABASE_URL)"
    if isinstance(exc, SecretUnavailable):
        return "credentials unavailable (RECORDS_DATABASE_SECRET_ARN)"
    if is_authentication_failure(exc):
        return "authentication failed"
    original = getattr(exc, "orig", None) or exc
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate == "57014":
        return "statement timed out"
    if sqlstate == "55P03":
        return "lock wait timed out"
    if sqlstate == "3D000":
        return "database does not exist"
    if sqlstate and sqlstate.startswith("57P"):
        return "server shutting down"
    text = str(original).lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("timeout", "connection timed out"),
        ("timed out", "connection timed out"),
        ("could not translate host name", "host not found"),
        ("name or service not known", "host not found"),
        ("server closed the connection", "connection closed by the server"),
        ("consuming input failed", "connection lost"),
        ("ssl", "TLS negotiation failed"),
    ):
        if needle in text:
            return reason
    return type(original).__name__


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """*exc* as a :class:`DatabaseUnavailable` if it means the database is unreachable or too slow; else ``None``."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, _unavailable_types()) or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated):
        return DatabaseUnavailable(describe(exc))
    return None


@contextmanager
def translate_errors() -> Iterator[None]:
    """Raise :class:`DatabaseUnavailable` for what :func:`unavailable` recognises; anything else as it is."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        translated = unavailable(exc)
        if translated is None:
            raise
        raise translated from exc


@contextmanager
def transaction() -> Iterator[Connection]:
    """A connection of the process's engine inside one transaction (committed at the end, rolled back on error),
    with unavailability translated to :class:`DatabaseUnavailable`."""
    with translate_errors(), engine().begin() as connection:
        yield connection


def ping() -> None:
    """``SELECT 1``; raises :class:`DatabaseUnavailable` when the database cannot answer."""
    from sqlalchemy import text

    with transaction() as connection:
        connection.execute(text("SELECT 1"))
