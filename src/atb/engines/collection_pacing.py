"""Fewer garbage collections while a backtest walks its bars.

A stepped bar allocates a few dozen small objects (its `Bar`, orders, fills, events, the
decision) and the run keeps some of them (its events, fills and trades). CPython collects its
youngest generation every 700 net container allocations, and every tenth of those collects
the middle one too; the kept objects pass through both, and the oldest generation is walked
whenever it has grown by a quarter. On the heavy benchmark case of 300,000 bars that costs
~12 % of the run (ADR 0023). While a walk runs, the youngest generation is collected every
20,000 allocations instead (the middle and oldest keep their ratios to it), and the process's
thresholds are put back when the last walk ends.

This changes when memory held in reference cycles is reclaimed, never what a run computes:
reference counting frees every other object at once, whatever the collector's pace.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "paced_collections"]

YOUNG_THRESHOLD = 20_000
"""Net container allocations between young-generation collections while a walk runs."""


class _Pacer:
    """The process's one pacing: how many walks are running and the thresholds before them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: tuple[int, int, int] | None = None

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.saved = gc.get_threshold()
                young, middle, old = self.saved
                if young > 0:  # 0: the process turned automatic collection off; leave it so
                    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.saved is not None:
                gc.set_threshold(*self.saved)
                self.saved = None


_PACER = _Pacer()


@contextmanager
def paced_collections() -> Iterator[None]:
    """Run the body with the young generation collected every `YOUNG_THRESHOLD` allocations
    (never more often than the process already asked for). Nested and concurrent walks share
    one setting; the thresholds found by the first are restored when the last one ends."""
    _PACER.enter()
    try:
        yield
    finally:
        _PACER.leave()
