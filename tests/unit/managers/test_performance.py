"""PerformanceTracker: hand-computed metrics on small fixed series, parity of the bulk and
per-bar paths, degenerate cases, and a few Hypothesis properties.

The main fixture is 4 UTC days of hourly bars (96 bars) starting 2024-01-01 00:00, initial
equity 1000:

    day 1: 1000 until 09:00, 1100 from 10:00        → close of day 1100  (+10 %)
    day 2: 1100 until 05:00, 990 06–17, 1045 18–23  → close of day 1045  (−5 %)
    day 3: 1045 until 11:00, 1254 from 12:00        → close of day 1254  (+20 %)
    day 4: 1254 until 07:00, 1203.84 from 08:00     → close of day 1203.84 (−4 %)

so the daily returns are r = [0.10, −0.05, 0.20, −0.04]. Exposure is 0.5 on day 1 10–23 and
1.0 on day 2 06–17 (0 elsewhere); closes rise linearly from 100 to 120. Five trades (net PnL
+10, −5, +20, +30, −8) are recorded out of exit order.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.intents import ExitReason
from atb.domain.models import Trade
from atb.domain.protocols import Trade as TradeProtocol
from atb.domain.sides import PositionSide
from atb.managers import metrics as mx
from atb.managers.performance import PerformanceMetrics, PerformanceTracker

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
SQRT365 = math.sqrt(365)
N_BARS = 96


def at(hours: float, start: datetime = T0) -> datetime:
    """Bar time `hours` after `start`."""
    return start + hours * HOUR


def ns(time: datetime) -> int:
    """int64 ns since the epoch, as the bulk path takes it."""
    return (time - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def main_equity(h: int) -> float:
    day, hour = divmod(h, 24)
    if day == 0:
        return 1000.0 if hour < 10 else 1100.0
    if day == 1:
        return 1100.0 if hour < 6 else (990.0 if hour < 18 else 1045.0)
    if day == 2:
        return 1045.0 if hour < 12 else 1254.0
    return 1254.0 if hour < 8 else 1203.84


def main_exposure(h: int) -> float:
    day, hour = divmod(h, 24)
    if day == 0 and hour >= 10:
        return 0.5
    if day == 1 and 6 <= hour < 18:
        return 1.0
    return 0.0


def main_close(h: int) -> float:
    return 100.0 + 20.0 * h / (N_BARS - 1)


def main_arrays(start: datetime = T0) -> tuple[np.ndarray, ...]:
    hours = range(N_BARS)
    return (
        np.array([ns(at(h, start)) for h in hours], dtype=np.int64),
        np.array([main_equity(h) for h in hours]),
        np.array([main_close(h) for h in hours]),
        np.array([main_exposure(h) for h in hours]),
    )


def fill(time: datetime, kind: FillKind, side: PositionSide, price: float, qty: float) -> Fill:
    action = side.entry_action if kind.increases else side.exit_action
    return Fill(
        time=time,
        action=action,
        price=price,
        quantity=qty,
        fee=0.5,
        slippage=0.1,
        reason=kind.value,
        kind=kind,
        liquidity=Liquidity.TAKER,
        order_id=f"o-{time.isoformat()}-{kind.value}",
    )


def make_trade(  # noqa: PLR0917 - reads as a table row at the call sites
    trade_id: str,
    side: PositionSide,
    entry_h: float,
    exit_h: float,
    entry_price: float,
    qty: float,
    pnl: float,
    extra: Sequence[FillKind] = (),
    start: datetime = T0,
) -> Trade:
    """A closed trade with net `pnl`; fees are 0.5 per leg, so gross = pnl + fees."""
    kinds = (FillKind.ENTRY, *extra, FillKind.EXIT)
    fees = 0.5 * len(kinds)
    gross = pnl + fees
    exit_price = entry_price + side.sign * gross / qty
    legs = tuple(
        fill(at(entry_h + i * 0.5, start), kind, side, entry_price, qty / 2)
        for i, kind in enumerate(kinds)
    )
    return Trade(
        trade_id=trade_id,
        symbol="BTCUSDT",
        side=side,
        entry_time=at(entry_h, start),
        exit_time=at(exit_h, start),
        entry_price=entry_price,
        exit_price=exit_price,
        quantity=qty,
        gross_pnl=gross,
        fees=fees,
        slippage=0.1 * len(kinds),
        exit_reason="signal",
        legs=legs,
        partial_exits=extra.count(FillKind.PARTIAL_EXIT),
        scale_ins=extra.count(FillKind.SCALE_IN),
        best_price=max(entry_price, exit_price),
        worst_price=min(entry_price, exit_price),
    )


def main_trades(start: datetime = T0) -> list[Trade]:
    """Five trades, listed out of exit order (T2 first) to check sorting by exit time.

    net PnL, side, entry price × qty, holding:  T1 +10 long 100×1 10 h;  T2 −5 short 100×1 4 h;
    T3 +20 long 200×1 12 h (with a scale-in);  T4 +30 long 100×3 6 h (with a partial exit);
    T5 −8 short 160×0.5 8 h.
    """
    long, short = PositionSide.LONG, PositionSide.SHORT
    return [
        make_trade("t2", short, 22, 26, 100.0, 1.0, -5.0, start=start),
        make_trade("t1", long, 10, 20, 100.0, 1.0, 10.0, start=start),
        make_trade("t3", long, 30, 42, 200.0, 1.0, 20.0, (FillKind.SCALE_IN,), start=start),
        make_trade("t4", long, 50, 56, 100.0, 3.0, 30.0, (FillKind.PARTIAL_EXIT,), start=start),
        make_trade("t5", short, 60, 68, 160.0, 0.5, -8.0, start=start),
    ]


def open_position_legs(start: datetime = T0) -> list[Fill]:
    """Legs of a position still open at the end: an entry and a scale-in."""
    long = PositionSide.LONG
    return [
        fill(at(80, start), FillKind.ENTRY, long, 118.0, 1.0),
        fill(at(85, start), FillKind.SCALE_IN, long, 119.0, 0.5),
    ]


def feed_trades(tracker: PerformanceTracker, start: datetime = T0) -> None:
    for trade in main_trades(start):
        for leg in trade.legs:
            tracker.record_fill(leg)
        tracker.record_trade(trade)
    for leg in open_position_legs(start):
        tracker.record_fill(leg)


def main_tracker(start: datetime = T0, bulk: bool = False) -> PerformanceTracker:
    tracker = PerformanceTracker(1000.0, HOUR)
    if bulk:
        tracker.record_bars(*main_arrays(start))
    else:
        for h in range(N_BARS):
            tracker.record_bar(at(h, start), main_equity(h), main_close(h), main_exposure(h))
    feed_trades(tracker, start)
    return tracker


def assert_json_safe(metrics: PerformanceMetrics) -> None:
    values = metrics.as_dict()
    for key, value in values.items():
        assert value is None or isinstance(value, int | float), key
        assert not isinstance(value, float) or math.isfinite(value), key
    json.dumps(values, allow_nan=False)


# --- the main fixture, every metric -------------------------------------------------------------


@pytest.fixture(scope="module")
def m() -> PerformanceMetrics:
    """Metrics of the main fixture, fed bar by bar."""
    return main_tracker().metrics()


class TestMainSeries:
    """Each expected number is worked out by hand in the comment beside it."""

    def test_equity_and_returns(self, m: PerformanceMetrics) -> None:
        assert m.initial_equity == 1000.0
        assert m.final_equity == pytest.approx(1203.84)
        assert m.net_profit == pytest.approx(203.84)
        assert m.total_return == pytest.approx(0.20384)
        # span = 23:00 on day 4 + 1 h − 00:00 on day 1 = 4 days
        assert m.period_days == pytest.approx(4.0)
        assert m.years == pytest.approx(4 / 365.25)
        assert m.cagr == pytest.approx(1.20384 ** (365.25 / 4) - 1, rel=1e-9)
        assert m.cagr == pytest.approx(2.27476e7, rel=1e-4)
        assert m.n_bars == 96
        assert m.n_days == 4

    def test_daily_return_statistics(self, m: PerformanceMetrics) -> None:
        # r = [0.10, -0.05, 0.20, -0.04]: mean 0.0525; Σ(r - mean)² = 0.043075 → var 0.014358
        std = math.sqrt(0.043075 / 3)
        assert m.annual_volatility == pytest.approx(std * SQRT365)
        assert m.annual_volatility == pytest.approx(2.289278, rel=1e-6)
        assert m.sharpe == pytest.approx(0.0525 / std * SQRT365)
        assert m.sharpe == pytest.approx(8.370545, rel=1e-6)
        # downside deviation = √((0.05² + 0.04²) / 4) = √0.001025
        assert m.sortino == pytest.approx(0.0525 / math.sqrt(0.001025) * SQRT365)
        assert m.sortino == pytest.approx(31.32880, rel=1e-6)
        # sorted r = [-0.05, -0.04, 0.10, 0.20]; q05 at position 0.15 → -0.05 + 0.15 × 0.01
        assert m.daily_var_95 == pytest.approx(-0.0485)
        assert m.daily_cvar_95 == pytest.approx(-0.05)  # mean of the r ≤ VaR: only -0.05
        assert m.best_day == pytest.approx(0.20)
        assert m.worst_day == pytest.approx(-0.05)

    def test_moments(self, m: PerformanceMetrics) -> None:
        d = [0.0475, -0.1025, 0.1475, -0.0925]  # r - mean
        m2 = sum(x**2 for x in d) / 4
        m3 = sum(x**3 for x in d) / 4
        m4 = sum(x**4 for x in d) / 4
        assert m.skew == pytest.approx(m3 / m2**1.5)
        assert m.skew == pytest.approx(0.3239091, rel=1e-5)
        assert m.kurtosis == pytest.approx(m4 / m2**2 - 3)
        assert m.kurtosis == pytest.approx(-1.5728233, rel=1e-5)

    def test_drawdown(self, m: PerformanceMetrics) -> None:
        assert m.max_drawdown == pytest.approx(0.10)  # 990 against the 1100 peak
        assert m.max_drawdown_quote == pytest.approx(110.0)
        # under water from day 2 06:00 to day 3 12:00 (30 h) beats day 4 08:00 → end (16 h)
        assert m.max_drawdown_duration_bars == 30
        assert m.max_drawdown_duration_days == pytest.approx(1.25)
        assert m.max_drawdown_duration == timedelta(hours=30)
        # 12 bars at dd 0.10, 18 at 0.05, 16 at 0.04 over 96 bars
        assert m.ulcer_index == pytest.approx(
            math.sqrt((12 * 0.01 + 18 * 0.0025 + 16 * 0.0016) / 96)
        )
        assert m.ulcer_index == pytest.approx(0.0445580, rel=1e-5)
        assert m.calmar == pytest.approx(m.cagr / 0.10)  # type: ignore[operator]
        assert m.recovery_factor == pytest.approx(203.84 / 110.0)

    def test_benchmark_and_exposure(self, m: PerformanceMetrics) -> None:
        assert m.buy_and_hold_return == pytest.approx(0.20)  # close 100 → 120
        assert m.excess_return == pytest.approx(0.00384)
        assert m.exposure_time == pytest.approx(26 / 96)  # 14 + 12 bars in the market
        assert m.average_exposure == pytest.approx((14 * 0.5 + 12 * 1.0) / 96)

    def test_trade_statistics(self, m: PerformanceMetrics) -> None:
        # exit order: +10, -5, +20, +30, -8
        assert m.n_trades == 5
        assert m.n_wins == 3
        assert m.n_losses == 2
        assert m.win_rate == pytest.approx(0.6)
        assert m.gross_profit == pytest.approx(60.0)
        assert m.gross_loss == pytest.approx(13.0)
        assert m.profit_factor == pytest.approx(60 / 13)
        assert m.expectancy == pytest.approx(9.4)
        # returns on entry notional: 0.1, -0.05, 0.1, 0.1, -0.1
        assert m.avg_trade_return == pytest.approx(0.03)
        assert m.avg_win == pytest.approx(20.0)
        assert m.avg_loss == pytest.approx(-6.5)
        assert m.payoff_ratio == pytest.approx(20 / 6.5)
        assert m.largest_win == pytest.approx(30.0)
        assert m.largest_loss == pytest.approx(-8.0)
        assert m.max_consecutive_wins == 2
        assert m.max_consecutive_losses == 1
        assert m.avg_holding_hours == pytest.approx(8.0)  # (10 + 4 + 12 + 6 + 8) / 5
        assert m.avg_holding_bars == pytest.approx(8.0)
        assert m.avg_holding_time == timedelta(hours=8)
        assert m.trades_per_day == pytest.approx(1.25)  # 5 trades over 4 days
        # SQN: deviations 0.6, -14.4, 10.6, 20.6, -17.4 → Σ² = 1047.2, std = √261.8
        assert m.sqn == pytest.approx(math.sqrt(5) * 9.4 / math.sqrt(261.8))
        assert m.sqn == pytest.approx(1.299056, rel=1e-6)
        assert m.kelly == pytest.approx(0.6 - 0.4 / (20 / 6.5))  # = 0.47
        assert m.kelly == pytest.approx(0.47)

    def test_long_short_breakdown(self, m: PerformanceMetrics) -> None:
        assert m.long_trades == 3
        assert m.long_win_rate == pytest.approx(1.0)
        assert m.long_pnl == pytest.approx(60.0)
        assert m.short_trades == 2
        assert m.short_win_rate == pytest.approx(0.0)
        assert m.short_pnl == pytest.approx(-13.0)

    def test_costs_and_legs_include_the_open_position(self, m: PerformanceMetrics) -> None:
        # 12 legs of closed trades + 2 of the open position, 0.5 fee and 0.1 slippage each
        assert m.total_fees == pytest.approx(7.0)
        assert m.total_slippage == pytest.approx(1.4)
        assert m.partial_exits_taken == 1
        assert m.scale_ins_taken == 2

    def test_as_dict_is_stable_and_json_safe(self, m: PerformanceMetrics) -> None:
        values = m.as_dict()
        assert tuple(values) == EXPECTED_KEYS
        assert len(values) >= 30
        assert_json_safe(m)

    def test_metrics_is_repeatable(self) -> None:
        tracker = main_tracker()
        assert tracker.metrics() == tracker.metrics()


EXPECTED_KEYS = (
    "initial_equity",
    "final_equity",
    "net_profit",
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_quote",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_days",
    "ulcer_index",
    "recovery_factor",
    "daily_var_95",
    "daily_cvar_95",
    "skew",
    "kurtosis",
    "best_day",
    "worst_day",
    "buy_and_hold_return",
    "excess_return",
    "exposure_time",
    "average_exposure",
    "n_trades",
    "n_wins",
    "n_losses",
    "win_rate",
    "gross_profit",
    "gross_loss",
    "profit_factor",
    "expectancy",
    "avg_trade_return",
    "payoff_ratio",
    "avg_win",
    "avg_loss",
    "largest_win",
    "largest_loss",
    "max_consecutive_wins",
    "max_consecutive_losses",
    "avg_holding_hours",
    "avg_holding_bars",
    "trades_per_day",
    "sqn",
    "kelly",
    "long_trades",
    "long_win_rate",
    "long_pnl",
    "short_trades",
    "short_win_rate",
    "short_pnl",
    "total_fees",
    "total_slippage",
    "partial_exits_taken",
    "scale_ins_taken",
    "n_bars",
    "n_days",
    "period_days",
    "years",
)
"""The documented key order of `as_dict()`; a rename or reorder must be deliberate."""


# --- parity of the two feeding paths -------------------------------------------------------------


def test_record_bars_equals_record_bar() -> None:
    assert main_tracker(bulk=True).metrics() == main_tracker(bulk=False).metrics()


def test_mixed_feeding_equals_one_path() -> None:
    times, equity, close, exposure = main_arrays()
    tracker = PerformanceTracker(1000.0, HOUR)
    for h in range(30):
        tracker.record_bar(at(h), main_equity(h), main_close(h), main_exposure(h))
    tracker.record_bars(times[30:60], equity[30:60], close[30:60], exposure[30:60])
    tracker.metrics()  # consolidating in between must not change anything
    for h in range(60, N_BARS):
        tracker.record_bar(at(h), main_equity(h), main_close(h), main_exposure(h))
    feed_trades(tracker)
    assert tracker.metrics() == main_tracker().metrics()


def test_skipping_quiet_bars_keeps_every_metric_but_the_bar_count() -> None:
    times, equity, close, exposure = main_arrays()
    # quiet: same equity and exposure as the bar before; first and last bars are always kept
    quiet = np.zeros(N_BARS, dtype=bool)
    quiet[1:] = (equity[1:] == equity[:-1]) & (exposure[1:] == exposure[:-1])
    quiet[-1] = False
    assert quiet.sum() > 80
    sparse = PerformanceTracker(1000.0, HOUR)
    keep = ~quiet
    sparse.record_bars(times[keep], equity[keep], close[keep], exposure[keep])
    feed_trades(sparse)
    full, skipped = main_tracker().metrics().as_dict(), sparse.metrics().as_dict()
    assert skipped.pop("n_bars") == int(keep.sum())
    assert full.pop("n_bars") == N_BARS
    assert skipped == pytest.approx(full, rel=1e-12)


# --- annualisation uses bar time only -------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [datetime(2017, 6, 3, tzinfo=UTC), datetime(2031, 2, 28, tzinfo=UTC)],
)
def test_same_series_shifted_in_time_gives_the_same_metrics(start: datetime) -> None:
    assert main_tracker(start).metrics() == main_tracker().metrics()


def test_span_includes_the_last_bar_interval() -> None:
    tracker = PerformanceTracker(100.0, timedelta(days=1))
    for day in range(365):
        tracker.record_bar(at(24 * day), 100.0 + 10.0 * (day == 364), 1.0, 0.0)
    m = tracker.metrics()
    assert m.period_days == pytest.approx(365.0)
    assert m.years == pytest.approx(365 / 365.25)
    assert m.cagr == pytest.approx(1.1 ** (365.25 / 365) - 1)
    assert m.n_days == 365


def test_calendar_days_without_bars_count_as_flat_days() -> None:
    tracker = PerformanceTracker(100.0, HOUR)
    tracker.record_bar(at(0), 110.0, 1.0, 0.0)
    tracker.record_bar(at(24 * 3), 99.0, 1.0, 0.0)  # two empty days in between
    m = tracker.metrics()
    assert m.n_days == 4  # r = [0.10, 0, 0, -0.10]
    assert m.best_day == pytest.approx(0.10)
    assert m.worst_day == pytest.approx(-0.10)
    # the first record stands for the whole gap: 72 h at dd 0, then 1 h at dd 0.1
    assert m.ulcer_index == pytest.approx(math.sqrt(0.01 / 73))
    assert m.max_drawdown_duration_bars == 1


# --- degenerate cases ----------------------------------------------------------------------------


def test_no_bars_no_trades() -> None:
    m = PerformanceTracker(500.0, HOUR).metrics()
    assert m.final_equity == 500.0
    assert m.total_return == 0.0
    assert m.net_profit == 0.0
    assert m.max_drawdown == 0.0
    assert m.max_drawdown_duration_bars == 0
    assert m.n_trades == 0
    assert m.n_bars == 0
    assert m.max_consecutive_wins == 0
    for key in (
        "cagr",
        "annual_volatility",
        "sharpe",
        "sortino",
        "calmar",
        "ulcer_index",
        "recovery_factor",
        "daily_var_95",
        "skew",
        "kurtosis",
        "buy_and_hold_return",
        "exposure_time",
        "win_rate",
        "profit_factor",
        "expectancy",
        "payoff_ratio",
        "avg_win",
        "avg_loss",
        "avg_holding_hours",
        "trades_per_day",
        "sqn",
        "kelly",
        "long_win_rate",
        "short_win_rate",
    ):
        assert m.as_dict()[key] is None, key
    assert m.avg_holding_time is None
    assert_json_safe(m)


def test_flat_equity_has_no_volatility_ratios() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    for h in range(96):
        tracker.record_bar(at(h), 1000.0, 50.0, 0.0)
    m = tracker.metrics()
    assert m.annual_volatility == 0.0
    assert m.sharpe is None
    assert m.sortino is None
    assert m.skew is None
    assert m.kurtosis is None
    assert m.max_drawdown == 0.0
    assert m.calmar is None
    assert m.recovery_factor is None
    assert m.ulcer_index == 0.0
    assert m.cagr == 0.0
    assert m.exposure_time == 0.0
    assert m.trades_per_day == 0.0
    assert_json_safe(m)


def test_one_bar_has_one_daily_return() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    tracker.record_bar(at(5), 1010.0, 50.0, 1.0)
    m = tracker.metrics()
    assert m.n_days == 1
    assert m.daily_var_95 == pytest.approx(0.01)
    assert m.daily_cvar_95 == pytest.approx(0.01)
    assert m.annual_volatility is None
    assert m.sharpe is None
    assert m.buy_and_hold_return == 0.0
    assert m.exposure_time == 1.0
    assert m.cagr == pytest.approx(1.01 ** (365.25 * 24) - 1)  # one hour of +1 %, annualised
    assert_json_safe(m)


def test_cagr_that_overflows_a_float_is_undefined() -> None:
    tracker = PerformanceTracker(1000.0, timedelta(minutes=1))
    tracker.record_bar(at(0), 1500.0, 50.0, 0.0)
    m = tracker.metrics()
    assert m.cagr is None  # 1.5 ** 525960: undefined, never inf
    assert m.calmar is None
    assert_json_safe(m)


def test_unrecovered_drawdown_runs_to_the_end_of_data() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    for h, equity in enumerate([1000.0, 900.0, 950.0, 980.0]):
        tracker.record_bar(at(h), equity, 10.0, 0.0)
    m = tracker.metrics()
    assert m.max_drawdown == pytest.approx(0.10)
    assert m.max_drawdown_duration_bars == 3  # 01:00 → 04:00 (last bar + interval)
    assert m.recovery_factor == pytest.approx(-20.0 / 100.0)


def test_first_bar_below_initial_equity_is_a_drawdown() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    tracker.record_bar(at(0), 800.0, 10.0, 0.0)
    tracker.record_bar(at(1), 1000.0, 10.0, 0.0)
    m = tracker.metrics()
    assert m.max_drawdown == pytest.approx(0.20)
    assert m.max_drawdown_duration_bars == 1


def test_ruined_account() -> None:
    tracker = PerformanceTracker(1000.0, timedelta(days=1))
    for day, equity in enumerate([500.0, -50.0, -10.0]):
        tracker.record_bar(at(24 * day), equity, 10.0, 0.0)
    m = tracker.metrics()
    assert m.cagr == -1.0  # ended at ≤ 0: everything lost, nothing to compound
    assert m.total_return == pytest.approx(-1.01)
    assert m.sharpe is None  # a return on a non-positive base is meaningless
    assert m.daily_var_95 is None
    assert m.max_drawdown == pytest.approx(1.05)
    assert_json_safe(m)


def test_only_winning_trades() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    tracker.record_trade(make_trade("a", PositionSide.LONG, 0, 2, 100.0, 1.0, 5.0))
    tracker.record_trade(make_trade("b", PositionSide.SHORT, 3, 4, 100.0, 1.0, 7.0))
    m = tracker.metrics()
    assert m.win_rate == 1.0
    assert m.profit_factor is None  # no loss: documented as None rather than +inf
    assert m.payoff_ratio is None
    assert m.kelly is None
    assert m.avg_loss is None
    assert m.largest_loss is None
    assert m.max_consecutive_wins == 2
    assert m.max_consecutive_losses == 0
    assert m.sqn == pytest.approx(math.sqrt(2) * 6.0 / math.sqrt(2.0))
    assert m.trades_per_day is None  # no bars: no span
    assert_json_safe(m)


def test_only_losing_trades() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    for i, pnl in enumerate([-1.0, -3.0, -2.0]):
        tracker.record_trade(make_trade(f"l{i}", PositionSide.LONG, i, i + 0.5, 50.0, 1.0, pnl))
    m = tracker.metrics()
    assert m.win_rate == 0.0
    assert m.profit_factor == 0.0
    assert m.payoff_ratio is None
    assert m.avg_win is None
    assert m.max_consecutive_losses == 3
    assert m.short_trades == 0
    assert m.short_win_rate is None
    assert m.short_pnl == 0.0


def test_breakeven_trade_is_neither_and_breaks_streaks() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    for i, pnl in enumerate([4.0, 4.0, 0.0, 4.0, -1.0, 0.0, -1.0]):
        tracker.record_trade(make_trade(f"x{i}", PositionSide.LONG, i, i + 0.5, 50.0, 1.0, pnl))
    m = tracker.metrics()
    assert (m.n_trades, m.n_wins, m.n_losses) == (7, 3, 2)
    assert m.win_rate == pytest.approx(3 / 7)
    assert m.max_consecutive_wins == 2
    assert m.max_consecutive_losses == 1


def test_identical_trades_have_no_sqn() -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    for i in range(3):
        tracker.record_trade(make_trade(f"s{i}", PositionSide.LONG, i, i + 1, 50.0, 1.0, 2.0))
    assert tracker.metrics().sqn is None


@dataclasses.dataclass(frozen=True)
class ForeignTrade:
    """Not `atb.domain.models.Trade`: any object with the Protocol's members must work."""

    trade_id: str
    symbol: str
    side: PositionSide
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    quantity: float
    gross_pnl: float
    pnl: float
    fees: float
    slippage: float
    exit_reason: str
    exit: ExitReason
    legs: tuple[Fill, ...]
    partial_exits: int
    scale_ins: int


