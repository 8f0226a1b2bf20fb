"""UTC timestamps at the data boundary: user input, epoch milliseconds, pandas timestamps.

Naive datetimes and strings without an offset are taken as UTC: market data are always UTC
here, and guessing the machine's local zone would make results depend on where they ran.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from atb.domain.errors import DataError

TimeLike = datetime | pd.Timestamp | str
"""Anything accepted where a point in time is expected."""


def utc_timestamp(value: TimeLike) -> pd.Timestamp:
    """Convert `value` to a UTC `pandas.Timestamp` (nanosecond unit); bad input is a `DataError`."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise DataError(f"not a valid date/time: {value!r}") from error
    if pd.isna(stamp):
        raise DataError(f"not a valid date/time: {value!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


def to_ms(value: TimeLike) -> int:
    """Milliseconds since the Unix epoch (Binance's unit), rounded down."""
    return int(utc_timestamp(value).value // 1_000_000)


def from_ms(milliseconds: int) -> pd.Timestamp:
    """The UTC timestamp for epoch milliseconds."""
    return pd.Timestamp(milliseconds * 1_000_000, tz="UTC")


def utc_now() -> pd.Timestamp:
    """The current wall-clock time in UTC. Only the CLI layer calls this; libraries take `now`."""
    return pd.Timestamp.now(tz="UTC").as_unit("ns")


def format_time(value: pd.Timestamp) -> str:
    """Compact, unambiguous rendering used in messages: `2023-03-24 14:00 UTC`."""
    if value.second or value.microsecond or value.nanosecond:
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.strftime("%Y-%m-%d %H:%M UTC")
