"""The suspicious-print rule (atb.data.outliers) on synthetic frames and on the real samples."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from atb.data.files import read_candles_file
from atb.data.outliers import (
    MIN_RANGE,
    K,
    SuspiciousBar,
    describe_suspicious,
    find_suspicious_bars,
)
from atb.data.validation import validate_candles
from tests.conftest import SAMPLE_CSV
from tests.support.candle_frames import make_candles, with_bar

PORTFOLIO = SAMPLE_CSV.parent / "portfolio"
REAL_FILES = [SAMPLE_CSV, *sorted(PORTFOLIO.glob("*.csv"))] if PORTFOLIO.is_dir() else []


def flat_frame(bars: int = 21, *, price: float = 1_174.0, spread: float = 8.0) -> pd.DataFrame:
    """Quiet bars around `price`: open and close `price ± 2`, high/low `spread / 2` out."""
    frame = make_candles(bars)
    frame["open"] = price - 2.0
    frame["close"] = price + 2.0
    frame["high"] = price + spread / 2
    frame["low"] = price - spread / 2
    return frame


def test_a_low_far_below_the_neighbours_that_reverts_is_flagged() -> None:
    frame = with_bar(flat_frame(), 10, open=1_170.0, close=1_178.0, high=1_179.0, low=0.06)
    (bar,) = find_suspicious_bars(frame)
    assert bar.time == frame.index[10]
    assert (bar.column, bar.value, bar.open, bar.close) == ("low", 0.06, 1_170.0, 1_178.0)
    assert (bar.neighbours_low, bar.neighbours_high) == (1_170.0, 1_178.0)
    assert bar.ranges == pytest.approx(math.log(1_170.0 / 0.06) / math.log(1_178.0 / 1_170.0))
    assert bar.describe() == (
        f"{frame.index[10]:%Y-%m-%d %H:%M} UTC low 0.06 (open 1170, close 1178; neighbours' "
        "range 1170 – 1178, 1450× that range below it)"
    )


def test_a_high_far_above_that_reverts_is_flagged() -> None:
    frame = with_bar(flat_frame(), 4, high=11_780.0)
    (bar,) = find_suspicious_bars(frame)
    assert (bar.time, bar.column, bar.value) == (frame.index[4], "high", 11_780.0)


def test_a_real_move_that_does_not_revert_is_not_flagged() -> None:
    # A crash bar: the close stays down at the low, and the market carries on from there.
    frame = flat_frame()
    frame.iloc[10:, :4] = frame.iloc[10:, :4] * 0.5
    frame = with_bar(frame, 10, open=1_172.0, high=1_178.0)
    assert validate_candles(frame, source="t", timeframe="1h").frame.shape == frame.shape
    assert find_suspicious_bars(frame) == ()


def test_a_steep_trend_with_long_wicks_is_not_flagged() -> None:
    # Each bar 3 % higher than the last, with wicks of 2 % either side: big, but ordinary.
    frame = make_candles(60)
    price = 100.0 * 1.03 ** pd.Series(range(60), dtype="float64").to_numpy()
    frame["open"], frame["close"] = price, price * 1.03
    frame["low"], frame["high"] = price * 0.98, price * 1.03 * 1.02
    assert find_suspicious_bars(frame) == ()


@pytest.mark.parametrize("row", [0, 20])
def test_the_first_and_last_bars_are_judged_on_one_side(row: int) -> None:
    frame = with_bar(flat_frame(), row, low=0.06)
    assert [(bar.time, bar.column) for bar in find_suspicious_bars(frame)] == [
        (frame.index[row], "low")
    ]


def test_a_series_too_short_to_have_four_neighbours_is_not_judged() -> None:
    assert find_suspicious_bars(with_bar(flat_frame(4), 1, low=0.06)) == ()
    assert len(find_suspicious_bars(with_bar(flat_frame(5), 2, low=0.06))) == 1


def test_two_bad_prints_side_by_side_do_not_hide_each_other() -> None:
    frame = with_bar(with_bar(flat_frame(), 9, low=0.06), 10, low=0.07)
    flagged = find_suspicious_bars(frame)
    assert [(bar.time, bar.value) for bar in flagged] == [
        (frame.index[9], 0.06),
        (frame.index[10], 0.07),
    ]


def test_flat_neighbours_do_not_make_a_small_wick_suspicious() -> None:
    # Ten bars that never moved: any wick is infinitely many "ranges" out, so the range has a
    # floor of MIN_RANGE (in log price) and a wick must reach K of those.
    frame = flat_frame(spread=0.0)
    frame["open"] = frame["close"] = frame["high"] = frame["low"] = 100.0
    small = 100.0 * math.exp(-0.9 * K * MIN_RANGE)
    large = 100.0 * math.exp(-1.1 * K * MIN_RANGE)
    assert find_suspicious_bars(with_bar(frame, 10, low=small)) == ()
    assert len(find_suspicious_bars(with_bar(frame, 10, low=large))) == 1


def test_rows_outside_first_stop_are_context_only() -> None:
    frame = with_bar(with_bar(flat_frame(40), 5, low=0.06), 30, high=99_999.0)
    whole = find_suspicious_bars(frame)
    assert [bar.time for bar in find_suspicious_bars(frame, first=10, stop=40)] == [frame.index[30]]
    assert find_suspicious_bars(frame, first=3, stop=8) == whole[:1]
    assert find_suspicious_bars(frame, first=8, stop=8) == ()


def test_the_listing_is_capped() -> None:
    bar = SuspiciousBar(pd.Timestamp("2024-01-01", tz="UTC"), "low", 0.06, 1.0, 1.0, 1.0, 1.0, 9.0)
    lines = describe_suspicious((bar,) * 13, limit=10)
    assert len(lines) == 11
    assert lines[-1] == "… and 3 more"
    assert describe_suspicious((bar,) * 3, limit=10) == [bar.describe()] * 3


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_the_real_samples_have_no_suspicious_bars(path: Path) -> None:
    # K was chosen on these files: the most extreme real wick that reverts reaches 4.6 ranges
    # (ETHBTC 5m, 2018-01-20 21:25), safely below K = 6.
    candles = read_candles_file(path)
    assert find_suspicious_bars(candles.frame) == ()


def test_a_bad_print_injected_into_the_real_sample_is_the_only_bar_flagged(
    sample_csv: Path,
) -> None:
    frame = read_candles_file(sample_csv).frame
    row = 9_000
    frame = with_bar(frame, row, low=0.06)
    flagged = find_suspicious_bars(frame)
    assert [(bar.time, bar.column, bar.value) for bar in flagged] == [
        (frame.index[row], "low", 0.06)
    ]
    assert flagged[0].ranges > 10 * K
