"""Lower-timeframe detail: the finer candles inside each bar, used to resolve resting levels.

A finer candle must lie inside the bar that contains it, in time and in price (its high no
higher, its low no lower): exchange minute candles always do. Anything else means the two
series disagree, and resolving a stop on them would be fiction, so it is a `DataError` naming
the first finer candle that breaks the rule.
"""

from __future__ import annotations

import numpy as np

from atb.data.candles import ValidatedCandles
from atb.domain.errors import DataError

_TOLERANCE = 1e-9


def check_detail(bars: ValidatedCandles, detail: ValidatedCandles) -> None:
    """Raise `DataError` unless every finer candle inside the bars' span lies inside its bar."""
    if bars.timeframe is None or detail.timeframe is None:
        raise DataError("detail candles need known timeframes on both series")
    step = bars.timeframe.nanoseconds
    if detail.timeframe.nanoseconds >= step:
        raise DataError(
            f"detail timeframe {detail.timeframe} must be finer than the bars' {bars.timeframe}"
        )
    if not len(bars) or not len(detail):
        return
    bar_times = bars.index.as_unit("ns").asi8
    detail_times = detail.index.as_unit("ns").asi8
    owner = np.searchsorted(bar_times, detail_times, side="right") - 1
    inside = (owner >= 0) & (detail_times < bar_times[np.maximum(owner, 0)] + step)
    rows = np.flatnonzero(inside)
    if not len(rows):
        return
    owners = owner[rows]
    high = detail.frame["high"].to_numpy()[rows]
    low = detail.frame["low"].to_numpy()[rows]
    bar_high = bars.frame["high"].to_numpy()[owners]
    bar_low = bars.frame["low"].to_numpy()[owners]
    bad = (high > bar_high * (1 + _TOLERANCE)) | (low < bar_low * (1 - _TOLERANCE))
    if bad.any():
        first = int(np.argmax(bad))
        row, bar = int(rows[first]), int(owners[first])
        raise DataError(
            f"{detail.source}: detail candle at {detail.index[row]} (high {high[first]}, low "
            f"{low[first]}) lies outside its {bars.timeframe} bar at {bars.index[bar]} "
            f"(high {bar_high[first]}, low {bar_low[first]}) in {bars.source}"
        )
