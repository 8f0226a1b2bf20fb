"""Lower-timeframe detail: the finer candles inside each bar, used to resolve resting levels.

A finer candle must lie inside the bar that contains it, in time and in price (its high no
higher, its low no lower): exchange minute candles always do. A bar whose finer candles break
the rule is resolved by the intrabar policy instead, as a bar without detail is — in both
engines (`atb.engines.bar_loop.detail_inside` judges one bar live; `inconsistent_bars` judges a
whole series at once for the backtest) — and runs say how many bars that was.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from atb.data.candles import ValidatedCandles
from atb.domain.errors import DataError


def inconsistent_bars(bars: ValidatedCandles, detail: ValidatedCandles) -> npt.NDArray[np.int64]:
    """Open times (int64 ns) of the bars whose finer candles do not all lie inside them."""
    if bars.timeframe is None or detail.timeframe is None:
        raise DataError("detail candles need known timeframes on both series")
    step = bars.timeframe.nanoseconds
    if detail.timeframe.nanoseconds >= step:
        raise DataError(
            f"detail timeframe {detail.timeframe} must be finer than the bars' {bars.timeframe}"
        )
    empty = np.zeros(0, dtype=np.int64)
    if not len(bars) or not len(detail):
        return empty
    bar_times = bars.index.as_unit("ns").asi8
    detail_times = detail.index.as_unit("ns").asi8
    owner = np.searchsorted(bar_times, detail_times, side="right") - 1
    inside = (owner >= 0) & (detail_times < bar_times[np.maximum(owner, 0)] + step)
    rows = np.flatnonzero(inside)
    if not len(rows):
        return empty
    owners = owner[rows]
    # The same comparison as the live engine's, exact: a finer high above the bar's high or a
    # finer low below its low.
    high = detail.frame["high"].to_numpy()[rows]
    low = detail.frame["low"].to_numpy()[rows]
    bad = (high > bars.frame["high"].to_numpy()[owners]) | (
        low < bars.frame["low"].to_numpy()[owners]
    )
    return np.unique(bar_times[owners[bad]])
