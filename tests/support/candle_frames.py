"""Small, valid candle frames for data tests (random walk; seeded, so reproducible)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atb.data.schema import INDEX_NAME
from atb.domain.timeframes import parse_timeframe


def make_candles(
    bars: int, *, start: str = "2024-01-01", timeframe: str = "1h", seed: int = 7
) -> pd.DataFrame:
    """A valid candle frame of `bars` bars opening at `start`, `timeframe` apart, no gaps."""
    rng = np.random.default_rng(seed)
    tf = parse_timeframe(timeframe)
    close = np.round(30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, bars))), 2)
    open_ = np.concatenate(([30_000.0], close[:-1]))
    high = np.round(np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, bars)), 2)
    low = np.round(np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, bars)), 2)
    volume = np.round(rng.lognormal(3.0, 0.5, bars), 5)
    index = pd.date_range(start, periods=bars, freq=tf.timedelta, tz="UTC", name=INDEX_NAME)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=index.as_unit("ns"),
    )


def epoch_ms(value: str | pd.Timestamp) -> int:
    """Epoch milliseconds of a UTC time."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return int(stamp.value // 1_000_000)


def with_bar(frame: pd.DataFrame, row: int, **values: float) -> pd.DataFrame:
    """A copy of `frame` with the given columns of row `row` set, e.g. `low=0.06`."""
    changed = frame.copy()
    for column, value in values.items():
        cells = changed[column].to_numpy(dtype=np.float64, copy=True)
        cells[row] = value
        changed[column] = cells
    return changed


def scaled(frame: pd.DataFrame, row: int, column: str, factor: float) -> pd.DataFrame:
    """A copy of `frame` with one cell multiplied by `factor` (a bad print, for instance)."""
    return with_bar(frame, row, **{column: float(frame[column].to_numpy()[row]) * factor})
