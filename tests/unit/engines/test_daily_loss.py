"""The daily-loss rail: loss against the UTC day's opening equity, days by bar close, restored
from the store after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from atb.engines.live.daily_loss import DailyLossRail
from atb.persistence.records import EquityPoint

HOUR = timedelta(hours=1)


def _at(day: int, hour: int) -> datetime:
    return datetime(2025, 2, day, hour, tzinfo=UTC)


def test_the_loss_counts_from_the_days_opening_equity_and_a_new_day_starts_afresh() -> None:
    rail = DailyLossRail(50.0, HOUR, 10_000.0)
    assert rail.loss_if_breached(_at(7, 20), 10_000.0, 9_980.0) is None  # 20 down
    assert rail.loss_if_breached(_at(7, 21), 9_980.0, 9_950.0) == 50.0  # 50 down: the limit
    # The bar opening 23:00 closes at midnight: it belongs to the next day, which opens at 9,950.
    assert rail.loss_if_breached(_at(7, 23), 9_950.0, 9_930.0) is None
    assert rail.day_open_equity == 9_950.0


def test_after_a_restart_the_days_opening_equity_comes_from_the_stored_points() -> None:
    points = [
        EquityPoint(
            time=_at(6, 22), equity=10_010.0, cash=10_010.0, exposure=0.0
        ),  # closes 23:00 on the 6th
        EquityPoint(
            time=_at(6, 23), equity=10_020.0, cash=10_020.0, exposure=0.0
        ),  # closes 00:00: the 7th
        EquityPoint(time=_at(7, 5), equity=9_990.0, cash=9_990.0, exposure=0.0),
    ]
    rail = DailyLossRail(25.0, HOUR, 10_000.0)
    rail.restore(points)
    assert rail.day_open_equity == 10_010.0
    assert rail.loss_if_breached(_at(7, 6), 9_990.0, 9_985.0) == 25.0
