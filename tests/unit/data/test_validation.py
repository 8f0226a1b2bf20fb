"""validate_candles: the one gate; every rejection names source, row (time) and column."""

from __future__ import annotations

import hashlib
import re
import time

import numpy as np
import pandas as pd
import pytest

from atb.data.schema import INDEX_DTYPE, OHLCV_COLUMNS
from atb.data.validation import RowNumbers, validate_candles
from atb.domain.errors import DataError
from tests.support.candle_frames import make_candles


def test_a_valid_frame_comes_back_in_the_exact_schema() -> None:
    raw = make_candles(48)
    assert isinstance(raw.index, pd.DatetimeIndex)
    raw.index = raw.index.tz_localize(None)  # naive means UTC
    raw = raw.rename(columns=str.upper)  # names are case-insensitive
    raw["trades"] = 1  # extra columns are dropped
    candles = validate_candles(raw, source="test", timeframe="1h")
    frame = candles.frame
    assert list(frame.columns) == list(OHLCV_COLUMNS)
    assert str(frame.index.dtype) == INDEX_DTYPE
    assert frame.index.name == "time"
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert candles.gaps == ()
    assert not candles.repairs.any
    assert candles.source == "test"
    assert candles.timeframe is not None
    assert candles.timeframe.name == "1h"
    assert len(candles) == 48


def test_other_time_zones_are_converted_to_utc() -> None:
    raw = make_candles(3)
    assert isinstance(raw.index, pd.DatetimeIndex)
    raw.index = raw.index.tz_convert("Asia/Tokyo")
    frame = validate_candles(raw, source="test", timeframe="1h").frame
    assert frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_numeric_text_is_accepted_and_garbage_named() -> None:
    raw = make_candles(3).astype({"open": str})
    assert validate_candles(raw, source="s", timeframe=None).frame["open"].dtype == np.float64
    raw.iloc[1, 0] = "12x"
    with pytest.raises(DataError, match=r"s: bar at 2024-01-01T01:00:00\+00:00, column 'open': "):
        validate_candles(raw, source="s", timeframe=None)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("open", np.nan, "not a finite number"),
        ("close", np.inf, "not a finite number"),
        ("volume", -np.inf, "not a finite number"),
        ("low", 0.0, "prices must be > 0"),
        ("open", -5.0, "prices must be > 0"),
        ("volume", -1.0, "volume must be >= 0"),
        ("high", 1.0, "is below max\\(open, close\\)"),
        ("low", 10**9, "is above min\\(open, close\\)"),
    ],
)
def test_each_bad_value_is_named_with_row_and_column(
    column: str, value: float, problem: str
) -> None:
    raw = make_candles(10)
    raw.loc[raw.index[6], column] = value
    with pytest.raises(DataError) as caught:
        validate_candles(raw, source="feed X", timeframe="1h")
    message = str(caught.value)
    assert message.startswith("feed X: bar at 2024-01-01T06:00:00+00:00, ")
    assert f"column '{column}'" in message
    assert re.search(problem, message), message


def test_high_below_low_is_reported_on_that_row() -> None:
    raw = make_candles(10)
    row = raw.index[4]
    raw.loc[row, "high"] = raw.loc[row, "low"] - 1.0
    with pytest.raises(DataError, match=r"2024-01-01T04:00:00\+00:00, column 'high'"):
        validate_candles(raw, source="s", timeframe="1h")


def test_the_first_bad_row_is_named_and_the_total_counted() -> None:
    raw = make_candles(10)
    raw.loc[raw.index[7], "open"] = np.nan
    raw.loc[raw.index[3], "volume"] = -1.0
    with pytest.raises(DataError, match=r"T03:00:00.*'volume'.*\(2 bad rows in total\)"):
        validate_candles(raw, source="s", timeframe="1h")


def test_file_rows_are_named_with_row_and_line_numbers() -> None:
    raw = make_candles(10)
    raw.loc[raw.index[2], "close"] = np.nan
    rows = RowNumbers.sequential(10, line_offset=1)
    with pytest.raises(DataError, match=r"^f.csv: row 3 \(line 4\) at 2024-01-01T02:00:00"):
        validate_candles(raw, source="f.csv", timeframe="1h", rows=rows)


def test_duplicate_and_unsorted_timestamps_are_rejected() -> None:
    raw = make_candles(10)
    duplicated = pd.concat([raw.iloc[:5], raw.iloc[4:5], raw.iloc[5:]])
    with pytest.raises(DataError, match=r"T04:00:00.*column 'time': duplicate timestamp"):
        validate_candles(duplicated, source="s", timeframe="1h")
    shuffled = raw.iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(DataError, match=r"T02:00:00.*earlier than the previous row"):
        validate_candles(shuffled, source="s", timeframe="1h", time_column="timestamp")
    far_duplicate = raw.iloc[[0, 1, 2, 1]]
    with pytest.raises(DataError, match=r"T01:00:00.*appears on an earlier row"):
        validate_candles(far_duplicate, source="s", timeframe=None)


