"""Failed sign-ins: each attempt is reserved in DynamoDB BEFORE its password is checked.

The numbers (:data:`MAX_FAILED_LOGINS`, :data:`FAILURE_WINDOW`, :data:`LOCKOUT_SECONDS`): at most 5 passwords are
checked per 15-minute window of a user; a fifth wrong one locks the account for 15 minutes from that guess.

Attributes of a user's item (``user#<username>`` in the accounts table)::

    failed_logins        N   attempts reserved in the current window (a right password removes them)
    failed_window_start  N   when the window started (its first attempt)
    last_failure_at      N   the newest reserved attempt

**Reservation** (:func:`reserve`): one conditional ``UpdateItem`` counts the attempt, and DynamoDB refuses it when
the window's count has reached ``MAX_FAILED_LOGINS`` (the account is locked) — before any argon2 work. The count
and the condition are one atomic operation, so however many attempts run concurrently, at most
``MAX_FAILED_LOGINS`` of them are admitted per window: the others are refused without their password being
looked at. A right password then clears the count (:func:`clear`); a wrong one leaves its reservation counted,
so the fifth wrong one leaves the account locked (``failed_logins >= MAX`` and ``last_failure_at`` within
``LOCKOUT_SECONDS``) with no further write. Refused attempts write nothing, so they never extend the lock.

The update expression depends on whether a window is open (``ADD`` to it, or start a new one), which the item read
just before tells; the condition re-checks that state, and a concurrent change (``ConditionalCheckFailed`` with
the item as it now is: ``ReturnValuesOnConditionCheckFailure``) is decided again from the new state, a few times
at most. An unknown user's attempt makes the same ``UpdateItem`` (on a key that does not exist: refused by
``attribute_exists``), so unknown, locked and wrong all cost one read, one conditional write and one argon2
verification.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["FAILURE_WINDOW", "LOCKOUT_SECONDS", "MAX_FAILED_LOGINS", "clear", "locked_until", "reserve"]

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = 15 * 60
LOCKOUT_SECONDS = 15 * 60
_TRIES = 3
_STATE = ("failed_logins", "failed_window_start", "last_failure_at", "locked_until")

_IN_WINDOW = {
    "UpdateExpression": "SET last_failure_at = :now ADD failed_logins :one",
    "ConditionExpression": "attribute_exists(account_id) AND failed_window_start > :cutoff AND failed_logins < :max",
}
_NEW_WINDOW = {
    "UpdateExpression": "SET failed_logins = :one, failed_window_start = :now, last_failure_at = :now",
    "ConditionExpression": (
        "attribute_exists(account_id)"
        " AND (attribute_not_exists(failed_window_start) OR failed_window_start <= :cutoff)"
        " AND (attribute_not_exists(failed_logins) OR failed_logins < :max OR last_failure_at <= :lock_cutoff)"
    ),
}


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


def locked_until(item: dict[str, Any]) -> int:
    """When the lock of the user's *item* ends (epoch seconds); 0 if it has never been locked by this count."""
    if _number(item, "failed_logins") < MAX_FAILED_LOGINS:
        return 0
    return _number(item, "last_failure_at") + LOCKOUT_SECONDS


def _in_window(item: dict[str, Any], now: int) -> bool:
    return _number(item, "failed_window_start") > now - FAILURE_WINDOW


def reserve(dynamodb: Any, table_name: str, key: dict[str, Any], item: dict[str, Any] | None, now: float) -> Any:
    """Reserve one password check for the user at *key*, whose item was just read as *item* (``None``: unknown).

    Return the item as updated (with the password hash; ``failed_logins`` is this attempt's number in the window)
    if the password may be checked; ``None`` if the attempt is refused (unknown user, or locked).
    """
    at = int(now)
    values = {
        ":one": {"N": "1"},
        ":now": {"N": str(at)},
        ":max": {"N": str(MAX_FAILED_LOGINS)},
        ":cutoff": {"N": str(at - FAILURE_WINDOW)},
        ":lock_cutoff": {"N": str(at - LOCKOUT_SECONDS)},
    }
    for _ in range(_TRIES):
        update = _IN_WINDOW if item is not None and _in_window(item, at) else _NEW_WINDOW
        expressions = update["ConditionExpression"] + update["UpdateExpression"]
        used = {name: value for name, value in values.items() if name in expressions}
        try:
            response = dynamodb.update_item(
                TableName=table_name,
                Key=key,
                **update,
                ExpressionAttributeValues=used,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            current = exc.response.get("Item")
            if item is None or current is None or locked_until(current) > at:
                return None
            if _in_window(current, at) and _number(current, "failed_logins") >= MAX_FAILED_LOGINS:
                return None
            item = current  # changed by a concurrent attempt since it was read: decide again
            continue
        return response["Attributes"]
    return None


def clear(dynamodb: Any, table_name: str, item: dict[str, Any], *, set_hash: str | None = None) -> None:
    """After a right password: forget the attempts (and store *set_hash*, a rehash, if given)."""
    present = [name for name in _STATE if name in item]
    if not present and set_hash is None:
        return
    parts = []
    kwargs: dict[str, Any] = {}
    if set_hash is not None:
        parts.append("SET password_hash = :hash")
        kwargs["ExpressionAttributeValues"] = {":hash": {"S": set_hash}}
    if present:
        parts.append("REMOVE " + ", ".join(present))
    with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):  # deleted meanwhile
        dynamodb.update_item(
            TableName=table_name,
            Key={"account_id": item["account_id"]},
            UpdateExpression=" ".join(parts),
            ConditionExpression="attribute_exists(account_id)",
            **kwargs,
        )
