"""Gaps: bars missing from a candle series. They are reported, never filled in.

An exchange outage leaves no candle behind; inventing one (forward-filled or interpolated)
would hand the strategy prices that never traded. So gaps are found and reported, and the
engines step over them.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd

from atb.data.times import format_time
from atb.domain.timeframes import Timeframe


@attrs.frozen(slots=True)
class Gap:
    """A run of missing bars.

    `start` is the open time of the first missing bar; `end` is the open time of the first bar
    present after the gap (exclusive), so `missing_bars == (end - start) / timeframe`.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    missing_bars: int

    def describe(self) -> str:
        """One line for humans: `2023-03-24 12:00 UTC → 2023-03-24 14:00 UTC (2 bars)`."""
        plural = "bar" if self.missing_bars == 1 else "bars"
        return f"{format_time(self.start)} → {format_time(self.end)} ({self.missing_bars} {plural})"


def find_gaps(index: pd.DatetimeIndex, timeframe: Timeframe) -> tuple[Gap, ...]:
    """Every gap in a sorted, unique, bar-aligned index (vectorised; Python runs once per gap)."""
    if len(index) < 2:
        return ()
    stamps = index.as_unit("ns").asi8
    step = timeframe.nanoseconds
    after = np.flatnonzero(np.diff(stamps) > step)
    gaps = []
    for position in after.tolist():
        start = int(stamps[position]) + step
        end = int(stamps[position + 1])
        gaps.append(
            Gap(
                start=pd.Timestamp(start, tz="UTC"),
                end=pd.Timestamp(end, tz="UTC"),
                missing_bars=(end - start) // step,
            )
        )
    return tuple(gaps)