def test_repair_sorts_and_drops_exact_duplicates_and_reports_it() -> None:
    raw = make_candles(10)
    messy = pd.concat([raw.iloc[5:], raw.iloc[:5], raw.iloc[[2, 7]]])
    candles = validate_candles(messy, source="s", timeframe="1h", repair=True)
    pd.testing.assert_frame_equal(candles.frame, raw, check_freq=False)
    assert candles.repairs.duplicates_dropped == 2
    assert candles.repairs.reordered
    assert candles.repairs.describe() == "dropped 2 exact duplicate rows; sorted rows by time"


def test_repair_refuses_conflicting_duplicates() -> None:
    raw = make_candles(5)
    twin = raw.iloc[[3]].copy()
    twin["close"] += 1.0
    twin["high"] += 1.0
    with pytest.raises(DataError, match=r"T03:00:00.*conflicting duplicate"):
        validate_candles(pd.concat([raw, twin]), source="s", timeframe="1h", repair=True)


def test_bars_off_the_timeframe_grid_are_rejected() -> None:
    raw = make_candles(5, start="2024-01-01 00:30")
    with pytest.raises(DataError, match=r"not on a 1h bar boundary"):
        validate_candles(raw, source="s", timeframe="1h")
    assert len(validate_candles(raw, source="s", timeframe="30m")) == 5


def test_gaps_are_reported_and_never_filled() -> None:
    raw = make_candles(24).drop(index=make_candles(24).index[[5, 6, 7, 20]])
    candles = validate_candles(raw, source="s", timeframe="1h")
    assert len(candles) == 20
    assert [(g.start.hour, g.end.hour, g.missing_bars) for g in candles.gaps] == [
        (5, 8, 3),
        (20, 21, 1),
    ]
    assert candles.missing_bars == 4
    assert "2 gaps (4 bars missing)" in candles.describe()
    assert candles.gaps[0].describe() == "2024-01-01 05:00 UTC → 2024-01-01 08:00 UTC (3 bars)"


def test_schema_problems_are_named() -> None:
    raw = make_candles(3)
    with pytest.raises(DataError, match="missing column\\(s\\) volume"):
        validate_candles(raw.drop(columns=["volume"]), source="s", timeframe=None)
    with pytest.raises(DataError, match="timestamps as the index"):
        validate_candles(raw.reset_index(drop=True), source="s", timeframe=None)
    with_nat = raw.copy()
    with_nat.index = pd.DatetimeIndex([with_nat.index[0], pd.NaT, with_nat.index[2]])
    with pytest.raises(DataError, match="row 2: missing timestamp"):
        validate_candles(with_nat, source="s", timeframe=None)


def test_an_empty_frame_is_valid_and_empty() -> None:
    candles = validate_candles(make_candles(0), source="s", timeframe="1h")
    assert len(candles) == 0
    assert candles.first is None
    assert "no bars" in candles.describe()


def test_select_slices_with_warmup_and_recomputes_gaps() -> None:
    raw = make_candles(48).drop(index=make_candles(48).index[[2, 30]])
    candles = validate_candles(raw, source="s", timeframe="1h")
    window = candles.select("2024-01-01 10:00", "2024-01-02 00:00", warmup=5)
    assert window.warmup_bars == 5
    assert window.first == pd.Timestamp("2024-01-01 05:00", tz="UTC")
    assert window.last == pd.Timestamp("2024-01-01 23:00", tz="UTC")
    assert window.gaps == ()
    early = candles.select("2024-01-01 01:00", None, warmup=10)
    assert early.warmup_bars == 1  # only one bar exists before the start
    assert len(early.gaps) == 2


def test_fingerprint_is_stable_and_sensitive() -> None:
    a = validate_candles(make_candles(20), source="a", timeframe="1h")
    b = validate_candles(make_candles(20), source="b", timeframe="1h")
    assert a.fingerprint() == b.fingerprint()
    changed = make_candles(20)
    changed.loc[changed.index[3], "volume"] += 0.5
    assert validate_candles(changed, source="c", timeframe="1h").fingerprint() != a.fingerprint()


def test_fingerprint_is_the_sha256_of_the_times_then_the_rows_in_order() -> None:
    # Spelled out, so the digest of every earlier result stays what it was: more rows than one
    # hashing block, a frame stored column by column.
    raw = make_candles(70_000, timeframe="1m")
    candles = validate_candles(raw, source="a", timeframe="1m")
    expected = hashlib.sha256()
    expected.update(pd.DatetimeIndex(raw.index).as_unit("ns").asi8.tobytes())
    expected.update(np.ascontiguousarray(raw[list(OHLCV_COLUMNS)].to_numpy(np.float64)).tobytes())
    assert candles.fingerprint() == expected.hexdigest()


def test_a_million_rows_validate_quickly() -> None:
    bars = 1_000_000
    raw = make_candles(bars, timeframe="1m")
    started = time.perf_counter()
    candles = validate_candles(raw, source="big", timeframe="1m")
    elapsed = time.perf_counter() - started
    assert len(candles) == bars
    assert elapsed < 3.0, f"validation of 1e6 rows took {elapsed:.2f} s"
    raw.loc[raw.index[654_321], "low"] = np.nan
    with pytest.raises(DataError, match="column 'low'"):
        validate_candles(raw, source="big", timeframe="1m")
