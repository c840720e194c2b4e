"""Direct invocations of the Lambda (``aws lambda invoke``), without API Gateway.

An event without ``requestContext`` (which every API Gateway event has) comes here (:func:`text.main.handler`);
it is a JSON object whose ``action`` says what to do::

    {"action": "health"}                                  -> {"status": "healthy", "service": "text", ...}
    {"action": "get_random_text", "difficulty": "easy"}   -> a text, as GET /texts/random?difficulty=easy
    {"action": "get_text", "text_id": "seed-easy-01"}     -> a text, as GET /texts/{text_id}

The answer is the plain JSON object (no HTTP envelope). A failure is ``{"error": {"code", "message", "details"}}``,
the shape of the HTTP API's errors: ``unknown_action`` (details: ``known_actions``), ``invalid_event`` (not a JSON
object), ``validation_error``
(details: the fields at fault), ``not_found``, ``service_unavailable``. Whoever may invoke the function
(``lambda:InvokeFunction``) may read texts; nothing here writes, save the seeding of an empty difficulty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from stratus_common.aws_errors import unavailable_on_aws_error
from stratus_common.errors import ApiError, NotFound, error_body
from stratus_common.settings import get_settings

from text.models import DIFFICULTIES, TEXT_ID_PATTERN
from text.seed import find_text, random_text
from text.store import TextStore, default_store

if TYPE_CHECKING:
    from text.models import Difficulty

__all__ = ["KNOWN_ACTIONS", "dispatch"]

Action = Callable[[Mapping[str, Any], TextStore | None], dict[str, Any]]


class _Invalid(ApiError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            422,
            "validation_error",
            "Invocation validation failed",
            [{"field": field, "message": message, "type": "value_error"}],
        )


def _health(event: Mapping[str, Any], store: TextStore | None) -> dict[str, Any]:
    settings = get_settings()
    return {"status": "healthy", "service": "text", "environment": settings.environment, "version": settings.version}


def _get_random_text(event: Mapping[str, Any], store: TextStore | None) -> dict[str, Any]:
    difficulty = event.get("difficulty")
    if difficulty not in DIFFICULTIES:
        raise _Invalid("difficulty", f"must be one of {', '.join(DIFFICULTIES)}")
    chosen: Difficulty = difficulty
    with unavailable_on_aws_error("read a text"):
        found = random_text(store or default_store(), chosen)
    if found is None:
        raise NotFound(f"There is no {chosen} text")
    return found.public()


def _get_text(event: Mapping[str, Any], store: TextStore | None) -> dict[str, Any]:
    text_id = event.get("text_id")
    if not isinstance(text_id, str) or re.fullmatch(TEXT_ID_PATTERN, text_id) is None:
        raise _Invalid("text_id", "must be 1 to 64 letters, digits, '_' and '-', the first a letter or digit")
    with unavailable_on_aws_error("read the text"):
        found = find_text(store or default_store(), text_id)
    if found is None:
        raise NotFound(f"No text {text_id!r}")
    return found.public()


_ACTIONS: dict[str, Action] = {"get_random_text": _get_random_text, "get_text": _get_text, "health": _health}
KNOWN_ACTIONS = tuple(sorted(_ACTIONS))


def dispatch(event: object, *, store: TextStore | None = None) -> dict[str, Any]:
    """Run the event's ``action`` and return its answer, or ``{"error": {...}}``; *store*: the texts table."""
    if not isinstance(event, Mapping):
        return error_body(
            "invalid_event",
            f"The event must be a JSON object with an action; known actions: {', '.join(KNOWN_ACTIONS)}",
            {"known_actions": list(KNOWN_ACTIONS)},
        )
    action = event.get("action")
    if not isinstance(action, str) or action not in _ACTIONS:
        problem = "The event has no action" if action is None else f"Unknown action {str(action)[:64]!r}"
        return error_body(
            "unknown_action",
            f"{problem}; known actions: {', '.join(KNOWN_ACTIONS)}",
            {"known_actions": list(KNOWN_ACTIONS)},
        )
    try:
        return _ACTIONS[action](event, store)
    except ApiError as exc:
        return error_body(exc.code, exc.message, exc.details)
