"""Direct invocations of the records function (``aws lambda invoke``), beside the HTTP API's events.

An event with an ``"action"`` and no ``"requestContext"`` is not from API Gateway: :func:`records.main.handler` hands
it to :func:`dispatch`. The actions:

- ``{"action": "health"}`` -> ``{"status": "healthy", "database": "reachable"}``, or
  ``{"status": "unhealthy", "database": "unreachable: <reason>"}`` (a short reason, never a credential or a URL)::

      aws lambda invoke --function-name <stack>-records --payload '{"action":"health"}' \\
          --cli-binary-format raw-in-base64-out /dev/stdout

Any other action answers ``{"error": {"code": "unknown_action", ...}}`` naming the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ACTIONS", "database_status", "dispatch", "health", "is_direct"]


def database_status() -> str:
    """``reachable``, or ``unreachable: <reason>`` after a ``SELECT 1`` that failed (within the connect timeout)."""
    from records import db

    try:
        db.ping()
    except db.DatabaseUnavailable as exc:
        return f"unreachable: {exc.reason}"
    except Exception as exc:
        return f"unreachable: {db.describe(exc)}"
    return "reachable"


def health(event: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the function can reach its database."""
    database = database_status()
    return {"status": "healthy" if database == "reachable" else "unhealthy", "database": database}


ACTIONS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {"health": health}


def is_direct(event: Any) -> bool:
    """Whether *event* is a direct invocation (an ``action``, and not an API Gateway event)."""
    return isinstance(event, Mapping) and "action" in event and "requestContext" not in event


def dispatch(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Run the event's action."""
    action = event.get("action")
    run = ACTIONS.get(action) if isinstance(action, str) else None
    if run is None:
        return {
            "error": {
                "code": "unknown_action",
                "message": f"Unknown action; one of: {', '.join(sorted(ACTIONS))}",
                "details": {"actions": sorted(ACTIONS)},
            }
        }
    return run(event)
