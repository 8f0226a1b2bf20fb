"""The candle frame schema every provider produces and every engine consumes.

A candle frame is a `pandas.DataFrame` with:

- a `DatetimeIndex` named `time`, dtype `datetime64[ns, UTC]`, holding each bar's **open** time,
  strictly increasing (unique and sorted);
- exactly the float64 columns `open`, `high`, `low`, `close`, `volume`, in that order.

Only `atb.data.validation.validate_candles` builds such frames, so the rest of the code can rely
on the schema without re-checking it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INDEX_NAME = "time"
"""Name of the index: the bar's open time (UTC)."""

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
"""Columns holding prices (quote currency per base unit); finite and > 0."""

OHLCV_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
"""Every column of a candle frame, in order. Volume is in base units; finite and >= 0."""

INDEX_DTYPE = "datetime64[ns, UTC]"
"""The index dtype: nanosecond resolution, so every provider yields byte-identical frames."""


def empty_candle_frame() -> pd.DataFrame:
    """A candle frame with no rows (the schema, nothing else)."""
    index = pd.DatetimeIndex([], dtype=INDEX_DTYPE, name=INDEX_NAME)
    return pd.DataFrame(np.empty((0, len(OHLCV_COLUMNS))), index=index, columns=OHLCV_COLUMNS)
