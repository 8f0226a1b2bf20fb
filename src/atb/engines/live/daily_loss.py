"""`DailyLossRail`: how far equity is below the UTC day's opening equity, by bar time.

A day's opening equity is the equity at the close of the previous day's last bar (the session's
starting balance on its first day). Days are those of bar *closes*, so a bar closing at
00:00 UTC belongs to the day that ends there. After a restart the rail is restored from the
stored equity points, so a loss taken before the restart still counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from atb.persistence.records import EquityPoint

__all__ = ["DailyLossRail"]


class DailyLossRail:
    """Measures each bar's loss against its day's opening equity; says when `limit` is hit."""

    def __init__(self, limit: float, bar_interval: timedelta, initial_equity: float) -> None:
        self.limit = limit
        self.bar_interval = bar_interval
        self.day: date | None = None
        self.day_open_equity = initial_equity

    def restore(self, points: Sequence[EquityPoint]) -> None:
        """Pick up after a restart from the session's stored equity points."""
        if not points:
            return
        self.day = self._day_of(points[-1].time)
        earlier = [point for point in points if self._day_of(point.time) < self.day]
        if earlier:
            self.day_open_equity = earlier[-1].equity

    def loss_if_breached(self, bar_time: datetime, opening: float, equity: float) -> float | None:
        """The day's loss after the bar opening at `bar_time` (equity `opening` before it,
        `equity` at its close) when it reaches the limit, else None."""
        day = self._day_of(bar_time)
        if day != self.day:
            self.day, self.day_open_equity = day, opening
        loss = self.day_open_equity - equity
        return loss if loss >= self.limit else None

    def _day_of(self, bar_time: datetime) -> date:
        return (bar_time + self.bar_interval).date()
