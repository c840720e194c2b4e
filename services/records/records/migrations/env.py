"""Alembic's environment for the records database, run by :func:`records.migrate.upgrade` (never from an ini file).

The connection comes in ``config.attributes["connection"]`` (made by :mod:`records.migrate` through
:mod:`records.db`, with the credentials of the secret), so no URL or password is ever put in Alembic's config.
The whole upgrade is one transaction (PostgreSQL's DDL is transactional), holding an advisory lock: two migrations
started at once (a deploy and a `stratus migrate`) run one after the other, and the second finds nothing to do.
Offline (``--sql``) mode is not supported.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from records.models import metadata

MIGRATION_LOCK = 0x7265636F726473  # "records" as a number: the advisory lock of the migrations
LOCK_WAIT = "60s"
"""How long a migration waits for another one to finish."""
DDL_LOCK_TIMEOUT = "5s"
"""How long a migration's DDL waits for a table lock: queries queue behind a waiting ALTER, so not long."""


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.execute(text(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'"))
        # read under the lock: a migration that waited for another one reports where that one left the database
        context.config.attributes["previous"] = context.get_context().get_current_revision()
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("the records migrations run online only: python -m records.migrate")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run the records migrations with records.migrate (it passes the connection)")
run(_connection)
