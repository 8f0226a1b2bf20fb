"""`run_schedule`: one backtest whose strategy (parameters, model) changes at given times.

A walk-forward validation trades each fold's chosen parameters on the fold's out-of-sample
window; its stitched equity is this backtest, one pass of the kernel over the candles with the
strategy switched at the fold boundaries. Each *segment* is traded as its own session would be
(ADR 0019): it starts flat with the equity the previous segment ended with, its managers start
afresh (the drawdown peak is its starting equity, as in a new live session), and what it still
holds at its last bar is closed at that bar's close (`END_OF_DATA`, as `--close-at-end` does).
So a segment's trades and equity are those of a plain backtest of its window started with that
balance — which the walk-forward's tests assert — while order and position ids keep counting
across segments (one run, unique ids).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import attrs
import numpy as np

from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument
from atb.domain.errors import DataError
from atb.domain.events import KernelEvent, PositionClosed
from atb.domain.models import ActiveTrade, Trade
from atb.domain.timestamps import to_ns
from atb.engines.backtest.arrays import bar_arrays
from atb.engines.backtest.early_decisions import EarlyDecisions
from atb.engines.backtest.engine import END_OF_DATA, check_window, market_rules, walk_bars
from atb.engines.backtest.quiet_span import QuietSpanFinder
from atb.engines.backtest.runner import KernelRunner, MemoryRecorder
from atb.engines.driver import BarDriver
from atb.managers.lookback import history_bars
from atb.managers.performance import PerformanceTracker
from atb.managers.performance_metrics import PerformanceMetrics
from atb.managers.positions import ActiveTradeAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.volatility import ArrayHistory
from atb.results import EquityCurve, StrategyInfo
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.training_overlap import refuse_training_overlap

__all__ = ["ScheduleRequest", "ScheduleResult", "Segment", "SegmentOutcome", "run_schedule"]

Progress = Callable[[int, int], None]
"""Called with (bars done, bars total) as the run advances."""


@attrs.frozen(slots=True, kw_only=True)
class Segment:
    """From `start` (a bar open time, UTC) until the next segment's start, trade `strategy`."""

    start: datetime
    strategy: Strategy


@attrs.frozen(slots=True, kw_only=True)
class ScheduleRequest:
    """The candles (warm-up rows first, then every segment's bars), the segments in time
    order (the first one starts at the window's first bar), config and account."""

    candles: ValidatedCandles
    segments: tuple[Segment, ...]
    config: RunConfiguration
    symbol: str
    initial_balance: float = 10_000.0
    instrument: ResolvedInstrument | None = None
    overlap_allowed: bool = False
    fast: bool = True


@attrs.frozen(slots=True, kw_only=True)
class SegmentOutcome:
    """One segment's part of the run: its window, strategy, balances and trades."""

    start: datetime
    end: datetime
    """Open time of the segment's last bar."""
    bars: int
    strategy: StrategyInfo
    starting_balance: float
    ending_equity: float
    trades: tuple[Trade, ...]


@attrs.frozen(slots=True, kw_only=True)
class ScheduleResult:
    """The whole run: its segments, every trade, one equity curve and its metrics."""

    segments: tuple[SegmentOutcome, ...]
    trades: tuple[Trade, ...]
    equity: EquityCurve
    metrics: PerformanceMetrics
    events: tuple[KernelEvent, ...]
    initial_balance: float


