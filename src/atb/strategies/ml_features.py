"""The feature set of `ml_basic`: normalised OHLCV features with bounded look-back.

Every feature is scale-free (returns, ratios, z-scores) so one model serves any price level,
and every feature is built from `atb.strategies.indicators`, so its value at a bar depends only
on the last `FEATURE_WARMUP` rows. Training (`ml_model.train`) and the strategy
(`ml_basic.MlBasic`) both call `compute_features`, so they can never disagree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from atb.deferred_modules import DeferredModule
from atb.managers import portable_math
from atb.strategies.indicators import (
    atr,
    atr_at,
    log_return,
    log_return_at,
    minmax_at,
    rolling_minmax,
    rolling_std,
    rolling_zscore,
    rsi,
    rsi_at,
    sma,
    sma_at,
    std_at,
    zscore_at,
)
from atb.strategies.recent_bars import RecentBars

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

RETURN_LAGS = (1, 2, 4, 8, 24)
VOLATILITY_WINDOW = 24
VOLUME_WINDOW = 48
RSI_WINDOW = 14
SMA_WINDOWS = (24, 96)
RANGE_WINDOW = 48
ATR_WINDOW = 14

FEATURE_NAMES: tuple[str, ...] = (
    *(f"logret_{lag}" for lag in RETURN_LAGS),
    f"volatility_{VOLATILITY_WINDOW}",
    f"volume_z_{VOLUME_WINDOW}",
    f"rsi_{RSI_WINDOW}",
    *(f"sma_distance_{window}" for window in SMA_WINDOWS),
    f"range_position_{RANGE_WINDOW}",
    f"atr_pct_{ATR_WINDOW}",
    "bar_position",
)
"""Feature columns, in model order. Stored in every artifact and checked on load."""

FEATURE_WARMUP = max(
    *(lag + 1 for lag in RETURN_LAGS),
    VOLATILITY_WINDOW + 1,
    VOLUME_WINDOW,
    RSI_WINDOW + 1,
    *SMA_WINDOWS,
    RANGE_WINDOW,
    ATR_WINDOW + 1,
)
"""Rows (the current one included) the first complete feature row needs."""


def compute_features(frame: pd.DataFrame) -> pd.DataFrame:
    """All `FEATURE_NAMES` columns for an OHLCV frame (NaN during warm-up).

    - `logret_k`: ln(close / close k bars ago)
    - `volatility_24`: population std of 1-bar log returns over 24 bars
    - `volume_z_48`: z-score of ln(1 + volume) over 48 bars
    - `rsi_14`: (RSI − 50) / 50, in [−1, 1]
    - `sma_distance_n`: close / SMA(n) − 1
    - `range_position_48`: position of close in the 48-bar high/low of closes, minus 0.5
    - `atr_pct_14`: ATR(14) / close
    - `bar_position`: (close − low) / (high − low) − 0.5 (0 for a flat bar)
    """
    close = frame["close"].astype(np.float64)
    high = frame["high"].astype(np.float64)
    low = frame["low"].astype(np.float64)
    volume = frame["volume"].astype(np.float64)
    columns: dict[str, pd.Series[float]] = {}
    for lag in RETURN_LAGS:
        columns[f"logret_{lag}"] = log_return(close, lag)
    columns[f"volatility_{VOLATILITY_WINDOW}"] = rolling_std(columns["logret_1"], VOLATILITY_WINDOW)
    columns[f"volume_z_{VOLUME_WINDOW}"] = rolling_zscore(
        pd.Series(portable_math.log1p(np.asarray(volume, dtype=np.float64)), index=frame.index),
        VOLUME_WINDOW,
    )
    columns[f"rsi_{RSI_WINDOW}"] = (rsi(close, RSI_WINDOW) - 50.0) / 50.0
    for window in SMA_WINDOWS:
        columns[f"sma_distance_{window}"] = close / sma(close, window) - 1.0
    columns[f"range_position_{RANGE_WINDOW}"] = rolling_minmax(close, RANGE_WINDOW) - 0.5
    columns[f"atr_pct_{ATR_WINDOW}"] = atr(high, low, close, ATR_WINDOW) / close
    span = (high - low).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        position = np.where(span > 0, (close.to_numpy() - low.to_numpy()) / span - 0.5, 0.0)
    columns["bar_position"] = pd.Series(position, index=frame.index)
    features = pd.DataFrame(columns, index=frame.index)
    return features.loc[:, list(FEATURE_NAMES)].astype(np.float64)


def features_at(bars: RecentBars) -> dict[str, float]:
    """The newest bar's `FEATURE_NAMES` from the last bars alone (the live fast path): each
    feature by the `*_at` form of its indicator, bit for bit the last row of
    `compute_features` (NaN while the bars are too few)."""
    close, high, low = bars.close, bars.high, bars.low
    end = len(bars) - 1
    values: dict[str, float] = {}
    for lag in RETURN_LAGS:
        values[f"logret_{lag}"] = log_return_at(close, lag, end)
    first = end - VOLATILITY_WINDOW  # the oldest close the window's 1-bar returns need
    volatility = math.nan
    if first >= 0:
        returns = portable_math.log(close[first + 1 : end + 1] / close[first:end])
        volatility = std_at(returns, VOLATILITY_WINDOW, VOLATILITY_WINDOW - 1)
    values[f"volatility_{VOLATILITY_WINDOW}"] = volatility
    volume_z = math.nan
    if end + 1 >= VOLUME_WINDOW:
        volume = portable_math.log1p(bars.volume[end + 1 - VOLUME_WINDOW : end + 1])
        volume_z = zscore_at(volume, VOLUME_WINDOW, VOLUME_WINDOW - 1)
    values[f"volume_z_{VOLUME_WINDOW}"] = volume_z
    values[f"rsi_{RSI_WINDOW}"] = (rsi_at(close, RSI_WINDOW, end) - 50.0) / 50.0
    for window in SMA_WINDOWS:
        values[f"sma_distance_{window}"] = float(close[end] / sma_at(close, window, end) - 1.0)
    values[f"range_position_{RANGE_WINDOW}"] = minmax_at(close, RANGE_WINDOW, end) - 0.5
    values[f"atr_pct_{ATR_WINDOW}"] = float(atr_at(high, low, close, ATR_WINDOW, end) / close[end])
    span = high[end] - low[end]
    values["bar_position"] = float((close[end] - low[end]) / span - 0.5) if span > 0 else 0.0
    return {name: values[name] for name in FEATURE_NAMES}


def next_bar_return(frame: pd.DataFrame) -> pd.Series[float]:
    """The training target: ln(close[i + 1] / close[i]) (NaN on the last row).

    Used by training only; it looks one bar ahead by design and never reaches a strategy.
    """
    close = frame["close"].to_numpy(dtype=np.float64)
    target = np.full(len(close), np.nan)
    if len(close) > 1:
        target[:-1] = portable_math.log(close[1:] / close[:-1])
    return pd.Series(target, index=frame.index, name="next_return")
