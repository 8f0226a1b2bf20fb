"""Candle frames for strategy tests: hand-built closes and a seeded synthetic market."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def frame_from_closes(closes: Sequence[float], start: str = "2024-01-01") -> pd.DataFrame:
    """Hourly candles whose open is the previous close and whose range brackets both."""
    close = np.asarray(closes, dtype=np.float64)
    opens = np.concatenate([[close[0]], close[:-1]])
    index = pd.date_range(start, periods=len(close), freq="1h", tz="UTC")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, close) * 1.001,
            "low": np.minimum(opens, close) * 0.999,
            "close": close,
            "volume": np.full(len(close), 10.0),
        },
        index=index,
    )


def synthetic_frame(bars: int = 3000, seed: int = 7) -> pd.DataFrame:
    """A seeded random-walk market around 30,000 with realistic-looking OHLCV."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.006, bars) + 0.0003 * np.sin(np.arange(bars) / 50.0)
    close = 30_000.0 * np.exp(np.cumsum(returns))
    opens = np.concatenate([[30_000.0], close[:-1]])
    wiggle = np.abs(rng.normal(0.0, 0.003, (2, bars)))
    index = pd.date_range("2023-01-01", periods=bars, freq="1h", tz="UTC")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, close) * (1 + wiggle[0]),
            "low": np.minimum(opens, close) * (1 - wiggle[1]),
            "close": close,
            "volume": rng.lognormal(5.0, 0.5, bars),
        },
        index=index,
    )


def read_sample(path: Path) -> pd.DataFrame:
    """The real BTCUSDT sample as an OHLCV frame with a UTC index."""
    frame = pd.read_csv(path)
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True))
    return frame.set_index(index).astype(np.float64)
