"""Converting between candle frames (the data layer's form) and `Bar` objects (the kernel's)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from atb.data.schema import INDEX_NAME
from atb.domain.bars import Bar


def frame_from_bars(bars: Sequence[Bar]) -> pd.DataFrame:
    """An OHLCV frame (float64 columns, UTC `DatetimeIndex` of open times) from bars."""
    index = pd.DatetimeIndex([bar.time for bar in bars], name=INDEX_NAME).as_unit("ns")
    return pd.DataFrame(
        {
            "open": np.array([bar.open for bar in bars], dtype=np.float64),
            "high": np.array([bar.high for bar in bars], dtype=np.float64),
            "low": np.array([bar.low for bar in bars], dtype=np.float64),
            "close": np.array([bar.close for bar in bars], dtype=np.float64),
            "volume": np.array([bar.volume for bar in bars], dtype=np.float64),
        },
        index=index,
    )


def bars_from_frame(frame: pd.DataFrame) -> list[Bar]:
    """The bars of a candle frame, in its order."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError("candle frame must have a DatetimeIndex")
    opens, highs, lows, closes, volumes = (
        frame[name].to_numpy(dtype=float) for name in ("open", "high", "low", "close", "volume")
    )
    times = index.to_pydatetime()
    return [
        Bar(
            times[row],
            float(opens[row]),
            float(highs[row]),
            float(lows[row]),
            float(closes[row]),
            float(volumes[row]),
        )
        for row in range(len(frame))
    ]
