"""Throttling of an HTTP API: a token bucket (AWS doc http-api-throttling.html).

The bucket holds at most ``burst`` tokens and gains ``rate`` tokens per second; a request takes
one token or is refused (429 ``{"message":"Too Many Requests"}``). It starts full. AWS calls its
limits "best-effort ... targets rather than guaranteed ceilings"; the emulator's are exact, which
makes them testable. The clock is injected so tests need no sleeps. Not thread-safe: one bucket
belongs to one event loop.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TokenBucket"]

# Clock readings are floats: 0.3 + 0.3 + 0.3 + 0.1 seconds at 1 token/s must make a whole token.
_EPSILON = 1e-9


class TokenBucket:
    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 0:
            raise ValueError(f"throttle rate must not be negative, not {rate}")
        if burst < 0:
            raise ValueError(f"throttle burst must not be negative, not {burst}")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    @property
    def tokens(self) -> float:
        """Tokens available now (refills first)."""
        self._refill()
        return self._tokens

    def try_acquire(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self._tokens >= 1.0 - _EPSILON:
            self._tokens -= 1.0
            return True
        return False

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._last = now
