"""The cyclic garbage collector kept out of a backtest's way while it walks its bars.

A stepped bar allocates a few dozen small objects (its `Bar`, orders, fills, events, the
decision) and the run keeps some of them to the end (its events, which hold its fills and
trades): a million heavy bars keep about two million. None of them is ever part of a reference
cycle (a run leaves no cyclic garbage), yet CPython's collector walks the kept ones again and
again: its youngest generation every 700 net allocations, the middle one every tenth of those,
and all of them whenever the oldest generation grew by a quarter. On the heavy benchmark case
that was 12 % of a million-bar run (ADR 0023).

While a walk runs, the youngest generation is collected every 20,000 allocations instead (the
older ones keep their ratios to it), and every few thousand bars the walk *settles* what it has
kept so far: `gc.freeze()` moves every tracked object to the collector's permanent generation,
which no collection visits. When the last walk ends, the process's thresholds come back and
`gc.unfreeze()` hands the kept objects back to the oldest generation, collected as usual from
then on. A process that froze objects itself (`gc.get_freeze_count() > 0`, e.g. a server before
it forks) or turned automatic collection off is not frozen or unfrozen by a walk.

This changes when memory held in reference cycles is reclaimed, never what a run computes:
reference counting frees every other object at once, whatever the collector does.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "Pacing", "paced_collections"]

YOUNG_THRESHOLD = 20_000
"""Net container allocations between young-generation collections while a walk runs."""


class Pacing:
    """The process's one pacing: how many walks are running, the thresholds before the first,
    and whether walks may freeze what they keep."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: tuple[int, int, int] | None = None
        self._freezing = False

    def enter(self) -> None:
        """A walk starts (the first one paces the collector)."""
        with self._lock:
            if self._depth == 0:
                self._saved = gc.get_threshold()
                young, middle, old = self._saved
                # 0: the process turned automatic collection off; leave it so.
                if young > 0:
                    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
                self._freezing = young > 0 and gc.isenabled() and gc.get_freeze_count() == 0
            self._depth += 1

    def settle(self) -> None:
        """Move everything the walks keep so far out of the collector's sight."""
        with self._lock:
            if self._depth > 0 and self._freezing:
                gc.freeze()

    def leave(self) -> None:
        """A walk ends (the last one restores the collector)."""
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                if self._saved is not None:
                    gc.set_threshold(*self._saved)
                if self._freezing:
                    gc.unfreeze()
                self._saved, self._freezing = None, False


_PACING = Pacing()


@contextmanager
def paced_collections() -> Iterator[Pacing]:
    """Run the body with the young generation collected every `YOUNG_THRESHOLD` allocations
    (never more often than the process already asked for); `settle()` on the handed pacing
    freezes what the walk keeps so far. Nested and concurrent walks share one pacing; the
    collector is restored when the last one ends, also when it raised."""
    _PACING.enter()
    try:
        yield _PACING
    finally:
        _PACING.leave()