def test_record_trade_takes_any_trade_protocol_object() -> None:
    leg = fill(at(0), FillKind.ENTRY, PositionSide.SHORT, 100.0, 2.0)
    foreign = ForeignTrade(
        "f1", "ETHUSDT", PositionSide.SHORT, at(0), at(3), 100.0, 95.0, 2.0,
        10.0, 9.0, 1.0, 0.0, "take profit", ExitReason.TAKE_PROFIT, (leg,), 0, 0,
    )  # fmt: skip
    trade: TradeProtocol = foreign
    tracker = PerformanceTracker(1000.0, HOUR)
    tracker.record_trade(trade)
    m = tracker.metrics()
    assert m.short_pnl == pytest.approx(9.0)
    assert m.avg_trade_return == pytest.approx(9.0 / 200.0)
    assert m.avg_holding_bars == pytest.approx(3.0)


# --- input validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "interval"),
    [(0.0, HOUR), (math.nan, HOUR), (-5.0, HOUR), (100.0, timedelta(0))],
)
def test_constructor_rejects_bad_values(initial: float, interval: timedelta) -> None:
    with pytest.raises(ValueError, match=r"initial_equity|bar_interval"):
        PerformanceTracker(initial, interval)


@pytest.mark.parametrize(
    ("time", "equity", "close", "exposure", "field"),
    [
        (datetime(2024, 1, 2), 1.0, 1.0, 0.0, "time"),  # naive
        (at(0), 1.0, 1.0, 0.0, "time"),  # not after the previous bar
        (at(2), math.inf, 1.0, 0.0, "equity"),
        (at(2), 1.0, 0.0, 0.0, "close"),
        (at(2), 1.0, 1.0, -0.1, "exposure"),
        (at(2), 1.0, 1.0, math.nan, "exposure"),
    ],
)
def test_record_bar_rejects_bad_values(
    time: datetime, equity: float, close: float, exposure: float, field: str
) -> None:
    tracker = PerformanceTracker(1.0, HOUR)
    tracker.record_bar(at(1), 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=field):
        tracker.record_bar(time, equity, close, exposure)


