"""Candle frames as the contiguous arrays the kernel loop and the quiet-span finder read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atb.domain.bars import Bar
from atb.managers.quiet_span import BarArrays


def bar_arrays(frame: pd.DataFrame) -> BarArrays:
    """Arrays of a validated candle frame (UTC DatetimeIndex of open times)."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError("candle frame must have a DatetimeIndex")

    def column(name: str) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        return np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))

    return BarArrays(
        times_ns=np.ascontiguousarray(index.as_unit("ns").asi8, dtype=np.int64),
        open=column("open"),
        high=column("high"),
        low=column("low"),
        close=column("close"),
        volume=column("volume"),
    )


def bar_at(bars: BarArrays, index: int) -> Bar:
    """The `Bar` of row `index` (built only for bars the kernel actually steps)."""
    return Bar(
        bars.time(index),
        float(bars.open[index]),
        float(bars.high[index]),
        float(bars.low[index]),
        float(bars.close[index]),
        float(bars.volume[index]),
    )
