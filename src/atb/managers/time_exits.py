"""`TimeExitManager`: exits decided by bar time (never the wall clock).

A bar closes at `bar.time + bar_interval`; that close time is what the rules look at.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from atb.domain.bars import Bar
from atb.domain.policies import TimeExitPolicy
from atb.domain.protocols import PositionState

SATURDAY = 5


def _last_cutoff(close_time: datetime, hour: int) -> datetime:
    cutoff = close_time.replace(hour=hour, minute=0, second=0, microsecond=0)
    return cutoff if cutoff <= close_time else cutoff - timedelta(days=1)


def _next_saturday(moment: datetime) -> datetime:
    """Saturday 00:00 UTC after `moment` (a weekday)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=SATURDAY - moment.weekday())


def in_weekend(close_time: datetime) -> bool:
    """True when a bar closing at `close_time` closes on Saturday or Sunday (UTC)."""
    return close_time.weekday() >= SATURDAY


@attrs.frozen(slots=True)
class TimeExitManager:
    """Evaluates time-exit rules for bars of one length."""

    bar_interval: timedelta

    def exit_reason(self, position: PositionState, bar: Bar, policy: TimeExitPolicy) -> str | None:
        """Why the position must be closed at this bar's close, or None.

        - max holding: close time − entry time ≥ `max_holding`;
        - weekend flat: the bar closes in the weekend (Saturday 00:00 to Monday 00:00 UTC), so
          the position is closed at the next fill point (the first weekend open, or this close);
        - daily flat: a daily cutoff at `daily_flat_hour` passed since the entry.
        """
        close_time = bar.time + self.bar_interval
        if policy.max_holding is not None and close_time - position.entry_time >= (
            policy.max_holding
        ):
            return "max holding time"
        if policy.weekend_flat and in_weekend(close_time):
            return "weekend flat"
        hour = policy.daily_flat_hour
        if hour is not None and position.entry_time < _last_cutoff(close_time, hour):
            return "daily flat"
        return None

    def deadline(self, position: PositionState, policy: TimeExitPolicy) -> datetime | None:
        """The earliest bar close time at which `exit_reason` fires for `position` (bars closing
        before it are quiet for time exits); None when no rule is set."""
        entry = position.entry_time
        candidates: list[datetime] = []
        if policy.max_holding is not None:
            candidates.append(entry + policy.max_holding)
        if policy.weekend_flat:
            candidates.append(entry if in_weekend(entry) else _next_saturday(entry))
        hour = policy.daily_flat_hour
        if hour is not None:
            cutoff = entry.replace(hour=hour, minute=0, second=0, microsecond=0)
            candidates.append(cutoff if cutoff > entry else cutoff + timedelta(days=1))
        return min(candidates) if candidates else None

    def blocks_entry(self, bar: Bar, policy: TimeExitPolicy | None) -> bool:
        """True when a new entry decided at this bar's close would be held into the weekend.

        The entry fills at the next open (or this close) and is first checked at the close of
        the next bar, so that bar's close time decides.
        """
        return (
            policy is not None
            and policy.weekend_flat
            and in_weekend(bar.time + 2 * self.bar_interval)
        )