def test_record_bars_rejects_bad_arrays() -> None:
    times, equity, close, exposure = main_arrays()
    tracker = PerformanceTracker(1000.0, HOUR)
    with pytest.raises(ValueError, match="equity must be 1-D with 96"):
        tracker.record_bars(times, equity[:-1], close, exposure)
    with pytest.raises(ValueError, match="strictly increasing"):
        tracker.record_bars(times[::-1], equity, close, exposure)
    bad_close = close.copy()
    bad_close[7] = -1.0
    with pytest.raises(ValueError, match=r"close\[7\]"):
        tracker.record_bars(times, equity, bad_close, exposure)
    bad_equity = equity.copy()
    bad_equity[3] = math.nan
    with pytest.raises(ValueError, match=r"equity\[3\]"):
        tracker.record_bars(times, bad_equity, close, exposure)
    bad_exposure = exposure.copy()
    bad_exposure[0] = -1.0
    with pytest.raises(ValueError, match=r"exposure\[0\]"):
        tracker.record_bars(times, equity, close, bad_exposure)
    tracker.record_bars(times[:0], equity[:0], close[:0], exposure[:0])  # empty: no-op
    tracker.record_bars(times, equity, close, exposure)
    with pytest.raises(ValueError, match="after the previous bar"):
        tracker.record_bars(times[-1:], equity[-1:], close[-1:], exposure[-1:])
    assert tracker.metrics().n_bars == N_BARS


