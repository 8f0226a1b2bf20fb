"""`run_backtest`: feed closed bars to the shared kernel with `ActiveTrade` positions.

The engine owns no price or size arithmetic: bars go through `Kernel.step` (via a
`KernelRunner`), and runs of quiet bars through `QuietSpanFinder`, both in `atb.managers`.
Deterministic: the same candles, strategy and config give identical results.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np

from atb import __version__
from atb.config import config_to_dict
from atb.data.candles import ValidatedCandles
from atb.data.detail import inconsistent_bars
from atb.data.instruments import ResolvedInstrument, default_instrument
from atb.domain.errors import DataError
from atb.domain.events import KernelEvent, OrderFilled, PositionClosed
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade
from atb.domain.pnl import unrealized_pnl
from atb.engines.backtest.arrays import DetailIndex, bar_arrays
from atb.engines.backtest.early_decisions import EarlyDecisions
from atb.engines.backtest.quiet_span import BarArrays, QuietSpanFinder
from atb.engines.backtest.runner import KernelRunner
from atb.engines.collection_pacing import paced_collections
from atb.engines.driver import BarDriver
from atb.managers.lookback import history_bars
from atb.managers.performance import PerformanceTracker
from atb.managers.positions import ActiveTradeAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.volatility import ArrayHistory
from atb.results import (
    AmbiguityInfo,
    BacktestResult,
    DataInfo,
    DetailInfo,
    EquityCurve,
    InstrumentInfo,
    OpenPosition,
    PolicyUse,
    RunInfo,
    StrategyInfo,
)
from atb.strategies.ml_artifact import training_window_overlaps
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.training_overlap import refuse_training_overlap

Progress = Callable[[int, int], None]
"""Called with (bars done, bars total) as the run advances."""

END_OF_DATA = "end of data"
"""Exit reason of a position closed at the last bar with `close_at_end`."""

_PROGRESS_EVERY = 4096
_SETTLE_EVERY = 2048
"""Stepped bars between two settlings of what the run keeps (`collection_pacing`)."""


@attrs.frozen(slots=True, kw_only=True)
class BacktestRequest:
    """What to run: the strategy, the candles (warm-up rows first), config and account."""

    strategy: Strategy
    candles: ValidatedCandles
    config: RunConfiguration
    symbol: str
    initial_balance: float = 10_000.0
    close_at_end: bool = False
    overlap_allowed: bool = False
    instrument: ResolvedInstrument | None = None
    """The market's rules and where they came from (default: built-in rules, else inferred from
    the candles' precision, with a warning)."""
    fast: bool = True
    """Advance quiet bars in bulk (identical results; False steps every bar, for proofs)."""
    id_prefix: str = "bt"
    """Prefix of order and position ids (a live session's own prefix when checking parity)."""
    detail: ValidatedCandles | None = None
    """Lower-timeframe candles covering the window: resting levels are resolved on them."""
    data_file: Path | None = None
    """The file the candles were read from (recorded, so the run can be repeated)."""
    detail_file: Path | None = None
    """The file the detail candles were read from."""
    drop_outliers: bool = False
    """Whether the candles were loaded with bad prints removed (recorded for reruns)."""


