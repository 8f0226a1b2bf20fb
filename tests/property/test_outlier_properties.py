"""Properties of the suspicious-print rule on random valid series, with and without bad prints."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from atb.data.candles import ValidatedCandles
from atb.data.outliers import MIN_RANGE, K, find_suspicious_bars
from atb.data.schema import INDEX_NAME
from atb.data.validation import validate_candles
from tests.support.candle_frames import scaled


@st.composite
def series(draw: st.DrawFn) -> pd.DataFrame:
    """A valid hourly random walk (moves up to 1 % a bar, wicks up to 1 %), 5-60 bars."""
    bars = draw(st.integers(min_value=5, max_value=60))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.uniform(-0.01, 0.01, bars)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, bars))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, bars))
    index = pd.date_range("2024-01-01", periods=bars, freq="1h", tz="UTC", name=INDEX_NAME)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=index
    )


@st.composite
def quiet(draw: st.DrawFn) -> pd.DataFrame:
    """A ranging market, 5-60 bars: bodies inside [99, 101], every bar trading 99 and 101.

    Every bar's body is then inside its neighbours' range, so a bad print there always reverts.
    """
    bars = draw(st.integers(min_value=5, max_value=60))
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    open_, close = rng.uniform(99, 101, bars), rng.uniform(99, 101, bars)
    low, high = rng.uniform(98, 99, bars), rng.uniform(101, 102, bars)
    index = pd.date_range("2024-01-01", periods=bars, freq="1h", tz="UTC", name=INDEX_NAME)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=index
    )


@st.composite
def spiked(draw: st.DrawFn) -> tuple[pd.DataFrame, int, str]:
    """A series with one bad print (a low at most 1/100 of the price, or a high 100× or more)."""
    frame = draw(st.one_of(series(), quiet()))
    row = draw(st.integers(min_value=0, max_value=len(frame) - 1))
    column = draw(st.sampled_from(["low", "high"]))
    factor = draw(st.floats(min_value=100.0, max_value=1e6))
    return scaled(frame, row, column, 1 / factor if column == "low" else factor), row, column


def candles(frame: pd.DataFrame) -> ValidatedCandles:
    return validate_candles(frame, source="property", timeframe="1h")


@given(series())
def test_every_flag_is_a_far_wick_whose_body_is_back_near_the_neighbours(
    frame: pd.DataFrame,
) -> None:
    for bar in find_suspicious_bars(frame):
        low, high = math.log(bar.neighbours_low), math.log(bar.neighbours_high)
        scale = max(high - low, MIN_RANGE)
        for price in (bar.open, bar.close):
            assert low - scale - 1e-12 <= math.log(price) <= high + scale + 1e-12
        reach = low - math.log(bar.value) if bar.column == "low" else math.log(bar.value) - high
        assert reach > K * scale
        assert frame.loc[bar.time, bar.column] == bar.value


@given(quiet(), st.data())
def test_a_bad_print_in_a_ranging_market_is_always_flagged(
    frame: pd.DataFrame, data: st.DataObject
) -> None:
    row = data.draw(st.integers(min_value=0, max_value=len(frame) - 1))
    column = data.draw(st.sampled_from(["low", "high"]))
    factor = data.draw(st.floats(min_value=100.0, max_value=1e6))
    frame = scaled(frame, row, column, 1 / factor if column == "low" else factor)
    flagged = {(bar.time, bar.column) for bar in find_suspicious_bars(frame)}
    assert (frame.index[row], column) in flagged


@given(spiked())
def test_dropping_the_flagged_bars_leaves_valid_candles_and_reports_the_gaps(
    case: tuple[pd.DataFrame, int, str],
) -> None:
    frame, _, _ = case
    screened = candles(frame)
    screened = ValidatedCandles(
        frame=screened.frame,
        source=screened.source,
        timeframe=screened.timeframe,
        suspicious=find_suspicious_bars(screened.frame),
    )
    dropped = screened.drop_suspicious()
    times = {bar.time for bar in screened.suspicious}
    assert len(dropped) == len(frame) - len(times)
    assert not dropped.index.isin(list(times)).any()
    again = validate_candles(dropped.frame, source="again", timeframe="1h")
    assert again.fingerprint() == dropped.fingerprint()
    inner = [t for t in times if frame.index[0] < t < frame.index[-1]]
    assert dropped.missing_bars == len(inner)
    assert dropped.dropped == screened.suspicious


@given(quiet(), st.data())
def test_a_flagged_bar_s_range_is_its_neighbours_second_extremes(
    frame: pd.DataFrame, data: st.DataObject
) -> None:
    # Two bad prints, possibly neighbours of each other or in one bar: the reported `L` and `H`
    # are, exactly, the second-lowest low and second-highest high of the up to ten neighbours.
    for _ in range(2):
        row = data.draw(st.integers(min_value=0, max_value=len(frame) - 1))
        column = data.draw(st.sampled_from(["low", "high"]))
        frame = scaled(frame, row, column, 1e-3 if column == "low" else 1e3)
    lows, highs = frame["low"].to_numpy(), frame["high"].to_numpy()
    flagged = find_suspicious_bars(frame)
    assert flagged
    for bar in flagged:
        at = int(np.flatnonzero(frame.index == bar.time)[0])
        around = [i for i in range(at - 5, at + 6) if i != at and 0 <= i < len(frame)]
        assert bar.neighbours_low == sorted(lows[i] for i in around)[1]
        assert bar.neighbours_high == sorted(highs[i] for i in around)[-2]
