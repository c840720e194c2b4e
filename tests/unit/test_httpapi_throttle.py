"""The throttle's token bucket, driven by a fake clock (no sleeps)."""

from __future__ import annotations

import pytest

from stratus.local.httpapi.throttle import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def drain(bucket: TokenBucket, attempts: int = 1000) -> int:
    return sum(bucket.try_acquire() for _ in range(attempts))


@pytest.mark.parametrize("burst", [0, 1, 5, 100])
def test_a_new_bucket_is_full_and_lets_a_burst_through_at_once(burst: int) -> None:
    # GIVEN a new bucket whose clock does not move
    bucket = TokenBucket(rate=50, burst=burst, clock=FakeClock())
    # WHEN requests arrive all at once  THEN exactly `burst` get through
    assert drain(bucket) == burst


@pytest.mark.parametrize(
    ("rate", "seconds", "admitted"),
    [(10, 0.1, 1), (10, 0.5, 5), (10, 0.05, 0), (2, 1.0, 2), (50, 0.02, 1), (0.5, 2.0, 1)],
)
def test_an_empty_bucket_refills_at_rate_tokens_per_second(rate: float, seconds: float, admitted: int) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=rate, burst=10, clock=clock)
    drain(bucket)
    clock.advance(seconds)
    assert drain(bucket) == admitted


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, burst=3, clock=clock)
    clock.advance(3600)
    assert bucket.tokens == 3
    assert drain(bucket) == 3


def test_partial_tokens_accumulate_across_refills() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.try_acquire()
    for _ in range(3):
        clock.advance(0.3)
        assert not bucket.try_acquire()
    clock.advance(0.1)
    assert bucket.try_acquire()


def test_a_refused_request_takes_no_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    bucket.try_acquire()
    assert not bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(1)
    assert bucket.try_acquire()


def test_a_bucket_with_no_rate_serves_only_its_burst_ever() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0, burst=2, clock=clock)
    clock.advance(10_000)
    assert drain(bucket) == 2


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=1, clock=clock)
    bucket.try_acquire()
    clock.advance(-5)
    assert not bucket.try_acquire()


def test_a_steady_stream_at_the_rate_is_never_refused() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=50, burst=1, clock=clock)
    admitted = 0
    for _ in range(500):
        clock.advance(0.02)
        admitted += bucket.try_acquire()
    assert admitted == 500


@pytest.mark.parametrize(("rate", "burst"), [(-1, 1), (1, -1)])
def test_a_negative_rate_or_burst_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        TokenBucket(rate=rate, burst=burst, clock=FakeClock())


def test_a_bucket_uses_the_monotonic_clock_by_default() -> None:
    assert TokenBucket(rate=1, burst=1).try_acquire()
