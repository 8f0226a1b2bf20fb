"""Recent returns of a portfolio's symbols on one time axis, and their correlation.

`ReturnsWindow` keeps, per symbol, the closes of its last `lookback + 1` bars with their bar
times. A return is the change from a symbol's previous bar to its next one, filed under the
later bar's time, so two symbols are compared only at times both had a bar (a gap in one never
pairs a two-bar move with a one-bar move of the other).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from datetime import datetime

__all__ = ["ReturnsWindow", "pearson"]


class ReturnsWindow:
    """The last `lookback` bar returns of each symbol, keyed by bar time."""

    __slots__ = ("_closes", "lookback")

    def __init__(self, symbols: Sequence[str], lookback: int) -> None:
        self.lookback = lookback
        self._closes: dict[str, deque[tuple[datetime, float]]] = {
            symbol: deque(maxlen=lookback + 1) for symbol in symbols
        }

    def push(self, symbol: str, time: datetime, close: float) -> None:
        """Take `symbol`'s close of the bar at `time` (after its earlier ones)."""
        self._closes[symbol].append((time, close))

    def returns(self, symbol: str) -> dict[datetime, float]:
        """Bar time → the symbol's return into that bar from its previous one."""
        closes = self._closes[symbol]
        out: dict[datetime, float] = {}
        previous: float | None = None
        for time, close in closes:
            if previous is not None:
                out[time] = close / previous - 1.0
            previous = close
        return out

    def correlation(self, first: str, second: str) -> float | None:
        """Pearson correlation of the two symbols' returns at the times both have one;
        None with fewer than three such returns or when either series is flat."""
        a = self.returns(first)
        b = self.returns(second)
        common = sorted(a.keys() & b.keys())
        return pearson([a[t] for t in common], [b[t] for t in common])


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The Pearson correlation of two equally long series; None for fewer than three points or
    a series without variance."""
    count = len(xs)
    if count != len(ys):
        raise ValueError(f"series of different lengths: {count} and {len(ys)}")
    if count < 3:
        return None
    mean_x = math.fsum(xs) / count
    mean_y = math.fsum(ys) / count
    dx = [x - mean_x for x in xs]
    dy = [y - mean_y for y in ys]
    sxx = math.fsum(d * d for d in dx)
    syy = math.fsum(d * d for d in dy)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    sxy = math.fsum(a * b for a, b in zip(dx, dy, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
