"""The live engine's rolling candle window: what the strategy is prepared on at each bar.

The strategy contract (proven by the bias check) is that features at a bar depend on the last
`warmup` bars only, so a window of that many bars gives the same decision as the backtest's
full history. ATR trailing needs `period + 1` bars, so the window keeps at least that many.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import numpy as np
import pandas as pd

from atb.data.bars import frame_from_bars
from atb.domain.bars import Bar
from atb.managers.volatility import ArrayHistory
from atb.strategies.recent_bars import RecentBars


class CandleWindow:
    """The last `size` bars, as the frame `Strategy.prepare` takes and as ATR arrays."""

    def __init__(self, size: int, bars: Iterable[Bar] = ()) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self._bars: deque[Bar] = deque(bars, maxlen=size)

    def __len__(self) -> int:
        return len(self._bars)

    @property
    def last(self) -> Bar | None:
        """The newest bar, or None when empty."""
        return self._bars[-1] if self._bars else None

    def append(self, bar: Bar) -> None:
        """Add the newest closed bar (the oldest falls out when full)."""
        self._bars.append(bar)

    def frame(self) -> pd.DataFrame:
        """The window as an OHLCV frame with a UTC DatetimeIndex named `time`."""
        return frame_from_bars(list(self._bars))

    def recent(self) -> RecentBars:
        """The window as arrays (oldest first), for a strategy's `features_now` fast path."""
        bars = self._bars
        if not bars:
            raise ValueError("the window is empty")
        return RecentBars(
            open=np.array([bar.open for bar in bars], dtype=np.float64),
            high=np.array([bar.high for bar in bars], dtype=np.float64),
            low=np.array([bar.low for bar in bars], dtype=np.float64),
            close=np.array([bar.close for bar in bars], dtype=np.float64),
            volume=np.array([bar.volume for bar in bars], dtype=np.float64),
            time=bars[-1].time,
        )

    def history(self) -> ArrayHistory:
        """ATR history over the window, indexed like the frame."""
        bars = list(self._bars)
        return ArrayHistory(
            high=np.array([bar.high for bar in bars], dtype=np.float64),
            low=np.array([bar.low for bar in bars], dtype=np.float64),
            close=np.array([bar.close for bar in bars], dtype=np.float64),
        )
