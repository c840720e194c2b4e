"""Times as the services store and show them: ISO 8601 in UTC, to the millisecond, with ``Z``.

``2026-03-10T12:00:00.000Z``: every such string has the same length and zone, so they sort as the moments do (a
table can range over them, a list can be ordered by them). A store takes a :data:`Clock` (:func:`utc_now` unless a
test passes its own) and writes :func:`iso` of its readings. Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "iso", "utc_now"]

Clock = Callable[[], datetime]
"""What tells a store the time: :func:`utc_now`, or a test's own clock."""


def utc_now() -> datetime:
    """Return the current time, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """*moment* as ISO 8601 in UTC with milliseconds and ``Z``: ``2026-03-10T12:00:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
