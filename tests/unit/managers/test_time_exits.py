"""TimeExitManager: max holding, weekend flat and daily flat judged on the bar's close time
(bar.time + interval), and entries blocked while the weekend-flat rule would close them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atb.domain.policies import TimeExitPolicy
from atb.domain.sides import PositionSide
from atb.managers.risk_config import TIME_EXITS_DEFAULTS
from atb.managers.run_config import RunConfiguration
from atb.managers.time_exits import TimeExitManager, in_weekend
from tests.support.builders import make_bar, make_live_position, make_position

HOUR = timedelta(hours=1)
HOURLY = TimeExitManager(HOUR)
FRIDAY = datetime(2024, 1, 5, tzinfo=UTC)
"""Friday 2024-01-05 00:00 UTC."""
MONDAY = datetime(2024, 1, 1, tzinfo=UTC)

MAX_4H = TimeExitPolicy(max_holding=timedelta(hours=4), weekend_flat=False, daily_flat_hour=None)
WEEKEND = TimeExitPolicy(max_holding=None, weekend_flat=True, daily_flat_hour=None)
DAILY_16 = TimeExitPolicy(max_holding=None, weekend_flat=False, daily_flat_hour=16)


def test_time_exits_are_off_by_default_and_empty_when_enabled() -> None:
    assert RunConfiguration.default().risk.time_exits is None
    position = make_position(PositionSide.LONG, entry_time=MONDAY)
    bar = make_bar(100.0, 101.0, 99.0, 100.0, time=MONDAY + 1000 * HOUR)
    assert HOURLY.exit_reason(position, bar, TIME_EXITS_DEFAULTS) is None


@pytest.mark.parametrize(
    ("bar_hour", "reason"), [(2, None), (3, "max holding time"), (10, "max holding time")]
)
def test_max_holding_counts_to_the_bar_close(bar_hour: int, reason: str | None) -> None:
    position = make_position(PositionSide.SHORT, entry_time=MONDAY)
    bar = make_bar(100.0, 101.0, 99.0, 100.0, time=MONDAY + bar_hour * HOUR)
    assert HOURLY.exit_reason(position, bar, MAX_4H) == reason


def test_max_holding_with_four_hour_bars() -> None:
    manager = TimeExitManager(timedelta(hours=4))
    policy = TimeExitPolicy(
        max_holding=timedelta(hours=8), weekend_flat=False, daily_flat_hour=None
    )
    position = make_live_position(PositionSide.LONG, entry_time=MONDAY)
    first = make_bar(100.0, 101.0, 99.0, 100.0, time=MONDAY)
    second = make_bar(100.0, 101.0, 99.0, 100.0, time=MONDAY + 4 * HOUR)
    assert manager.exit_reason(position, first, policy) is None
    assert manager.exit_reason(position, second, policy) == "max holding time"


@pytest.mark.parametrize(
    ("bar_time", "reason"),
    [
        (FRIDAY + 22 * HOUR, None),  # closes Friday 23:00
        (FRIDAY + 23 * HOUR, "weekend flat"),  # closes Saturday 00:00
        (FRIDAY + 40 * HOUR, "weekend flat"),  # Saturday 16:00
        (FRIDAY + 70 * HOUR, "weekend flat"),  # closes Sunday 23:00
        (FRIDAY + 71 * HOUR, None),  # closes Monday 00:00
    ],
)
def test_weekend_flat_looks_at_the_close_time(bar_time: datetime, reason: str | None) -> None:
    position = make_position(PositionSide.LONG, entry_time=FRIDAY)
    bar = make_bar(100.0, 101.0, 99.0, 100.0, time=bar_time)
    assert HOURLY.exit_reason(position, bar, WEEKEND) == reason


def test_in_weekend() -> None:
    assert in_weekend(FRIDAY + 24 * HOUR) is True
    assert in_weekend(FRIDAY + 24 * HOUR - timedelta(seconds=1)) is False
    assert in_weekend(MONDAY) is False


@pytest.mark.parametrize(
    ("entry_hour", "bar_hour", "reason"),
    [
        (10, 14, None),  # closes 15:00, before the 16:00 cutoff
        (10, 15, "daily flat"),  # closes 16:00: the cutoff has come
        (10, 20, "daily flat"),
        (16, 16, None),  # entered at the cutoff: the next one is tomorrow
        (17, 24 + 10, None),  # closes Tuesday 11:00, entry after Monday's cutoff
        (17, 24 + 15, "daily flat"),  # closes Tuesday 16:00
    ],
)
def test_daily_flat_hour(entry_hour: int, bar_hour: int, reason: str | None) -> None:
    position = make_position(PositionSide.SHORT, entry_time=MONDAY + entry_hour * HOUR)
    bar = make_bar(100.0, 101.0, 99.0, 100.0, time=MONDAY + bar_hour * HOUR)
    assert HOURLY.exit_reason(position, bar, DAILY_16) == reason


def test_max_holding_is_reported_before_the_other_rules() -> None:
    policy = TimeExitPolicy(max_holding=timedelta(hours=2), weekend_flat=True, daily_flat_hour=0)
    position = make_position(PositionSide.LONG, entry_time=FRIDAY + 21 * HOUR)
    bar = make_bar(100.0, 101.0, 99.0, 100.0, time=FRIDAY + 23 * HOUR)
    assert HOURLY.exit_reason(position, bar, policy) == "max holding time"
    relaxed = TimeExitPolicy(max_holding=timedelta(hours=9), weekend_flat=True, daily_flat_hour=0)
    assert HOURLY.exit_reason(position, bar, relaxed) == "weekend flat"


@pytest.mark.parametrize(
    ("bar_time", "policy", "blocked"),
    [
        # An entry decided at bar t is first held through bar t+1: blocked when that bar
        # closes in the weekend, i.e. for decision bars opening Fri 22:00 … Sun 21:00.
        (FRIDAY + 21 * HOUR, WEEKEND, False),
        (FRIDAY + 22 * HOUR, WEEKEND, True),
        (FRIDAY + 36 * HOUR, WEEKEND, True),
        (FRIDAY + 69 * HOUR, WEEKEND, True),
        (FRIDAY + 70 * HOUR, WEEKEND, False),
        (FRIDAY + 36 * HOUR, MAX_4H, False),
        (FRIDAY + 36 * HOUR, None, False),
    ],
)
def test_entries_blocked_in_the_weekend_only_when_weekend_flat(
    bar_time: datetime, policy: TimeExitPolicy | None, blocked: bool
) -> None:
    bar = make_bar(100.0, 101.0, 99.0, 100.0, time=bar_time)
    assert HOURLY.blocks_entry(bar, policy) is blocked
