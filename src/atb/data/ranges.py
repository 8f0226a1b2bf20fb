"""Half-open time ranges `[start, end)` and the set arithmetic the cache needs.

Ranges are over bar *open* times: `[start, end)` holds every bar that opens at or after
`start` and before `end`.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import pandas as pd

from atb.data.times import format_time, from_ms, to_ms, utc_timestamp
from atb.domain.errors import DataError


@attrs.frozen(slots=True, order=True)
class TimeRange:
    """`[start, end)` in UTC; `start <= end`. Accepts anything `utc_timestamp` does."""

    start: pd.Timestamp = attrs.field(converter=utc_timestamp)
    end: pd.Timestamp = attrs.field(converter=utc_timestamp)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise DataError(
                f"the end {format_time(self.end)} is before the start {format_time(self.start)}"
            )

    @classmethod
    def from_ms(cls, start_ms: int, end_ms: int) -> TimeRange:
        """Build from epoch milliseconds."""
        return cls(from_ms(start_ms), from_ms(end_ms))

    @property
    def start_ms(self) -> int:
        """`start` in epoch milliseconds."""
        return to_ms(self.start)

    @property
    def end_ms(self) -> int:
        """`end` in epoch milliseconds."""
        return to_ms(self.end)

    @property
    def empty(self) -> bool:
        """True when the range holds no time at all."""
        return self.start == self.end

    def describe(self) -> str:
        """`2023-01-01 00:00 UTC → 2024-01-01 00:00 UTC`."""
        return f"{format_time(self.start)} → {format_time(self.end)}"


def merge_ranges(ranges: Iterable[TimeRange]) -> tuple[TimeRange, ...]:
    """Sorted union: overlapping or touching ranges become one; empty ranges vanish."""
    merged: list[TimeRange] = []
    for current in sorted(r for r in ranges if not r.empty):
        if merged and current.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = TimeRange(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return tuple(merged)


def subtract_ranges(wanted: TimeRange, have: Iterable[TimeRange]) -> tuple[TimeRange, ...]:
    """The parts of `wanted` not covered by any range in `have`, in order."""
    missing: list[TimeRange] = []
    cursor = wanted.start
    for covered in merge_ranges(have):
        if covered.end <= cursor:
            continue
        if covered.start >= wanted.end:
            break
        if covered.start > cursor:
            missing.append(TimeRange(cursor, covered.start))
        cursor = max(cursor, covered.end)
        if cursor >= wanted.end:
            break
    if cursor < wanted.end:
        missing.append(TimeRange(cursor, wanted.end))
    return tuple(missing)
