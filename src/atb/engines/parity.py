"""Parity: re-run a live session's exact candles through the backtest engine and diff the two.

The store holds what a session consumed: its warm-up history and every processed candle, with
the session's config, strategy parameters and model id. `backtest_session` replays exactly
those candles with the session's own id prefix, so both sides must produce the same event
stream (decisions, orders, fills, stop moves, partial exits, scale-ins, tier changes, closed
trades) and the same equity at every bar. `compare_session` lists the first differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import attrs

from atb.data.bars import frame_from_bars
from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument, instrument_for
from atb.data.validation import validate_candles
from atb.domain.errors import AtbError, StrategyError
from atb.domain.events import DecisionMade, KernelEvent
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.fill_quality import FillQuality, fill_quality
from atb.engines.live.log import event_fields
from atb.persistence.order_journal import StoreJournal
from atb.persistence.records import SessionRecord
from atb.persistence.store import SessionStore
from atb.results import BacktestResult
from atb.strategies.protocol import ModelBacked
from atb.strategies.registry import StrategyContext, create_strategy

MIN_MEANINGFUL_BARS = 50
"""A parity check over fewer bars than this is reported, but with a warning."""


@attrs.frozen(slots=True)
class Divergence:
    """One place where live and backtest differ: which stream, where, and both sides."""

    stream: str
    """"events" or "equity"."""
    index: int
    time: datetime | None
    live: str
    backtest: str


@attrs.frozen(slots=True)
class ParityReport:
    """The comparison of one session with its backtest replay."""

    session_id: int
    bars: int
    """Bars compared (each processed bar's equity)."""
    events: int
    """Live events compared."""
    divergences: tuple[Divergence, ...]
    total_divergences: int
    warmup_bars: int = 0
    """Bars of history before the first compared bar (fed to indicators, never stepped)."""
    fills: FillQuality | None = None
    """For a session that traded on an exchange: its fills beside the simulated ones. Such a
    session is compared on its decisions only (its fills are the exchange's, not the model's)."""
    portfolio: bool = False
    """True when `session_id` is a live portfolio's id (its members compared with the portfolio
    backtest of their candles)."""

    @property
    def subject(self) -> str:
        """What was compared, for messages: `session 3` or `portfolio 1`."""
        return f"{'portfolio' if self.portfolio else 'session'} {self.session_id}"

    @property
    def identical(self) -> bool:
        """True when not a single compared event or equity value differs."""
        return self.total_divergences == 0

    @property
    def real(self) -> bool:
        """True for a session that traded on an exchange (decisions compared, fills measured)."""
        return self.fills is not None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Why an identical verdict may prove little: too few bars, or no event at all."""
        found: list[str] = []
        if self.bars < MIN_MEANINGFUL_BARS:
            found.append(
                f"only {self.bars} bar(s) compared (fewer than {MIN_MEANINGFUL_BARS}): "
                "this comparison proves little"
            )
        if self.events == 0:
            found.append("no event to compare: the strategy never acted on these bars")
        return tuple(found)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (for `atb parity --json`)."""
        document: dict[str, object] = {
            "portfolio" if self.portfolio else "session": self.session_id,
            "identical": self.identical,
            "bars": self.bars,
            "warmup_bars": self.warmup_bars,
            "events": self.events,
            "warnings": list(self.warnings),
            "total_divergences": self.total_divergences,
            "divergences": [
                {
                    "stream": d.stream,
                    "index": d.index,
                    "time": None if d.time is None else d.time.isoformat(),
                    "live": d.live,
                    "backtest": d.backtest,
                }
                for d in self.divergences
            ],
        }
        if self.fills is not None:
            document["decisions_identical"] = self.identical
            document["fill_quality"] = self.fills.as_dict()
        return document


def session_candles(store: SessionStore, session: SessionRecord) -> ValidatedCandles:
    """The candles a session consumed: warm-up history first, then every processed bar."""
    history = store.history_bars(session.id)
    processed = store.processed_bars(session.id)
    if not processed:
        raise AtbError(f"session {session.id} in {store.path} has not processed any bar yet")
    candles = validate_candles(
        frame_from_bars([*history, *processed]),
        source=f"live session {session.id} ({store.path})",
        timeframe=session.timeframe,
    )
    return attrs.evolve(candles, warmup_bars=len(history))


def backtest_session(
    store: SessionStore,
    session: SessionRecord,
    *,
    model_dir: Path | None = None,
    overlap_allowed: bool = False,
) -> BacktestResult:
    """The backtest of exactly the session's candles, config, parameters and model.

    Like any backtest it refuses bars of the model's training window unless `overlap_allowed`.
    """
    context = StrategyContext(
        symbol=session.symbol, timeframe=session.timeframe, model_dir=model_dir
    )
    strategy = create_strategy(session.strategy, dict(session.params), context)
    if isinstance(strategy, ModelBacked) and session.model_id is not None:
        found = strategy.model_artifact.artifact_id
        if found != session.model_id:
            raise StrategyError(
                f"session {session.id} ran model {session.model_id}, but the model directory "
                f"now holds {found}; point --model-dir at the session's model"
            )
    config = session.run_configuration()
    detail = None
    detail_timeframe = config.fills.detail_timeframe
    if detail_timeframe is not None:
        detail = validate_candles(
            frame_from_bars(store.detail_bars(session.id)),
            source=f"live session {session.id} detail ({store.path})",
            timeframe=detail_timeframe,
        )
    request = BacktestRequest(
        strategy=strategy,
        candles=session_candles(store, session),
        config=config,
        symbol=session.symbol,
        initial_balance=session.initial_balance,
        instrument=session_instrument(session),
        id_prefix=session.id_prefix,
        detail=detail,
        overlap_allowed=overlap_allowed,
    )
    return run_backtest(request)


def session_instrument(session: SessionRecord) -> ResolvedInstrument:
    """The rules the session recorded; sessions from before they were recorded used atb's
    built-in rules for their symbol."""
    if session.instrument is not None:
        return ResolvedInstrument(session.instrument, session.instrument_source or "session")
    return ResolvedInstrument(instrument_for(session.symbol), "built-in rules (older session)")


def _describe(event: KernelEvent | None) -> str:
    if event is None:
        return "(none)"
    fields = event_fields(event)
    kind = fields.pop("event")
    fields.pop("bar_time", None)
    return f"{kind} " + ", ".join(f"{key}={value}" for key, value in fields.items())


def diff_events(
    stream: str,
    live_events: Sequence[KernelEvent],
    backtest_events: Sequence[KernelEvent],
    divergences: list[Divergence],
    limit: int,
) -> int:
    """Compare two event streams in order; note the first divergences (up to `limit` in
    `divergences`), count them all."""
    total = 0
    for index in range(max(len(live_events), len(backtest_events))):
        live = live_events[index] if index < len(live_events) else None
        backtest = backtest_events[index] if index < len(backtest_events) else None
        if live != backtest:
            total += 1
            if len(divergences) < limit:
                either = live if live is not None else backtest
                time = either.time if either is not None else None
                divergences.append(
                    Divergence(stream, index, time, _describe(live), _describe(backtest))
                )
    return total


def compare_session(
    store: SessionStore,
    session_id: int | None = None,
    *,
    model_dir: Path | None = None,
    limit: int = 10,
    overlap_allowed: bool = False,
) -> ParityReport:
    """Diff a session (default: the latest) against its backtest replay, event by event and
    equity bar by bar; keep the first `limit` divergences."""
    session = store.get_session(session_id) if session_id is not None else store.latest_session()
    if session is None:
        raise AtbError(f"no live session in {store.path}")
    if session.portfolio_id is not None:
        raise AtbError(
            f"session {session.id} is the {session.symbol} member of portfolio "
            f"{session.portfolio_id}; compare the portfolio with --portfolio "
            f"{session.portfolio_id}"
        )
    result = backtest_session(store, session, model_dir=model_dir, overlap_allowed=overlap_allowed)
    journal = StoreJournal(store, session.id)
    real = journal.baseline() is not None
    # A running session goes on committing bars while this reads: its candles were read first,
    # so compare what it recorded up to the last bar the replay saw, not bars committed since.
    replayed_to = result.data.end
    live_events = [event for event in store.events(session.id) if event.time <= replayed_to]
    points = [point for point in store.equity(session.id) if point.time <= replayed_to]
    divergences: list[Divergence] = []
    total = 0
    if real:
        # Real fills are the exchange's: the decisions must agree, the fills are measured.
        live_decisions = [e for e in live_events if isinstance(e, DecisionMade)]
        backtest_decisions = [e for e in result.events if isinstance(e, DecisionMade)]
        total = diff_events("decisions", live_decisions, backtest_decisions, divergences, limit)
        config = session.run_configuration()
        quality = fill_quality(journal.fill_pairs(), configured_slippage=config.costs.slippage)
        return ParityReport(
            session_id=session.id,
            bars=len(points),
            events=len(live_decisions),
            divergences=tuple(divergences),
            total_divergences=total,
            warmup_bars=result.data.warmup_bars,
            fills=quality,
        )
    total = diff_events("events", live_events, result.events, divergences, limit)
    curve = result.equity
    for index in range(max(len(points), len(curve.equity))):
        live_value = points[index].equity if index < len(points) else None
        backtest_value = float(curve.equity[index]) if index < len(curve.equity) else None
        if live_value != backtest_value:
            total += 1
            if len(divergences) < limit:
                time = points[index].time if index < len(points) else None
                divergences.append(
                    Divergence("equity", index, time, repr(live_value), repr(backtest_value))
                )
    return ParityReport(
        session_id=session.id,
        bars=len(points),
        events=len(live_events),
        divergences=tuple(divergences),
        total_divergences=total,
        warmup_bars=result.data.warmup_bars,
    )
