"""Properties of validate_candles: valid OHLC always passes; one corrupted cell is always named."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.data.validation import validate_candles
from atb.domain.errors import DataError
from atb.domain.timeframes import parse_timeframe

prices = st.floats(min_value=1e-4, max_value=1e7, allow_nan=False, allow_infinity=False)
fractions = st.floats(min_value=0.0, max_value=0.5)
volumes = st.floats(min_value=0.0, max_value=1e9, allow_nan=False, allow_infinity=False)
bar = st.tuples(prices, prices, fractions, fractions, volumes)

CORRUPTIONS = (
    "nan",
    "inf",
    "zero_price",
    "negative_volume",
    "high_below",
    "low_above",
    "duplicate_time",
)


@st.composite
def candle_frames(draw: st.DrawFn, min_bars: int = 1) -> pd.DataFrame:
    rows = draw(st.lists(bar, min_size=min_bars, max_size=40))
    step = draw(st.sampled_from(["1m", "1h", "1d"]))
    offset = parse_timeframe(step).timedelta
    start = draw(st.integers(min_value=0, max_value=20_000)) * offset
    open_ = np.array([r[0] for r in rows])
    close = np.array([r[1] for r in rows])
    high = np.maximum(open_, close) * (1.0 + np.array([r[2] for r in rows]))
    low = np.minimum(open_, close) * (1.0 - np.array([r[3] for r in rows]))
    index = pd.date_range(
        pd.Timestamp("2020-01-01", tz="UTC") + start,
        periods=len(rows),
        freq=offset,
        name="time",
    ).as_unit("ns")
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": [r[4] for r in rows]},
        index=index,
    )
    frame.attrs["timeframe"] = step
    return frame


@given(candle_frames())
def test_any_frame_of_valid_bars_is_accepted_unchanged(frame: pd.DataFrame) -> None:
    candles = validate_candles(frame, source="p", timeframe=frame.attrs["timeframe"])
    assert len(candles) == len(frame)
    assert candles.gaps == ()
    np.testing.assert_array_equal(candles.frame.to_numpy(), frame.to_numpy())


@given(candle_frames(min_bars=2), st.data())
def test_one_corrupted_cell_is_rejected_naming_its_row_and_column(
    frame: pd.DataFrame, data: st.DataObject
) -> None:
    row = data.draw(st.integers(min_value=1, max_value=len(frame) - 1), label="row")
    kind = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    column = data.draw(st.sampled_from(["open", "high", "low", "close"]), label="column")
    stamp = frame.index[row]
    body_top = max(frame.iloc[row]["open"], frame.iloc[row]["close"])
    body_bottom = min(frame.iloc[row]["open"], frame.iloc[row]["close"])
    if kind == "nan":
        frame.loc[stamp, column] = np.nan
    elif kind == "inf":
        frame.loc[stamp, column] = np.inf
    elif kind == "zero_price":
        frame.loc[stamp, column] = 0.0
    elif kind == "negative_volume":
        column = "volume"
        frame.loc[stamp, column] = -1.0
    elif kind == "high_below":
        column = "high"
        frame.loc[stamp, column] = body_top * 0.9
    elif kind == "low_above":
        column = "low"
        frame.loc[stamp, column] = body_bottom * 1.1
    else:
        column = "time"
        index = frame.index.tolist()
        index[row] = index[row - 1]
        frame.index = pd.DatetimeIndex(index, name="time")
        stamp = frame.index[row]
    with pytest.raises(DataError) as caught:
        validate_candles(frame, source="p", timeframe=frame.attrs["timeframe"])
    message = str(caught.value)
    assert f"at {stamp.isoformat()}, column '{column}'" in message, message


@given(candle_frames(), st.randoms(use_true_random=False))
def test_repair_undoes_shuffling_and_duplication(
    frame: pd.DataFrame, shuffler: random.Random
) -> None:
    positions = list(range(len(frame))) + shuffler.choices(range(len(frame)), k=3)
    shuffler.shuffle(positions)
    candles = validate_candles(
        frame.iloc[positions], source="p", timeframe=frame.attrs["timeframe"], repair=True
    )
    pd.testing.assert_frame_equal(candles.frame, frame, check_freq=False)
    assert candles.repairs.duplicates_dropped == 3
