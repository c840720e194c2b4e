"""The records database's Alembic migrations (run by :mod:`records.migrate`; ``versions/`` holds the revisions)."""
