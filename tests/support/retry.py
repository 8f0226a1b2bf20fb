"""Client-side helpers for tests against the fake exchange: no real sleeping, short backoffs."""

from __future__ import annotations

from atb.data.binance import RetryPolicy

FAST_RETRIES = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=60)
"""Four attempts with tiny backoffs (the waits are recorded by `RecordingSleeper` anyway)."""


class RecordingSleeper:
    """A `atb.data.binance.Sleeper` that records the requested waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float, /) -> None:
        self.waits.append(seconds)
