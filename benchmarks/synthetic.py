"""Seeded synthetic one-minute candles for the throughput benchmark.

A geometric random walk with GARCH-like volatility clustering, BTC-like level (~40k) and
intrabar extremes drawn around open/close. Same seed → identical frame. It goes through the
same validation as every other source (`atb.data.validation.validate_candles`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atb.data.candles import ValidatedCandles
from atb.data.validation import validate_candles

START = pd.Timestamp("2024-01-01", tz="UTC")


def synthetic_minutes(bars: int = 1_000_000, seed: int = 7) -> ValidatedCandles:
    """`bars` one-minute candles starting 2024-01-01 UTC."""
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(df=4, size=bars) / np.sqrt(2.0)
    # Volatility clustering: log-vol is a slow AR(1) around a minute vol of ~0.06 %.
    log_vol = np.empty(bars)
    level = np.log(0.0006)
    noise = rng.normal(0.0, 0.05, size=bars)
    current = level
    for start in range(0, bars, 4096):
        # AR(1) in blocks keeps the loop short; within a block it is vectorised by cumsum.
        block = noise[start : start + 4096]
        log_vol[start : start + 4096] = current + np.cumsum(block) * 0.2
        current = level + 0.98 * (log_vol[start + len(block) - 1] - level)
    returns = np.exp(log_vol) * shocks
    close = 40_000.0 * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([40_000.0], close[:-1]))
    spread = np.abs(rng.normal(0.0, 1.0, size=bars)) * np.exp(log_vol) * close * 0.5
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - np.abs(rng.normal(0.0, 1.0, size=bars)) * spread
    volume = rng.gamma(2.0, 5.0, size=bars) * (1.0 + 50.0 * np.abs(returns))
    index = pd.date_range(START, periods=bars, freq="1min", name="time")
    frame = pd.DataFrame(
        {
            "open": np.round(open_, 2),
            "high": np.round(high, 2) + 0.01,
            "low": np.round(low, 2) - 0.01,
            "close": np.round(close, 2),
            "volume": volume,
        },
        index=index,
    )
    frame["high"] = frame[["open", "high", "close"]].max(axis=1)
    frame["low"] = frame[["open", "low", "close"]].min(axis=1)
    return validate_candles(frame, source=f"synthetic minutes (seed {seed})", timeframe="1m")
