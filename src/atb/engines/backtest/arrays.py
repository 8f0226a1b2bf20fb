"""Candle frames as the contiguous arrays the kernel loop and the quiet-span finder read."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from atb.data.candles import ValidatedCandles
from atb.domain.bars import Bar
from atb.domain.timestamps import duration_ns
from atb.engines.backtest.quiet_span import BarArrays


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


class DetailIndex:
    """Finds the lower-timeframe candles inside a bar, by the bar's open time."""

    def __init__(
        self,
        detail: ValidatedCandles,
        interval: timedelta,
        excluded: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self.bars = bar_arrays(detail.frame)
        self.interval_ns = duration_ns(interval)
        # Bars whose finer candles disagree with them: resolved without detail.
        self.excluded = set() if excluded is None else {int(time) for time in excluded}

    def inside(self, bar_time_ns: int | np.int64) -> list[Bar] | None:
        """The finer candles of the bar opening at `bar_time_ns` (None when there are none: the
        intrabar policy then decides, as without detail)."""
        if int(bar_time_ns) in self.excluded:
            return None
        times = self.bars.times_ns
        first = int(np.searchsorted(times, bar_time_ns, side="left"))
        last = int(np.searchsorted(times, int(bar_time_ns) + self.interval_ns, side="left"))
        if first == last:
            return None
        return [self.bars.bar(row) for row in range(first, last)]
