"""Faults the sandbox injects on demand, so a client's handling of each is tested for real.

| fault | what the client sees |
|---|---|
| `RATE_LIMITED` | HTTP 429, `Retry-After`, Binance code -1003; the request is not processed |
| `BANNED` | HTTP 418 (an IP ban for ignoring 429s), `Retry-After`; not processed |
| `SERVER_ERROR` | HTTP 500 / -1000 "An unknown error occurred…"; not processed |
| `HANG` | no answer for `hang_s` seconds (the client times out); not processed |
| `HANG_AFTER` | **processed** (an order is accepted), then no answer for `hang_s` |

After `HANG_AFTER` the client does not know whether its order exists: it must look the client
order id up before it sends the order again.

Faults are armed one request at a time (`arm(fault, count)`, for a test that wants exactly that
moment) or drawn at random per request from `rates` with a seeded generator (`--faults
429=0.05,500=0.02` on `atb sandbox`, for a session that must survive them all). Only the
signed endpoints and the market data a session polls are affected; `ping` never is.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping
from enum import Enum

import attrs

__all__ = ["Fault", "FaultPlan", "parse_fault_rates"]


class Fault(Enum):
    """One way a request can fail (see the module docstring)."""

    RATE_LIMITED = "429"
    BANNED = "418"
    SERVER_ERROR = "500"
    HANG = "hang"
    HANG_AFTER = "hang-after"


@attrs.define
class FaultPlan:
    """Which request fails how: armed faults first (in order), then random draws."""

    rates: Mapping[Fault, float] = attrs.field(factory=dict)
    seed: int = 0
    retry_after_s: int = 1
    hang_s: float = 3.0
    _armed: deque[Fault] = attrs.field(init=False, factory=deque)
    _random: random.Random = attrs.field(init=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def arm(self, fault: Fault, count: int = 1) -> None:
        """Make the next `count` affected requests fail with `fault`."""
        with self._lock:
            self._armed.extend([fault] * count)

    def next_fault(self) -> Fault | None:
        """The fault for the request being served, if any."""
        with self._lock:
            if self._armed:
                return self._armed.popleft()
            for fault, rate in self.rates.items():
                if self._random.random() < rate:
                    return fault
            return None


def parse_fault_rates(text: str) -> dict[Fault, float]:
    """`"429=0.05,500=0.02,hang-after=0.01"` → rates per fault; `ValueError` naming a bad part."""
    rates: dict[Fault, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            fault = Fault(name.strip())
            rate = float(value)
        except ValueError:
            known = ", ".join(fault.value for fault in Fault)
            raise ValueError(f"{part!r}: expected FAULT=RATE with FAULT one of {known}") from None
        if not sep or not 0.0 <= rate <= 1.0:
            raise ValueError(f"{part!r}: a rate is a probability from 0 to 1")
        rates[fault] = rate
    return rates
