"""Timeframes parse in one place; an unknown one is a DataError naming it."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from atb.domain.errors import DataError
from atb.domain.timeframes import TIMEFRAMES, parse_timeframe, timeframe_ms


@pytest.mark.parametrize(
    ("name", "minutes"),
    [("1m", 1), ("3m", 3), ("5m", 5), ("15m", 15), ("30m", 30), ("1h", 60), ("2h", 120),
     ("4h", 240), ("6h", 360), ("8h", 480), ("12h", 720), ("1d", 1440)],
)  # fmt: skip
def test_every_supported_timeframe_converts_consistently(name: str, minutes: int) -> None:
    tf = parse_timeframe(name)
    assert tf.minutes == minutes
    assert tf.milliseconds == minutes * 60_000 == timeframe_ms(name)
    assert tf.nanoseconds == tf.milliseconds * 1_000_000
    assert tf.timedelta == timedelta(minutes=minutes)
    assert tf.timedelta == pd.Timedelta(minutes=minutes)
    assert str(tf) == name


def test_the_list_is_ordered_shortest_first() -> None:
    lengths = [parse_timeframe(name).minutes for name in TIMEFRAMES]
    assert lengths == sorted(lengths)
    assert len(TIMEFRAMES) == 12


@pytest.mark.parametrize("bad", ["2w", "1M", "60m", "", "1H", "h1"])
def test_unknown_timeframe_is_a_data_error_naming_it(bad: str) -> None:
    with pytest.raises(DataError, match="unknown timeframe") as caught:
        parse_timeframe(bad)
    assert repr(bad) in str(caught.value)
    assert "1m" in str(caught.value)
    assert "1d" in str(caught.value)


def test_whitespace_is_ignored_and_timeframes_pass_through() -> None:
    tf = parse_timeframe(" 4h ")
    assert tf.name == "4h"
    assert parse_timeframe(tf) is tf
