"""Half-open time ranges: union and difference, as the cache uses them."""

from __future__ import annotations

import pandas as pd
import pytest

from atb.data.ranges import TimeRange, merge_ranges, subtract_ranges
from atb.domain.errors import DataError


def r(start: str, end: str) -> TimeRange:
    return TimeRange(start, end)


def test_naive_and_offset_times_become_utc() -> None:
    span = TimeRange("2024-01-01 02:00+02:00", pd.Timestamp("2024-01-02"))
    assert span.start == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert span.end == pd.Timestamp("2024-01-02", tz="UTC")
    assert span.start_ms == 1_704_067_200_000
    assert TimeRange.from_ms(span.start_ms, span.end_ms) == span


def test_an_inverted_range_is_rejected_and_garbage_is_a_data_error() -> None:
    with pytest.raises(DataError, match="the end 2024-01-01 00:00 UTC is before the start"):
        r("2024-02-01", "2024-01-01")
    with pytest.raises(DataError, match="not a valid date"):
        r("yesterday-ish", "2024-01-01")


def test_merge_joins_overlapping_and_touching_ranges_and_drops_empty_ones() -> None:
    merged = merge_ranges(
        [r("2024-03-01", "2024-04-01"), r("2024-01-01", "2024-02-01"),
         r("2024-02-01", "2024-02-10"), r("2024-03-15", "2024-03-20"),
         r("2024-06-01", "2024-06-01")]
    )  # fmt: skip
    assert merged == (r("2024-01-01", "2024-02-10"), r("2024-03-01", "2024-04-01"))


def test_subtract_returns_the_uncovered_parts_in_order() -> None:
    have = [r("2024-01-10", "2024-01-20"), r("2024-02-01", "2024-02-05")]
    assert subtract_ranges(r("2024-01-01", "2024-03-01"), have) == (
        r("2024-01-01", "2024-01-10"),
        r("2024-01-20", "2024-02-01"),
        r("2024-02-05", "2024-03-01"),
    )
    assert subtract_ranges(r("2024-01-12", "2024-01-15"), have) == ()
    assert subtract_ranges(r("2024-01-15", "2024-01-25"), have) == (r("2024-01-20", "2024-01-25"),)
    assert subtract_ranges(r("2024-01-01", "2024-01-05"), []) == (r("2024-01-01", "2024-01-05"),)
