"""`DEMO`: a built-in synthetic market, so the first commands run offline.

It is clearly marked synthetic (`ValidatedCandles.synthetic`, source `synthetic DEMO market`)
and is only ever used when the user asks for the symbol `DEMO`; it never stands in for a real
one. It looks like BTC, roughly: a price level between about 15k and 75k, fat-tailed returns,
volatility clustering, intraday and weekly seasonality, multi-month bull and bear regimes and a
volume that rises with volatility. It is a toy for trying the tools, not a research dataset.

Construction (vectorised numpy; same seed → bit-identical frame):

1. A one-minute path over 2019-01-01 → 2025-12-31 (UTC) is generated once per call:
   log-volatility is a sum of moving averages of white noise over a day, a week and a month
   (persistent, so calm and wild periods cluster); returns are Student-t(4) scaled by it.
2. The cumulative returns are high-passed (minus their centred 30-day mean) so the level cannot
   wander off, then added to a regime path: piecewise-linear log-price between random anchors
   60-240 days apart (bull and bear trends).
3. Every timeframe aggregates the same one-minute path, so `DEMO` 1m, 1h and 1d agree with each
   other (open of the first minute, extremes, close of the last, summed volume).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from atb.data.candles import ValidatedCandles
from atb.data.ranges import TimeRange
from atb.data.schema import INDEX_NAME, OHLCV_COLUMNS
from atb.data.validation import validate_candles
from atb.domain.timeframes import Timeframe, parse_timeframe

DEMO_SYMBOL = "DEMO"
"""The symbol that selects the synthetic market."""

DEMO_SOURCE = "synthetic DEMO market"
"""Source name carried by every DEMO frame (outputs show it)."""

DEMO_RANGE = TimeRange("2019-01-01", "2026-01-01")
"""The span of the DEMO market: bars opening from 2019-01-01 up to 2025-12-31 (UTC)."""

DEFAULT_SEED = 20190101
"""Seed of the standard DEMO market."""

_MINUTES_PER_DAY = 1440
_ANNUAL_VOLATILITY = 0.6
_MINUTE_VOLATILITY = _ANNUAL_VOLATILITY / np.sqrt(365.0 * _MINUTES_PER_DAY)
_BASE_VOLUME_PER_MINUTE = 40.0  # base units (like BTC), at average volatility
_LOW_PRICE, _HIGH_PRICE = 20_000.0, 60_000.0  # where the regime anchors live


def is_demo(symbol: str) -> bool:
    """Whether `symbol` selects the synthetic market (case-insensitive)."""
    return symbol.strip().upper() == DEMO_SYMBOL


def demo_candles(timeframe: str | Timeframe, *, seed: int = DEFAULT_SEED) -> ValidatedCandles:
    """The whole DEMO series for `timeframe`, validated and marked synthetic.

    Results are memoised per (timeframe, seed); slice with `ValidatedCandles.select`, which
    returns a new frame, so the memoised one is never modified.
    """
    return _demo_candles(parse_timeframe(timeframe), seed)


@functools.lru_cache(maxsize=4)
def _demo_candles(tf: Timeframe, seed: int) -> ValidatedCandles:
    minutes = _minute_path(seed)
    frame = _aggregate(minutes, tf)
    return validate_candles(frame, source=DEMO_SOURCE, timeframe=tf, synthetic=True)


def _minute_path(seed: int) -> dict[str, NDArray[np.float64]]:
    """One-minute open/high/low/close/volume arrays over `DEMO_RANGE`."""
    rng = np.random.default_rng(seed)
    total = int((DEMO_RANGE.end - DEMO_RANGE.start) / pd.Timedelta(minutes=1))
    hours = total // 60

    # Volatility clustering: persistent log-volatility, per hour, from three time scales.
    log_vol = (
        0.5 * _standardised(_trailing_mean(rng.standard_normal(hours), 24))
        + 0.6 * _standardised(_trailing_mean(rng.standard_normal(hours), 24 * 7))
        + 0.5 * _standardised(_trailing_mean(rng.standard_normal(hours), 24 * 30))
    )
    hourly = np.exp(0.45 * _standardised(log_vol))
    hourly /= hourly.mean()
    # Seasonality: busier around the US open, quieter at weekends (2019-01-01 is a Tuesday).
    hour_of_day = np.arange(hours) % 24
    weekday = (np.arange(hours) // 24 + 1) % 7
    seasonal = (1.0 + 0.4 * np.exp(-(((hour_of_day - 15) / 3.0) ** 2))) * np.where(
        weekday >= 5, 0.75, 1.0
    )
    sigma = np.repeat(hourly * seasonal, 60) * _MINUTE_VOLATILITY
    del log_vol, hour_of_day, weekday

    shocks = rng.standard_t(4, total) / np.sqrt(2.0)  # unit variance, fat tails
    walk = np.cumsum(sigma * shocks)
    # High-pass: the walk minus its centred 30-day mean stays near zero over months.
    deviation = walk - _centred_mean(walk, 30 * _MINUTES_PER_DAY)
    del walk
    log_close = _regimes(rng, total) + deviation
    del deviation
    close = np.exp(log_close)
    del log_close

    first_open = close[0] * np.exp(-sigma[0] * rng.standard_normal())
    open_ = np.concatenate(([first_open], close[:-1]))
    # Wicks and volume noise come from uniforms: cheap to draw, and their shape matters little.
    wick = 0.8 * sigma
    high = np.maximum(open_, close) * np.exp(wick * rng.random(total))
    low = np.minimum(open_, close) * np.exp(-wick * rng.random(total))
    activity = (0.5 + 0.7 * np.abs(shocks)) * np.exp(rng.uniform(-0.7, 0.7, total))
    volume = (
        _BASE_VOLUME_PER_MINUTE
        * (sigma / _MINUTE_VOLATILITY)
        * activity
        * np.sqrt(30_000.0 / close)  # fewer coins change hands when each costs more
    )
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def _regimes(rng: np.random.Generator, total: int) -> NDArray[np.float64]:
    """Piecewise-linear log-price between anchors 60-240 days apart (trends and regimes)."""
    anchors_at = [0]
    while anchors_at[-1] < total:
        anchors_at.append(anchors_at[-1] + int(rng.uniform(60, 240) * _MINUTES_PER_DAY))
    low, high = np.log(_LOW_PRICE), np.log(_HIGH_PRICE)
    levels = [np.log(22_000.0)]
    for _ in anchors_at[1:]:
        step = rng.normal(0.0, 0.45)
        # Reflect at the band's edges rather than clip, so the path never sticks to a wall.
        level = levels[-1] + step
        level = 2 * high - level if level > high else level
        level = 2 * low - level if level < low else level
        levels.append(level)
    return np.interp(np.arange(total, dtype=np.float64), anchors_at, levels)


def _aggregate(minutes: dict[str, NDArray[np.float64]], tf: Timeframe) -> pd.DataFrame:
    """Bars of `tf` from the one-minute arrays; prices to the cent, volume to 1e-5."""
    width = tf.minutes
    bars = len(minutes["close"]) // width
    used = bars * width

    def blocks(name: str) -> NDArray[np.float64]:
        return minutes[name][:used].reshape(bars, width)

    columns = {
        "open": blocks("open")[:, 0],
        "high": blocks("high").max(axis=1),
        "low": blocks("low").min(axis=1),
        "close": blocks("close")[:, -1],
        "volume": blocks("volume").sum(axis=1),
    }
    # Rounding is monotone, so high >= max(open, close) and low <= min(open, close) survive it.
    rounded = {name: np.round(values, 2) for name, values in columns.items()}
    rounded["volume"] = np.round(columns["volume"], 5)
    index = pd.date_range(DEMO_RANGE.start, periods=bars, freq=tf.timedelta, name=INDEX_NAME)
    return pd.DataFrame({name: rounded[name] for name in OHLCV_COLUMNS}, index=index)


def _trailing_mean(values: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Mean of the last `window` values (fewer at the start), via one cumulative sum."""
    sums = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _centred_mean(values: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Mean over `window` values centred on each point (truncated at the ends)."""
    size, half = len(values), window // 2
    sums = np.concatenate(([0.0], np.cumsum(values)))
    # Window of point i is [i - half, i + half + 1) clipped to [0, size); slices, not index
    # arrays, keep the memory to one extra copy of the series.
    means = np.empty(size)
    lo, hi = min(half, size), max(size - half - 1, min(half, size))
    interior = sums[lo + half + 1 : hi + half + 1] - sums[lo - half : hi - half]
    means[lo:hi] = interior / (2 * half + 1)
    edges = np.concatenate((np.arange(lo), np.arange(hi, size)))
    starts, stops = np.maximum(0, edges - half), np.minimum(size, edges + half + 1)
    means[edges] = (sums[stops] - sums[starts]) / (stops - starts)
    return means


def _standardised(values: NDArray[np.float64]) -> NDArray[np.float64]:
    centred: NDArray[np.float64] = (values - values.mean()) / values.std()
    return centred
