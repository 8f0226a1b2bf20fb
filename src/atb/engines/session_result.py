"""`session_result`: a stored live session as a `BacktestResult`, for the same summary.

`atb live` ends with the summary `atb backtest` prints. It is built from what the session
itself stored (never by running a backtest): its trades, its equity, cash and exposure at every
processed bar, its kernel event stream and its last kernel state. The metrics come from a
`PerformanceTracker` fed the way the backtest's `KernelRunner` feeds one (every bar's equity,
close and exposure; every fill from the `fill` events, in order; every closed trade), so on the
same bars the live session and the backtest report the same metrics.

One thing the store does not keep: the equity an ambiguous bar would have had under the other
intrabar order. The count of ambiguous bars is known, their PnL range is not (NaN: shown as
"not recorded").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from atb import __version__
from atb.domain.errors import AtbError
from atb.domain.events import OrderFilled
from atb.domain.pnl import unrealized_pnl
from atb.domain.timeframes import parse_timeframe
from atb.domain.timestamps import to_ns
from atb.engines.parity import session_candles, session_instrument
from atb.managers.performance import PerformanceTracker
from atb.persistence.records import EquityPoint, SessionRecord
from atb.persistence.store import SessionStore
from atb.results import (
    AmbiguityInfo,
    BacktestResult,
    DataInfo,
    EquityCurve,
    InstrumentInfo,
    OpenPosition,
    RunInfo,
    StrategyInfo,
)


def session_result(
    store: SessionStore,
    session: SessionRecord,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BacktestResult:
    """The session's trades, equity curve, metrics and events as a `BacktestResult`.

    `AtbError` if the session has not processed a bar yet. `clock` only stamps
    `run.created_at`.
    """
    candles = session_candles(store, session)
    rules = session_instrument(session)
    processed = store.processed_bars(session.id)
    points = store.equity(session.id)
    if [point.time for point in points] != [bar.time for bar in processed]:
        raise AtbError(
            f"session {session.id} in {store.path}: the equity points do not match the "
            "processed bars"
        )
    events = tuple(store.events(session.id))
    trades = tuple(store.trades(session.id))
    timeframe = parse_timeframe(session.timeframe)

    tracker = PerformanceTracker(session.initial_balance, timeframe.timedelta)
    for point, bar in zip(points, processed, strict=True):
        tracker.record_bar(point.time, point.equity, bar.close, point.exposure)
    for event in events:
        if isinstance(event, OrderFilled):
            tracker.record_fill(event.fill)
    for trade in trades:
        tracker.record_trade(trade)

    last = processed[-1]
    loaded = store.load_state(session.id)
    state = None if loaded is None else loaded[0]
    open_position = None
    if state is not None and state.position is not None:
        position = state.position
        open_position = OpenPosition(
            position=position,
            mark_price=last.close,
            mark_time=last.time,
            unrealized_pnl=unrealized_pnl(
                position.side, position.entry_price, position.quantity, last.close
            ),
        )
    warnings = []
    if candles.synthetic:
        warnings.append("synthetic data: the DEMO market is generated, not real prices")
    return BacktestResult(
        run=RunInfo(created_at=clock(), atb_version=__version__),
        data=DataInfo(
            symbol=session.symbol,
            timeframe=str(timeframe),
            start=processed[0].time,
            end=last.time,
            bars=len(processed),
            warmup_bars=candles.warmup_bars,
            fingerprint=candles.fingerprint(),
            source=candles.source,
            synthetic=candles.synthetic,
            gaps=tuple(
                (gap.start.to_pydatetime(), gap.end.to_pydatetime(), gap.missing_bars)
                for gap in candles.gaps
            ),
        ),
        strategy=StrategyInfo(
            name=session.strategy, parameters=dict(session.params), model_id=session.model_id
        ),
        config=dict(session.config),
        instrument=InstrumentInfo(
            instrument=rules.instrument, source=rules.source, warnings=rules.warnings
        ),
        initial_balance=session.initial_balance,
        trades=trades,
        open_position=open_position,
        equity=EquityCurve(
            times_ns=np.array([to_ns(point.time) for point in points], dtype=np.int64),
            equity=np.array([point.equity for point in points], dtype=np.float64),
            close=np.array([bar.close for bar in processed], dtype=np.float64),
            exposure=np.array([point.exposure for point in points], dtype=np.float64),
        ),
        metrics=tracker.metrics(),
        ambiguity=AmbiguityInfo(
            bars=0 if state is None else state.ambiguous_bars,
            pessimistic_pnl=_band_sum(points, 0, 0 if state is None else state.ambiguous_bars),
            optimistic_pnl=_band_sum(points, 1, 0 if state is None else state.ambiguous_bars),
        ),
        events=events,
        warnings=tuple(warnings),
    )


def _band_sum(points: Sequence[EquityPoint], side: int, ambiguous_bars: int) -> float:
    """The ambiguous bars' PnL summed under one reading (0: worse, 1: better); NaN when the
    store holds fewer bands than ambiguous bars (sessions recorded before it kept them)."""
    bands = [point.ambiguous_pnl for point in points if point.ambiguous_pnl is not None]
    if len(bands) < ambiguous_bars:
        return math.nan
    return sum(band[side] for band in bands)