def run_backtest(
    request: BacktestRequest,
    *,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BacktestResult:
    """Run one backtest and return everything it produced.

    `clock` only stamps `run.created_at`; nothing else reads the wall clock.
    """
    candles = request.candles
    warmup = check_window(candles, request.initial_balance)
    strategy = request.strategy
    refuse_training_overlap(
        strategy,
        candles.index[warmup].to_pydatetime(),
        candles.index[-1].to_pydatetime(),
        allowed=request.overlap_allowed,
    )
    strategy.prepare(candles.frame)
    bars = bar_arrays(candles.frame)
    resolved = market_rules(
        request.symbol, candles, request.instrument, request.initial_balance, request.config
    )
    instrument = resolved.instrument
    runner = _simulate(request, bars, instrument, progress)
    state = runner.state
    events = tuple(runner.events)
    metrics = runner.metrics()

    ambiguity = AmbiguityInfo(
        bars=state.ambiguous_bars,
        pessimistic_pnl=runner.ambiguous_pnl_low,
        optimistic_pnl=runner.ambiguous_pnl_high,
    )

    last = len(bars) - 1
    open_position = None
    if state.position is not None:
        position = state.position
        mark = float(bars.close[last])
        open_position = OpenPosition(
            position=position,
            mark_price=mark,
            mark_time=bars.time(last),
            unrealized_pnl=unrealized_pnl(
                position.side, position.entry_price, position.quantity, mark
            ),
        )
    warnings: list[str] = list(resolved.warnings)
    disagreeing = 0
    if request.detail is not None:
        times = inconsistent_bars(candles, request.detail)
        disagreeing = int(np.count_nonzero(times >= bars.times_ns[warmup]))
    if disagreeing:
        warnings.append(
            f"{disagreeing} bar(s) had finer candles lying outside them: those bars were "
            "resolved by the intrabar policy instead"
        )
    needed = history_bars(strategy.warmup, request.config)
    if warmup < needed:
        warnings.append(
            f"only {warmup} bar(s) of history before the window, the run needs {needed}: "
            "the first decisions see a shorter history than later ones"
        )
    if candles.synthetic:
        warnings.append("synthetic data: the DEMO market is generated, not real prices")
    if request.overlap_allowed and _overlaps_training(strategy, candles):
        warnings.append("the backtest window overlaps the model's training window (allowed)")
    model_id = model_path = None
    if isinstance(strategy, ModelBacked):
        model_id = strategy.model_artifact.artifact_id
        model_path = str(strategy.model_artifact.path)
    curve = runner.curve()
    return BacktestResult(
        run=RunInfo(created_at=clock(), atb_version=__version__),
        data=describe_data(
            request.symbol,
            candles,
            bars,
            data_file=request.data_file,
            drop_outliers=request.drop_outliers,
            detail=request.detail,
            detail_file=request.detail_file,
        ),
        strategy=StrategyInfo(
            name=strategy.name,
            parameters=dict(strategy.parameters),
            model_id=model_id,
            overlap_allowed=request.overlap_allowed,
            model_path=model_path,
        ),
        config=config_to_dict(request.config),
        instrument=InstrumentInfo(
            instrument=instrument, source=resolved.source, warnings=resolved.warnings
        ),
        initial_balance=request.initial_balance,
        trades=tuple(event.trade for event in events if isinstance(event, PositionClosed)),
        open_position=open_position,
        equity=EquityCurve(times_ns=curve[0], equity=curve[1], close=curve[2], exposure=curve[3]),
        metrics=metrics,
        ambiguity=ambiguity,
        events=events,
        closed_at_end=request.close_at_end,
        warnings=tuple(warnings),
        policies=tuple(
            PolicyUse(policies=policies, attached=count)
            for policies, count in runner.policy_uses.items()
        ),
        zero_volume_fills=_zero_volume_fills(events, candles, request.detail),
    )


def check_window(candles: ValidatedCandles, initial_balance: float) -> int:
    """Refuse candles without a timeframe or a bar in the window, or an account without money;
    the number of warm-up rows before the window."""
    if candles.timeframe is None:
        raise DataError(f"{candles.source}: the candles' timeframe is unknown")
    warmup = candles.warmup_bars
    if len(candles) - warmup <= 0:
        raise DataError(f"{candles.source}: no bars in the requested window")
    if not initial_balance > 0:
        raise DataError(f"--initial-balance must be > 0, got {initial_balance}")
    return warmup


def market_rules(
    symbol: str,
    candles: ValidatedCandles,
    given: ResolvedInstrument | None,
    initial_balance: float,
    config: RunConfiguration,
) -> ResolvedInstrument:
    """The market's rules (`given`, else the defaults for `symbol`), checked against the
    candles' prices and the account (a balance too small for the smallest order is refused)."""
    resolved = given or default_instrument(symbol, candles.frame)
    lowest, highest, typical = price_range(candles)
    resolved.instrument.check_prices(lowest, highest)
    resolved.instrument.check_account(initial_balance, config.risk.limits.position_cap, typical)
    return resolved


def describe_data(
    symbol: str,
    candles: ValidatedCandles,
    bars: BarArrays,
    *,
    data_file: Path | None,
    drop_outliers: bool,
    detail: ValidatedCandles | None = None,
    detail_file: Path | None = None,
) -> DataInfo:
    """What a run records about one symbol's candles (window, fingerprint, gaps, source)."""
    warmup = candles.warmup_bars
    last = len(bars) - 1
    return DataInfo(
        symbol=symbol,
        timeframe=str(candles.timeframe),
        start=bars.time(warmup),
        end=bars.time(last),
        bars=len(bars) - warmup,
        warmup_bars=warmup,
        fingerprint=candles.fingerprint(),
        source=candles.source,
        synthetic=candles.synthetic,
        gaps=tuple(
            (gap.start.to_pydatetime(), gap.end.to_pydatetime(), gap.missing_bars)
            for gap in candles.gaps
        ),
        file=None if data_file is None else str(data_file),
        notes=candles.notes,
        suspicious=tuple(bar.describe() for bar in candles.suspicious),
        dropped=tuple(bar.describe() for bar in candles.dropped),
        drop_outliers=drop_outliers,
        detail=None
        if detail is None
        else DetailInfo(
            timeframe=str(detail.timeframe),
            fingerprint=detail.fingerprint(),
            file=None if detail_file is None else str(detail_file),
        ),
    )


def _zero_volume_fills(
    events: tuple[KernelEvent, ...], candles: ValidatedCandles, detail: ValidatedCandles | None
) -> int:
    """Fills in a bar (or, with detail, a finer candle) whose volume is zero."""
    empty = _zero_volume_times(candles)
    finer = _zero_volume_times(detail) if detail is not None else set()
    if not empty and not finer:
        return 0
    return sum(
        1
        for event in events
        if isinstance(event, OrderFilled) and (event.time in empty or event.fill.time in finer)
    )


def _zero_volume_times(candles: ValidatedCandles) -> set[datetime]:
    frame = candles.frame
    return {time.to_pydatetime() for time in frame.index[frame["volume"].to_numpy() == 0]}


def _overlaps_training(strategy: Strategy, candles: ValidatedCandles) -> bool:
    if not isinstance(strategy, ModelBacked):
        return False
    start = candles.index[candles.warmup_bars].to_pydatetime()
    end = candles.index[-1].to_pydatetime()
    return training_window_overlaps(strategy.model_artifact, start, end)


def price_range(candles: ValidatedCandles) -> tuple[float, float, float]:
    """Lowest low, highest high and median close, leaving out bars flagged as bad prints (they
    are reported as such; judging the market's rules by a 0.06 print on a 25,000 market would
    mislead)."""
    frame = candles.frame
    if candles.suspicious:
        flagged = {bar.time for bar in candles.suspicious}
        kept = frame[~frame.index.isin(list(flagged))]
        frame = kept if len(kept) else frame
    return (
        float(frame["low"].min()),
        float(frame["high"].max()),
        float(frame["close"].median()),
    )


def _simulate(
    request: BacktestRequest,
    bars: BarArrays,
    instrument: Instrument,
    progress: Progress | None,
) -> KernelRunner[ActiveTrade]:
    """One pass of the kernel over the window (warm-up rows are never stepped)."""
    candles = request.candles
    assert candles.timeframe is not None
    interval = candles.timeframe.timedelta
    decisions = EarlyDecisions(request.strategy)
    kernel = BarDriver(
        config=request.config,
        instrument=instrument,
        positions=ActiveTradeAdapter(),
        decider=decisions,
        bar_interval=interval,
        id_prefix=request.id_prefix,
        history_bars=history_bars(request.strategy.warmup, request.config),
    )
    tracker = PerformanceTracker(request.initial_balance, interval)
    history = ArrayHistory(bars.high, bars.low, bars.close)
    runner = KernelRunner(kernel, kernel.initial_state(request.initial_balance), tracker, history)
    finder = QuietSpanFinder(kernel.context, bars, request.strategy.signal_mask(), decisions)
    detail = None
    if request.detail is not None:
        excluded = inconsistent_bars(candles, request.detail)
        detail = DetailIndex(request.detail, interval, excluded)
    start = candles.warmup_bars
    total = len(bars)
    walk_bars(
        runner,
        finder,
        bars,
        start=start,
        stop=total,
        close_reason=END_OF_DATA if request.close_at_end else None,
        fast=request.fast,
        detail=detail,
        progress=None if progress is None else lambda index: progress(index - start, total - start),
    )
    return runner


def walk_bars(
    runner: KernelRunner[ActiveTrade],
    finder: QuietSpanFinder[ActiveTrade],
    bars: BarArrays,
    *,
    start: int,
    stop: int,
    close_reason: str | None,
    fast: bool,
    detail: DetailIndex | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Feed rows `start` … `stop − 1` to `runner`, quiet runs in bulk when `fast`; with
    `close_reason`, the position still open at row `stop − 1` is closed at its close.
    `progress` gets the next row to feed, every few thousand rows and once at the end."""
    # The last bar is always stepped: it may have to close the open position.
    quiet_stop = stop - 1
    index = start
    reported = index
    stepped = 0
    with paced_collections() as pacing:
        while index < stop:
            if progress is not None and index - reported >= _PROGRESS_EVERY:
                progress(index)
                reported = index
            if fast and index < quiet_stop:
                span = finder.advance(runner.book, index, quiet_stop)
                if span is not None:
                    runner.advance(span, bars, index)
                    index = span.end
                    continue
            reason = close_reason if index == stop - 1 else None
            bar = finder.bar(index)
            finer = None if detail is None else detail.inside(bars.times_ns[index])
            runner.feed(bar, index, close_reason=reason, detail=finer)
            index += 1
            stepped += 1
            if stepped % _SETTLE_EVERY == 0:
                pacing.settle()  # what the run keeps so far, out of the collector's way
    if progress is not None:
        progress(stop)
