"""`RecentBars`: the live window as plain arrays, for a strategy's incremental `features_now`.

A live session decides on the newest bar only. Computing `features(frame)` over the whole
window at every bar costs a DataFrame and every column; a strategy may instead offer
`features_now(bars) -> dict[str, float]`, the newest bar's features from these arrays (oldest
first, the newest last). `features(frame)` stays the reference: the bias check requires the two
to agree bit for bit, and `atb parity` compares the live session (which uses `features_now`)
with the backtest (which uses `features`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import attrs

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray: TypeAlias = npt.NDArray[np.float64]

__all__ = ["RecentBars"]


@attrs.frozen(slots=True, eq=False)
class RecentBars:
    """The last bars up to and including the newest, as float64 arrays (oldest first)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    time: datetime
    """The newest bar's open time (UTC)."""

    def __len__(self) -> int:
        return len(self.close)

    @classmethod
    def of_frame_rows(cls, columns: dict[str, FloatArray], end: int, time: datetime) -> RecentBars:
        """The rows up to and including `end` of OHLCV arrays (the bias check's view)."""
        stop = end + 1
        return cls(
            open=columns["open"][:stop],
            high=columns["high"][:stop],
            low=columns["low"][:stop],
            close=columns["close"][:stop],
            volume=columns["volume"][:stop],
            time=time,
        )