def run_schedule(request: ScheduleRequest, *, progress: Progress | None = None) -> ScheduleResult:
    """Run the kernel once over the window, switching strategies at the segments' starts."""
    candles = request.candles
    warmup = check_window(candles, request.initial_balance)
    timeframe = candles.timeframe
    assert timeframe is not None  # checked
    bars = bar_arrays(candles.frame)
    rows = _segment_rows(request.segments, bars.times_ns, warmup)
    instrument = market_rules(
        request.symbol, candles, request.instrument, request.initial_balance, request.config
    ).instrument
    for segment, (first, stop) in zip(request.segments, rows, strict=True):
        refuse_training_overlap(
            segment.strategy,
            bars.time(first),
            bars.time(stop - 1),
            allowed=request.overlap_allowed,
        )
    interval = timeframe.timedelta
    tracker = PerformanceTracker(request.initial_balance, interval)
    recorder: MemoryRecorder[ActiveTrade] = MemoryRecorder(tracker)
    history = ArrayHistory(bars.high, bars.low, bars.close)
    total = len(bars) - warmup
    balance = request.initial_balance
    order_seq = position_seq = 0
    outcomes: list[SegmentOutcome] = []
    for segment, (first, stop) in zip(request.segments, rows, strict=True):
        strategy = segment.strategy
        strategy.prepare(candles.frame)
        decisions = EarlyDecisions(strategy)
        kernel = BarDriver(
            config=request.config,
            instrument=instrument,
            positions=ActiveTradeAdapter(),
            decider=decisions,
            bar_interval=interval,
            history_bars=history_bars(strategy.warmup, request.config),
        )
        # A fresh session's state with the ids counting on: one run, unique ids.
        state = attrs.evolve(
            kernel.initial_state(balance), order_seq=order_seq, position_seq=position_seq
        )
        runner = KernelRunner(kernel, state, tracker, history, recorder=recorder)
        finder = QuietSpanFinder(kernel.context, bars, strategy.signal_mask(), decisions)
        events_before = len(recorder.events)
        walk_bars(
            runner,
            finder,
            bars,
            start=first,
            stop=stop,
            close_reason=END_OF_DATA,
            fast=request.fast,
            progress=None if progress is None else lambda index: progress(index - warmup, total),
        )
        ended = runner.state
        outcomes.append(
            SegmentOutcome(
                start=bars.time(first),
                end=bars.time(stop - 1),
                bars=stop - first,
                strategy=_strategy_info(strategy),
                starting_balance=balance,
                ending_equity=ended.equity,
                trades=_trades(recorder.events[events_before:]),
            )
        )
        balance = ended.equity
        order_seq, position_seq = ended.order_seq, ended.position_seq
    metrics = recorder.metrics()
    times, equity, close, exposure = recorder.curve()
    events = tuple(recorder.events)
    return ScheduleResult(
        segments=tuple(outcomes),
        trades=_trades(events),
        equity=EquityCurve(times_ns=times, equity=equity, close=close, exposure=exposure),
        metrics=metrics,
        events=events,
        initial_balance=request.initial_balance,
    )


def _segment_rows(
    segments: Sequence[Segment], times_ns: np.ndarray, warmup: int
) -> list[tuple[int, int]]:
    """Each segment's rows [first, stop) in the candles; refuses segments out of order, not
    starting at the window's first bar, or without a bar."""
    if not segments:
        raise DataError("a schedule needs at least one segment")
    starts = [
        int(np.searchsorted(times_ns, to_ns(segment.start), side="left")) for segment in segments
    ]
    if starts[0] != warmup or int(times_ns[warmup]) != to_ns(segments[0].start):
        raise DataError(
            f"the schedule's first segment starts at {segments[0].start:%Y-%m-%d %H:%M}, not at "
            "the window's first bar"
        )
    stops = [*starts[1:], len(times_ns)]
    for segment, first, stop in zip(segments, starts, stops, strict=True):
        if stop <= first:
            raise DataError(
                f"the schedule's segment starting {segment.start:%Y-%m-%d %H:%M} has no bar "
                "(segments must start in time order, each before the next)"
            )
    return list(zip(starts, stops, strict=True))


def _strategy_info(strategy: Strategy) -> StrategyInfo:
    model_id = model_path = None
    if isinstance(strategy, ModelBacked):
        model_id = strategy.model_artifact.artifact_id
        model_path = str(strategy.model_artifact.path)
    return StrategyInfo(
        name=strategy.name,
        parameters=dict(strategy.parameters),
        model_id=model_id,
        model_path=model_path,
    )


def _trades(events: Sequence[KernelEvent]) -> tuple[Trade, ...]:
    return tuple(event.trade for event in events if isinstance(event, PositionClosed))