def test_record_bars_takes_datetime64_of_any_unit_and_refuses_floats() -> None:
    times, equity, close, exposure = main_arrays()
    as_seconds = (times // 1_000_000_000).astype("datetime64[s]")
    tracker = PerformanceTracker(1000.0, HOUR)
    tracker.record_bars(as_seconds, equity, close, exposure)
    feed_trades(tracker)
    assert tracker.metrics() == main_tracker().metrics()
    with pytest.raises(ValueError, match="dtype float64"):
        PerformanceTracker(1000.0, HOUR).record_bars(times.astype(float), equity, close, exposure)


def test_record_trade_rejects_exit_before_entry() -> None:
    trade = make_trade("bad", PositionSide.LONG, 5, 2, 100.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="exit_time precedes entry_time"):
        PerformanceTracker(1.0, HOUR).record_trade(trade)


def test_record_trade_rejects_non_finite_pnl_and_bad_notional() -> None:
    leg = fill(at(0), FillKind.ENTRY, PositionSide.LONG, 1.0, 1.0)
    base = ForeignTrade(
        "f", "X", PositionSide.LONG, at(0), at(1), 1.0, 1.0, 1.0,
        0.0, math.nan, 0.0, 0.0, "signal", ExitReason.SIGNAL, (leg,), 0, 0,
    )  # fmt: skip
    tracker = PerformanceTracker(1.0, HOUR)
    with pytest.raises(ValueError, match="pnl must be finite"):
        tracker.record_trade(base)
    with pytest.raises(ValueError, match="entry notional"):
        tracker.record_trade(dataclasses.replace(base, pnl=1.0, quantity=0.0))


# --- pure helpers not reached through the tracker ------------------------------------------------


def test_metric_helpers_edge_cases() -> None:
    assert mx.ratio(1.0, 0.0) is None
    assert mx.ratio(None, 2.0) is None
    assert mx.ratio(1.0, 4.0) == 0.25
    assert mx.cagr(1.5, 0.0) is None
    assert mx.kelly(None, 2.0) is None
    assert mx.max_streak(np.array([True, True, False, True])) == 2
    assert mx.simple_returns(np.array([1.0, 0.0, 1.0])) is None
    assert mx.sortino(np.array([0.01])) is None
    assert mx.sqn(np.array([1.0])) is None


# --- properties -----------------------------------------------------------------------------------

equity_paths = st.lists(
    st.floats(min_value=1.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=120,
)


@given(
    path=equity_paths,
    initial=st.floats(min_value=1.0, max_value=1e6),
    step_hours=st.integers(min_value=1, max_value=30),
    offset_hours=st.integers(min_value=0, max_value=24 * 365 * 20),
    data=st.data(),
)
def test_equity_curve_properties(
    path: list[float],
    initial: float,
    step_hours: int,
    offset_hours: int,
    data: st.DataObject,
) -> None:
    n = len(path)
    exposure = data.draw(st.lists(st.floats(0.0, 3.0), min_size=n, max_size=n))
    close = data.draw(st.lists(st.floats(1.0, 1e5), min_size=n, max_size=n))
    start = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(hours=offset_hours)
    one, bulk = PerformanceTracker(initial, HOUR), PerformanceTracker(initial, HOUR)
    times = [at(i * step_hours, start) for i in range(n)]
    for time, e, c, x in zip(times, path, close, exposure, strict=True):
        one.record_bar(time, e, c, x)
    bulk.record_bars(
        np.array([ns(t) for t in times], dtype=np.int64),
        np.array(path),
        np.array(close),
        np.array(exposure),
    )
    m = one.metrics()
    assert m == bulk.metrics()
    assert 0.0 <= m.max_drawdown <= 1.0
    assert m.total_return == pytest.approx(path[-1] / initial - 1)
    assert m.exposure_time is not None
    assert 0.0 <= m.exposure_time <= 1.0
    assert m.ulcer_index is not None
    assert 0.0 <= m.ulcer_index <= m.max_drawdown + 1e-12
    assert m.max_drawdown_duration_days <= m.period_days + 1e-12
    if m.daily_var_95 is not None and m.daily_cvar_95 is not None:
        assert m.daily_cvar_95 <= m.daily_var_95 + 1e-12
        assert m.worst_day is not None
        assert m.worst_day <= m.daily_cvar_95 + 1e-12
    assert_json_safe(m)


@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(PositionSide),
            st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
            st.integers(min_value=0, max_value=500),
        ),
        max_size=40,
    )
)
def test_trade_statistics_properties(trades: list[tuple[PositionSide, float, int]]) -> None:
    tracker = PerformanceTracker(1000.0, HOUR)
    for i, (side, pnl, hours) in enumerate(trades):
        tracker.record_trade(make_trade(f"p{i}", side, i, i + hours, 1e5, 1.0, pnl))
    m = tracker.metrics()
    pnls = [pnl for _, pnl, _ in trades]
    assert m.n_trades == len(trades)
    assert m.n_wins + m.n_losses <= m.n_trades
    assert m.long_trades + m.short_trades == m.n_trades
    if trades:
        assert m.win_rate is not None
        assert 0.0 <= m.win_rate <= 1.0
    assert m.gross_profit - m.gross_loss == pytest.approx(math.fsum(pnls), abs=1e-6)
    assert m.long_pnl + m.short_pnl == pytest.approx(math.fsum(pnls), abs=1e-6)
    assert m.max_consecutive_wins <= m.n_wins
    assert m.max_consecutive_losses <= m.n_losses
    assert_json_safe(m)


