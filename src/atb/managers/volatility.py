"""Average true range from a bar history, the one formula both engines use for ATR trailing.

The kernel asks a `PriceHistory` for the ATR at the bar it is processing; the backtest answers
from its candle arrays, the live engine from its rolling window, both through
`average_true_range`, so ATR-based stops are identical in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs
import numpy as np
import numpy.typing as npt

FloatSeries = Sequence[float] | npt.NDArray[np.float64]


def average_true_range(
    high: FloatSeries, low: FloatSeries, close: FloatSeries, end: int, period: int
) -> float | None:
    """Simple mean of the true ranges of rows `end − period + 1 … end`.

    True range = max(high − low, |high − previous close|, |low − previous close|); the first row
    of the history has no previous close and uses high − low. None when fewer than `period`
    rows exist or `period` < 1.
    """
    first = end - period + 1
    if period < 1 or first < 0 or end >= len(close):
        return None
    total = 0.0
    for row in range(first, end + 1):
        spread = float(high[row]) - float(low[row])
        if row > 0:
            previous = float(close[row - 1])
            spread = max(spread, abs(float(high[row]) - previous), abs(float(low[row]) - previous))
        total += spread
    return total / period


class PriceHistory(Protocol):
    """What the kernel may ask about bars before and at the one it processes."""

    def atr(self, bar_index: int, period: int) -> float | None:
        """ATR over `period` bars ending at row `bar_index` (None when history is short)."""
        ...


@attrs.frozen(slots=True)
class ArrayHistory:
    """A `PriceHistory` over candle arrays indexed like the kernel's `bar_index`."""

    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]

    def atr(self, bar_index: int, period: int) -> float | None:
        """ATR from the arrays (see `average_true_range`)."""
        return average_true_range(self.high, self.low, self.close, bar_index, period)
