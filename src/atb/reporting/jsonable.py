"""JSON-safe values: UTC timestamps as ISO 8601 with `Z`, finite floats or None, plain values.

Every file `atb.reporting` writes goes through these conversions, so the same value is spelled
the same way in `result.json`, the CSV files and the report. Floats keep Python's shortest
round-trip `repr` (what `json.dumps` writes too); NaN and infinities become None (`null` in JSON,
an empty cell in CSV) because neither JSON nor most CSV readers agree on a spelling for them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""A value `json.dumps` writes without a `default` hook."""

_TimeUnit = Literal["s", "ms", "us", "ns"]
_NS_PER_UNIT: tuple[tuple[_TimeUnit, int], ...] = (
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
)


def iso_utc(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a `Z` suffix, e.g. `2024-01-01T00:00:00Z`.

    Microseconds appear only when non-zero (Python's `isoformat` rule). A naive datetime is
    rejected: its meaning would depend on the machine's time zone.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def iso_utc_ns(times_ns: npt.NDArray[np.int64]) -> list[str]:
    """Nanosecond UTC epoch times as ISO 8601 strings with `Z`.

    The precision is the coarsest unit (s, ms, us, ns) that represents every time exactly, so a
    whole-minute bar series reads `2024-01-01T00:00:00Z` and never grows trailing zeros.
    """
    times = np.asarray(times_ns, dtype=np.int64)
    unit: _TimeUnit = "ns"
    for name, size in _NS_PER_UNIT:
        if not (times % size).any():
            unit = name
            break
    stamps: npt.NDArray[np.datetime64] = times.astype("datetime64[ns]")
    strings = np.datetime_as_string(stamps, unit=unit)
    return [f"{text}Z" for text in strings.tolist()]


def finite_or_none(value: float | None) -> float | None:
    """`value` as a Python float, or None when it is None, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def csv_number(value: float | None) -> str:
    """A float for a CSV cell: shortest round-trip `repr`, or an empty cell when undefined."""
    number = finite_or_none(value)
    return "" if number is None else repr(number)


def plain(value: object) -> JsonValue:
    """Any configuration or parameter value as a JSON value.

    Mappings keep their key order (callers sort where the order is not already fixed); tuples
    and lists become lists; enums their value; datetimes ISO 8601 UTC; durations ISO 8601
    (`PT36H`); numpy scalars Python numbers; anything else its `str`.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(float(value))
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in value]
    return str(value)


def sorted_plain(mapping: Mapping[str, object]) -> dict[str, JsonValue]:
    """A mapping as JSON values with its keys sorted, for dictionaries whose insertion order
    depends on the caller (strategy parameters)."""
    return {key: plain(mapping[key]) for key in sorted(mapping)}


def iso_duration(value: timedelta) -> str:
    """A duration as ISO 8601 in hours, minutes and seconds, e.g. `PT36H`, `PT1H30M`."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    seconds = abs(total)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{int(hours)}H" if hours else "", f"{int(minutes)}M" if minutes else ""]
    if secs or not any(parts):
        parts.append(f"{secs:g}S")
    return f"{sign}PT{''.join(parts)}"