@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=300),
    weights=st.lists(
        st.one_of(
            st.integers(1, 60_000_000_000),
            st.integers(60_000_000_000, 2**53),
            st.integers(2**53, 2**58),  # gaps longer than 104 days: not exact as floats
        ),
        min_size=300,
        max_size=300,
    ),
)
def test_time_share_gives_weighted_mean_s_bits(flags: list[bool], weights: list[int]) -> None:
    mask = np.array(flags, dtype=np.bool_)
    durations = np.array(weights[: len(flags)], dtype=np.int64)
    expected = mx.weighted_mean(mask.astype(np.float64), durations)
    assert mx.time_share(mask, durations) == expected
    assert math.copysign(1.0, mx.time_share(mask, durations)) == math.copysign(1.0, expected)


def test_time_share_of_a_flag_set_on_two_of_three_equal_records() -> None:
    durations = np.array([60, 60, 60], dtype=np.int64)
    assert mx.time_share(np.array([True, False, True]), durations) == 120 / 180


def test_time_share_of_gaps_longer_than_104_days_rounds_each_weight_as_weighted_mean() -> None:
    # Each weight rounds down to 2**53 as a float; their exact sum rounds up: the two readings
    # differ in the last bit, and time_share must give weighted_mean's.
    durations = np.full(3, 2**53 + 1, dtype=np.int64)
    flags = np.array([True, True, True])
    assert float(int(durations.sum())) != math.fsum([float(2**53 + 1)] * 3)
    assert mx.time_share(flags, durations) == mx.weighted_mean(flags.astype(float), durations)
