"""DynamoDB's refusals (a condition that did not hold, a cancelled transaction), and transactions retried.

- :func:`is_conditional_check_failed`: a ``PutItem``/``UpdateItem``/``DeleteItem`` refused because its
  ``ConditionExpression`` did not hold (``ConditionalCheckFailedException``);
- :func:`cancellation_reasons`: the reasons of a cancelled ``TransactWriteItems`` (``TransactionCanceledException``),
  one per item, in the items' order: ``{"Code": "None"}`` for an item that was fine, ``ConditionalCheckFailed``
  (with the item's old value as ``Item`` when it asked for ``ReturnValuesOnConditionCheckFailure``),
  ``TransactionConflict``, ``ThrottlingError``...; :func:`condition_failed` reads one;
- :func:`transact_write`: runs a transaction, and runs it again when only concurrent transactions (or throttling)
  cancelled it, a few times with growing, jittered waits; then :class:`TransactionContention`, which
  :func:`~stratus_common.aws_errors.unavailable_on_aws_error` answers with a 503.

Errors are told apart by their codes, never by botocore's classes: this module imports only the standard library.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stratus_common.aws_errors import AwsUnavailable, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

__all__ = [
    "CONDITIONAL_CHECK_FAILED",
    "RETRYABLE_REASONS",
    "TRANSACTION_ATTEMPTS",
    "TransactionContention",
    "cancellation_reasons",
    "condition_failed",
    "is_conditional_check_failed",
    "transact_write",
]

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailed"
"""The cancellation reason of a transaction item whose condition did not hold."""
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
"""Cancellation reasons that running the same transaction again may cure."""
TRANSACTION_ATTEMPTS = 4
"""How many times :func:`transact_write` runs a transaction that concurrent ones keep cancelling."""


class TransactionContention(AwsUnavailable):
    """Concurrent transactions on the same items (or throttling) cancelled a transaction every time it was run."""


def is_conditional_check_failed(exc: BaseException) -> bool:
    """Whether *exc* is DynamoDB refusing a write because its condition did not hold."""
    return error_code(exc) == "ConditionalCheckFailedException"


def cancellation_reasons(exc: BaseException) -> list[dict[str, Any]] | None:
    """The reasons of a cancelled transaction, one per item (see the module's docstring); ``None`` for any other
    error."""
    if error_code(exc) != "TransactionCanceledException":
        return None
    response: dict[str, Any] = getattr(exc, "response", {})
    return [dict(reason) for reason in response.get("CancellationReasons") or [] if isinstance(reason, dict)]


def condition_failed(reasons: Sequence[dict[str, Any]], index: int) -> bool:
    """Whether the condition of item *index* of a cancelled transaction did not hold."""
    return index < len(reasons) and reasons[index].get("Code") == CONDITIONAL_CHECK_FAILED


def _backoff(attempt: int) -> float:
    """The wait after the *attempt*-th cancellation (0, 1, ...): 10-20 ms, 20-40 ms, 40-80 ms...: always longer."""
    return 0.01 * (1 << attempt) * (1 + random.random())


def transact_write(
    dynamodb: DynamoDBClient,
    items: Sequence[TransactWriteItemTypeDef],
    *,
    attempts: int = TRANSACTION_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]] | None:
    """Run ``TransactWriteItems`` of *items*: ``None`` once it applied, else its cancellation reasons.

    The reasons are returned when an item's condition did not hold, or the cancellation is one running the
    transaction again cannot cure. A transaction cancelled only by :data:`RETRYABLE_REASONS` is run again, at most
    *attempts* times in all, sleeping a little longer each time; then :class:`TransactionContention`. Any other
    error of the client is raised as it is.
    """
    for attempt in range(attempts):
        try:
            dynamodb.transact_write_items(TransactItems=list(items))
        except Exception as exc:
            reasons = cancellation_reasons(exc)
            if reasons is None:
                raise
            codes = {reason.get("Code") for reason in reasons}
            if CONDITIONAL_CHECK_FAILED in codes or not codes & RETRYABLE_REASONS:
                return reasons
            if attempt + 1 < attempts:
                sleep(_backoff(attempt))
        else:
            return None
    raise TransactionContention(f"the transaction was cancelled by concurrent ones {attempts} times")
