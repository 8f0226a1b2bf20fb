"""Candle timeframes: the one place where `1m … 1d` are parsed and converted.

Every other module asks this one for a bar's length (milliseconds, nanoseconds, `timedelta`),
so a timeframe string never gets interpreted twice in two slightly different ways.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from atb.domain.errors import DataError

_MINUTE_MS = 60_000

# Binance interval names (also ours), in increasing length. Weekly and monthly bars are left out
# on purpose: their boundaries are not fixed multiples of the Unix epoch.
_MINUTES: dict[str, int] = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}

TIMEFRAMES: tuple[str, ...] = tuple(_MINUTES)
"""Every supported timeframe name, shortest first."""


@attrs.frozen(slots=True)
class Timeframe:
    """A fixed bar length. Bars open on multiples of it counted from the Unix epoch (UTC)."""

    name: str
    minutes: int

    @property
    def milliseconds(self) -> int:
        """Bar length in milliseconds (Binance's unit)."""
        return self.minutes * _MINUTE_MS

    @property
    def nanoseconds(self) -> int:
        """Bar length in nanoseconds (pandas' `datetime64[ns]` unit)."""
        return self.milliseconds * 1_000_000

    @property
    def timedelta(self) -> timedelta:
        """Bar length as a `datetime.timedelta`."""
        return timedelta(minutes=self.minutes)

    def __str__(self) -> str:
        return self.name


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Return the `Timeframe` for a name such as `"1h"`; an unknown name is a `DataError`."""
    if isinstance(value, Timeframe):
        return value
    name = value.strip()
    minutes = _MINUTES.get(name)
    if minutes is None:
        raise DataError(f"unknown timeframe {value!r}; expected one of: {', '.join(TIMEFRAMES)}")
    return Timeframe(name=name, minutes=minutes)


def timeframe_ms(value: str | Timeframe) -> int:
    """Bar length of a timeframe, in milliseconds."""
    return parse_timeframe(value).milliseconds
