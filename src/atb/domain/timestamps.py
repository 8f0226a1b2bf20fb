"""Datetimes ↔ integer nanoseconds since the epoch, exactly (UTC).

Bar times live as int64 nanoseconds in arrays and as aware datetimes in objects; every
conversion goes through here, in integer arithmetic. (`total_seconds() * 1e9` goes through a
float and can be off by a few hundred nanoseconds on today's dates.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Zero nanoseconds."""

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MICROSECOND = 1_000


def duration_ns(span: timedelta) -> int:
    """A duration in nanoseconds (datetimes and timedeltas hold whole microseconds)."""
    return (span.days * 86_400 + span.seconds) * _NS_PER_SECOND + span.microseconds * 1_000


def to_ns(moment: datetime) -> int:
    """An aware datetime as nanoseconds since the epoch."""
    return duration_ns(moment - EPOCH)


def from_ns(nanoseconds: int) -> datetime:
    """Nanoseconds since the epoch as an aware UTC datetime (sub-microsecond parts dropped:
    a datetime cannot hold them)."""
    # Positional (days, seconds, microseconds): a keyword timedelta costs half again as much,
    # and a backtest builds one datetime per stepped bar.
    return EPOCH + timedelta(0, 0, nanoseconds // _NS_PER_MICROSECOND)
