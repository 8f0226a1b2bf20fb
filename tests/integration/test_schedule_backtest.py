"""A backtest that switches strategies at given times (`run_schedule`) is, segment by segment,
the plain backtest of the segment's window started with the equity the previous one ended with
and closed at its end: same equity at every bar, same trades; ids count on across segments."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import numpy as np
import pytest

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.instruments import resolve_instrument
from atb.data.loading import load_candles
from atb.domain.errors import DataError
from atb.domain.models import Trade
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.backtest.schedule import ScheduleRequest, Segment, run_schedule
from atb.managers.lookback import history_bars
from atb.strategies.registry import create_strategy

CONFIG = config_from_assignments(())
BOUNDARIES = (
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 15, tzinfo=UTC),
    datetime(2024, 4, 1, tzinfo=UTC),
    datetime(2024, 5, 10, tzinfo=UTC),
)
PARAMS: tuple[tuple[str, dict[str, object]], ...] = (
    ("sma_cross", {"fast": 5, "slow": 30, "stop_loss": 0.02}),
    ("sma_cross", {"fast": 12, "slow": 60, "allow_short": True}),
    ("rsi_mean_reversion", {}),
)
WARMUP = 200


@pytest.fixture(scope="module")
def candles() -> ValidatedCandles:
    return load_candles("DEMO", "1h", BOUNDARIES[0], BOUNDARIES[-1], warmup=WARMUP)


def _segments() -> tuple[Segment, ...]:
    return tuple(
        Segment(start=start, strategy=create_strategy(name, dict(params)))
        for start, (name, params) in zip(BOUNDARIES, PARAMS, strict=False)
    )


def _schedule(
    candles: ValidatedCandles, segments: tuple[Segment, ...] | None = None, fast: bool = True
) -> ScheduleRequest:
    return ScheduleRequest(
        candles=candles,
        segments=_segments() if segments is None else segments,
        config=CONFIG,
        symbol="BTCUSDT",
        instrument=resolve_instrument("BTCUSDT", frame=candles.frame),
        fast=fast,
    )


def _numbers(trade: Trade) -> tuple[object, ...]:
    return (
        trade.side,
        trade.entry_time,
        trade.exit_time,
        trade.entry_price,
        trade.exit_price,
        trade.quantity,
        trade.gross_pnl,
        trade.fees,
        trade.exit_reason,
    )


def test_each_segment_is_the_plain_backtest_of_its_window_chained_by_balance(
    candles: ValidatedCandles,
) -> None:
    result = run_schedule(_schedule(candles))
    assert [segment.start for segment in result.segments] == list(BOUNDARIES[:3])
    balance = 10_000.0
    times: list[np.ndarray] = []
    equity: list[np.ndarray] = []
    trades: list[Trade] = []
    for start, end, (name, params) in zip(BOUNDARIES[:-1], BOUNDARIES[1:], PARAMS, strict=True):
        strategy = create_strategy(name, dict(params))
        window = candles.select(start, end, warmup=history_bars(strategy.warmup, CONFIG))
        plain = run_backtest(
            BacktestRequest(
                strategy=strategy,
                candles=window,
                config=CONFIG,
                symbol="BTCUSDT",
                initial_balance=balance,
                close_at_end=True,
                instrument=resolve_instrument("BTCUSDT", frame=candles.frame),
            )
        )
        times.append(plain.equity.times_ns)
        equity.append(plain.equity.equity)
        trades.extend(plain.trades)
        balance = float(plain.equity.equity[-1])
    np.testing.assert_array_equal(result.equity.times_ns, np.concatenate(times))
    np.testing.assert_array_equal(result.equity.equity, np.concatenate(equity))
    assert [_numbers(trade) for trade in result.trades] == [_numbers(trade) for trade in trades]
    assert len(result.trades) > 20
    # One run: ids never repeat; each segment ends flat with the balance the next starts with.
    ids = [trade.trade_id for trade in result.trades]
    assert len(set(ids)) == len(ids)
    for ended, started in zip(result.segments, result.segments[1:], strict=False):
        assert started.starting_balance == ended.ending_equity
    assert result.segments[-1].ending_equity == balance
    assert result.metrics.final_equity == pytest.approx(balance, rel=0, abs=0)


def test_the_fast_path_gives_the_stepped_result(candles: ValidatedCandles) -> None:
    fast = run_schedule(_schedule(candles))
    slow = run_schedule(_schedule(candles, fast=False))
    np.testing.assert_array_equal(fast.equity.equity, slow.equity.equity)
    assert fast.trades == slow.trades


def test_segments_out_of_order_or_off_the_window_are_refused(candles: ValidatedCandles) -> None:
    segments = _segments()
    with pytest.raises(DataError, match="no bar"):
        run_schedule(_schedule(candles, segments=(segments[0], segments[2], segments[1])))
    late = attrs.evolve(segments[0], start=datetime(2024, 1, 2, tzinfo=UTC))
    with pytest.raises(DataError, match="not at the window's first bar"):
        run_schedule(_schedule(candles, segments=(late, *segments[1:])))
    with pytest.raises(DataError, match="at least one segment"):
        run_schedule(_schedule(candles, segments=()))
