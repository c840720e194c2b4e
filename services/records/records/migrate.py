"""Migrate the records database to the newest revision: ``alembic upgrade head``, with the configuration built here.

- ``records.migrate.handler``: the service's migrations function (``migrations = "records.migrate.handler"`` in
  stratus.toml): the local cloud invokes it when ``stratus dev`` starts, ``stratus deploy`` after ``terraform apply``,
  ``stratus migrate --env E`` on demand. It answers ``{"status": "ok", "revision": "0001", "previous": null}``, and
  raises (a function error) when the upgrade fails;
- ``python -m records.migrate``: the same from a shell, with ``RECORDS_DATABASE_URL`` (and
  ``RECORDS_DATABASE_SECRET_ARN``) set; ``python -m records.migrate revision -m "add a column"`` writes a new,
  empty revision into ``records/migrations/versions``.

The scripts live in the package (``records/migrations``), so they ship in the function's zip. The upgrade runs on its
own connection (no pool) with a generous ``statement_timeout`` (building an index on a big table takes a while),
in one transaction under an advisory lock (``records/migrations/env.py``); running it again is a no-op.
Nothing here runs on a cold start of the API.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

__all__ = ["MIGRATIONS", "config", "current_revision", "handler", "main", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STATEMENT_TIMEOUT_MS = 10 * 60 * 1000


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the scripts in the package, and the connection to migrate (if any)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(revision: str = "head") -> dict[str, Any]:
    """Upgrade the records database to *revision*; answer ``{"status": "ok", "revision", "previous"}``."""
    from alembic import command

    from records import db

    engine = db.make_engine(statement_timeout_ms=STATEMENT_TIMEOUT_MS, pooled=False)
    try:
        with engine.connect() as connection:
            cfg = config(connection)
            command.upgrade(cfg, revision)
            connection.commit()
            now = current_revision(connection)
            connection.rollback()
    finally:
        engine.dispose()
    return {"status": "ok", "revision": now, "previous": cfg.attributes.get("previous")}


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """The migrations function: :func:`upgrade` to ``head`` (the event is not read)."""
    from stratus_common.logging import get_logger

    result = upgrade()
    get_logger("records").info("Database migrated", extra=result)
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m records.migrate [upgrade [REVISION]] | revision -m MESSAGE``."""
    parser = argparse.ArgumentParser(prog="python -m records.migrate", description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command")
    up = commands.add_parser("upgrade", help="upgrade the database (the default)")
    up.add_argument("revision", nargs="?", default="head")
    new = commands.add_parser("revision", help="write a new, empty revision script")
    new.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.command == "revision":
        from alembic import command

        script = command.revision(config(), message=args.message)
        print(json.dumps({"status": "ok", "created": str(getattr(script, "path", script))}))
        return 0
    result = upgrade(getattr(args, "revision", "head"))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
