"""Rate limiting in the ``rate_limits`` table: fixed windows, ONE conditional UpdateItem per request.

A policy allows ``requests`` per ``period`` seconds to each principal (``user:<sub>``, ``client:<id>``,
``key:<key id>``, or ``ip:<source ip>`` for anonymous calls) on each route prefix. Windows are aligned on
multiples of the period (epoch time), and the counter of one principal, route and window is one item::

    limit_key     S   "<route prefix>|<principal>|<window start>"  (the table's key)
    request_count N   requests admitted in the window
    expires_at    N   window end + :data:`TTL_GRACE`: the table's TTL attribute, so old windows disappear

Admitting a request is a single ``UpdateItem``: ``ADD request_count :one`` under the condition
``attribute_not_exists(request_count) OR request_count < :limit``. DynamoDB applies the condition and
the update atomically, so concurrent requests can never admit more than ``requests`` in a window; a
request over the limit fails the condition and writes nothing. (moto is not atomic here; the local
cloud's moto wrapper serialises DynamoDB calls so that it is — shared/reference/feasibility.md §1c.)

Known trade-off of fixed windows: a client can make up to ``2 x requests`` across a window boundary.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stratus_common.environment import ConfigurationError

__all__ = ["TTL_GRACE", "Decision", "RateLimiter", "RatePolicy"]


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """At most ``requests`` per ``period`` seconds (fixed windows aligned on multiples of ``period``)."""

    requests: int
    period: int

    @classmethod
    def parse(cls, value: object, where: str) -> RatePolicy:
        """Read ``{"requests": N, "period": S}`` or ``"N/S"``; raise :class:`ConfigurationError` naming *where*."""
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", value):
            requests_text, period_text = value.split("/")
            value = {"requests": int(requests_text), "period": int(period_text)}
        if not isinstance(value, Mapping):
            raise ConfigurationError(f'{where}: must be {{"requests": N, "period": seconds}} or "N/seconds"')
        requests, period = value.get("requests"), value.get("period")
        if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
            raise ConfigurationError(f"{where}.requests: must be a whole number >= 1")
        if not isinstance(period, int) or isinstance(period, bool) or not 1 <= period <= 86400:
            raise ConfigurationError(f"{where}.period: must be a whole number of seconds, 1-86400")
        return cls(requests, period)


TTL_GRACE = 60
"""Seconds an expired window's item is kept before the TTL may delete it."""
_READINESS_KEY = "__readiness_probe__"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one request: what the ``X-RateLimit-*`` headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Epoch second at which the window ends and the counter starts again."""
    retry_after: int
    """Seconds to wait before retrying (0 when allowed)."""

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch seconds), and ``Retry-After`` when denied."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Counts requests per principal and route in DynamoDB."""

    def __init__(self, dynamodb: Any, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock

    def hit(self, route: str, principal: str, policy: RatePolicy) -> Decision:
        """Count one request of *principal* on *route*; say whether it is admitted. One DynamoDB write."""
        now = self.clock()
        window_start = int(now // policy.period) * policy.period
        reset = window_start + policy.period
        dynamodb = self.dynamodb
        try:
            response = dynamodb.update_item(
                TableName=self.table_name,
                Key={"limit_key": {"S": f"{route}|{principal}|{window_start}"}},
                UpdateExpression="SET expires_at = if_not_exists(expires_at, :expires) ADD request_count :one",
                ConditionExpression="attribute_not_exists(request_count) OR request_count < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(policy.requests)},
                    ":expires": {"N": str(reset + TTL_GRACE)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return Decision(
                allowed=False,
                limit=policy.requests,
                remaining=0,
                reset=reset,
                retry_after=max(1, math.ceil(reset - now)),
            )
        count = int(response["Attributes"]["request_count"]["N"])
        return Decision(
            allowed=True,
            limit=policy.requests,
            remaining=max(0, policy.requests - count),
            reset=reset,
            retry_after=0,
        )

    def ping(self) -> None:
        """One cheap read of a key that never exists; raises if the table does not answer."""
        self.dynamodb.get_item(TableName=self.table_name, Key={"limit_key": {"S": _READINESS_KEY}})
