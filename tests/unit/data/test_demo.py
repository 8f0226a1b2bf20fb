"""DEMO: deterministic, BTC-like, consistent across timeframes, and marked synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atb.data.demo import (
    DEFAULT_SEED,
    DEMO_RANGE,
    DEMO_SOURCE,
    _demo_candles,
    demo_candles,
    is_demo,
)
from atb.domain.timeframes import parse_timeframe


def test_demo_is_marked_synthetic_and_spans_the_documented_range() -> None:
    candles = demo_candles("1h")
    assert candles.synthetic
    assert candles.source == DEMO_SOURCE
    assert "SYNTHETIC" in candles.describe()
    assert candles.first == DEMO_RANGE.start
    assert candles.last == DEMO_RANGE.end - pd.Timedelta(hours=1)
    assert len(candles) == 2557 * 24  # 2019-01-01 … 2025-12-31, no gaps
    assert candles.gaps == ()


def test_the_same_seed_gives_an_identical_frame_and_another_seed_does_not() -> None:
    first = demo_candles("1d")
    again = _demo_candles.__wrapped__(parse_timeframe("1d"), DEFAULT_SEED)  # not memoised
    assert again is not first
    pd.testing.assert_frame_equal(again.frame, first.frame)
    assert again.fingerprint() == first.fingerprint()
    other = demo_candles("1d", seed=1)
    assert other.fingerprint() != first.fingerprint()


def test_demo_looks_like_a_btc_market() -> None:
    frame = demo_candles("1h").frame
    close = frame["close"]
    assert close.min() > 10_000
    assert close.max() < 90_000
    assert 20_000 < close.median() < 60_000
    returns = np.log(close).diff().dropna()
    annual_vol = returns.std() * np.sqrt(24 * 365)
    assert 0.3 < annual_vol < 1.2
    assert returns.kurt() > 3  # fat tails
    # Volatility clustering: large moves follow large moves a day later.
    assert returns.abs().autocorr(lag=24) > 0.05
    # Regimes: some quarters rise by 15 %+, others fall by 15 %+.
    quarterly = close.resample("QS").last().pct_change().dropna()
    assert (quarterly > 0.15).any()
    assert (quarterly < -0.15).any()
    assert frame["volume"].min() > 0
    assert 100 < frame["volume"].median() < 20_000


def test_every_timeframe_aggregates_the_same_minute_path() -> None:
    hourly = demo_candles("1h").frame
    daily = demo_candles("1d").frame
    rebuilt = hourly.resample("1D").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(rebuilt[column].to_numpy(), daily[column].to_numpy())
    np.testing.assert_allclose(rebuilt["volume"], daily["volume"], rtol=1e-6)
    assert parse_timeframe("1d").minutes * len(daily) == 2557 * 1440


def test_is_demo_is_case_insensitive() -> None:
    assert is_demo("demo")
    assert is_demo(" DEMO ")
    assert not is_demo("BTCUSDT")
