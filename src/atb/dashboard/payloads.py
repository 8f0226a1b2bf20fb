"""The JSON documents the dashboard serves, built from a store opened read-only.

Two documents: the **overview** (every session of a store, with its liveness and headline
figures: cheap, polled for the whole table) and a session's **detail** (charts, the open
position with its stop, target and ladder, trades with their legs, recent events and
rejections, health, the account of a real-money session). Each is read inside read
transactions, so it never shows half of a bar. Times are ISO 8601 UTC strings; money is plain
floats (the page formats them).
"""

from __future__ import annotations

import contextlib
import math
import threading
from datetime import UTC, datetime
from pathlib import Path

import attrs

from atb.domain.events import KernelEvent, OrderRejected
from atb.domain.models import LivePosition, Trade
from atb.domain.timeframes import parse_timeframe
from atb.engines.fill_quality import fill_quality
from atb.engines.live.log import event_fields
from atb.engines.parity import session_instrument
from atb.managers.kernel_state import KernelState
from atb.managers.order_journal import JournalStatus
from atb.managers.partials import PartialOperationsManager
from atb.persistence import series
from atb.persistence.liveness import LivenessVerdict, judge
from atb.persistence.order_journal import StoreJournal
from atb.persistence.records import SessionRecord
from atb.persistence.store import SessionStore
from atb.persistence.store_file import store_bytes

from .downsample import keep_indices

Json = dict[str, object]
"""A JSON object (values: JSON values)."""

MAX_CHART_POINTS = 2_000
"""Points per chart at most, whatever the session's length (see `downsample`)."""

RECENT_TRADES = 50
RECENT_EVENTS = 50
RECENT_REJECTIONS = 20


def iso(moment: datetime | None) -> str | None:
    """`2024-01-01T00:00:00Z`, or None."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def finite(value: float) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    return value if math.isfinite(value) else None


def liveness_of(session: SessionRecord, holder: int | None) -> LivenessVerdict:
    """The session's liveness under the one rule (`atb.persistence.liveness`)."""
    return judge(
        status=session.status,
        writer_pid=session.writer_pid,
        stopped_at=session.stopped_at,
        holder=holder,
    )


def liveness_json(verdict: LivenessVerdict) -> Json:
    """The verdict as JSON."""
    return {
        "state": verdict.state.value,
        "detail": verdict.detail,
        "pid": verdict.pid,
        "resumable": verdict.resumable,
    }


def session_row(store: SessionStore, session: SessionRecord, holder: int | None) -> Json:
    """One session's line of the overview: who it is, its liveness and headline figures."""
    with store.reading(f"read the figures of session {session.id}") as connection:
        counted = series.counts(connection, session.id)
        last = series.last_equity(connection, session.id)
    equity = None if last is None else last[1]
    return {
        "id": session.id,
        "strategy": session.strategy,
        "symbol": session.symbol,
        "timeframe": session.timeframe,
        "portfolio": session.portfolio_id,
        "liveness": liveness_json(liveness_of(session, holder)),
        "last_bar_time": iso(session.last_bar_time),
        "bars": counted.bars,
        "trades": counted.trades,
        "initial_balance": session.initial_balance,
        "equity": equity,
        "return": None if equity is None else equity / session.initial_balance - 1.0,
        "real": StoreJournal(store, session.id).baseline() is not None,
    }


def overview(store: SessionStore, holder: int | None) -> list[Json]:
    """Every session of the store, newest first."""
    return [session_row(store, session, holder) for session in reversed(store.list_sessions())]


@attrs.frozen(slots=True)
class SessionPanel:
    """A session's panel: the JSON document, and what the parity badge is keyed on."""

    document: Json
    portfolio: int | None
    bars: int
    last_bar_time: str | None


def session_panel(
    store: SessionStore,
    session_id: int,
    holder: int | None,
    *,
    now: datetime,
    max_points: int = MAX_CHART_POINTS,
) -> SessionPanel:
    """`session_detail`, with the session's progress beside it."""
    session = store.get_session(session_id)
    document = session_detail(store, session_id, holder, now=now, max_points=max_points)
    summary = document["summary"]
    bars = summary["bars"] if isinstance(summary, dict) else 0
    return SessionPanel(
        document=document,
        portfolio=session.portfolio_id,
        bars=bars if isinstance(bars, int) else 0,
        last_bar_time=iso(session.last_bar_time),
    )


def session_detail(
    store: SessionStore,
    session_id: int,
    holder: int | None,
    *,
    now: datetime,
    max_points: int = MAX_CHART_POINTS,
) -> Json:
    """Everything the session panel shows (without the parity verdict, computed apart)."""
    session = store.get_session(session_id)
    # Keyed by the last bar read before the rows: a bar committed in between only makes this
    # entry one bar fresher than its key, and the next poll reads again.
    key = (str(store.path), session.id, iso(session.last_bar_time), max_points)
    drawn = CURVES.get(key)
    with store.reading(f"read the charts of session {session.id}") as connection:
        if drawn is None:
            drawn = curve(series.equity_rows(connection, session.id), max_points)
            CURVES.put(key, drawn)
        counted = series.counts(connection, session.id)
        events = series.recent_events(connection, session.id, RECENT_EVENTS)
        rejections = series.recent_events(
            connection, session.id, RECENT_REJECTIONS, kind=OrderRejected.kind
        )
        trades = series.recent_trades(connection, session.id, RECENT_TRADES)
    loaded = store.load_state(session.id)
    state = None if loaded is None else loaded[0]
    verdict = liveness_of(session, holder)
    return {
        "session": _identity(session),
        "liveness": liveness_json(verdict),
        "summary": _summary(session, drawn, counted, state),
        "charts": drawn.charts,
        "position": None if state is None else _position(session, state),
        "pending": [] if state is None else _pending(state),
        "trades": [_trade(trade) for trade in trades],
        "events": [_event(seq, event) for seq, event in events],
        "rejections": [_event(seq, event) for seq, event in rejections],
        "health": _health(store.path, session, verdict, now),
        "account": _account(store, session),
    }


def _identity(session: SessionRecord) -> Json:
    return {
        "id": session.id,
        "strategy": session.strategy,
        "symbol": session.symbol,
        "timeframe": session.timeframe,
        "portfolio": session.portfolio_id,
        "params": dict(session.params),
        "initial_balance": session.initial_balance,
        "model_id": session.model_id,
        "status": session.status,
        "created_at": iso(session.created_at),
        "stopped_at": iso(session.stopped_at),
        "last_bar_time": iso(session.last_bar_time),
        "writer_pid": session.writer_pid,
        "writer_host": session.writer_host,
    }


def drawdowns(values: list[float]) -> list[float]:
    """Each equity's distance below its running peak, as a fraction (0 at a new peak)."""
    peak = -math.inf
    result: list[float] = []
    for value in values:
        peak = max(peak, value)
        result.append(value / peak - 1.0 if peak > 0 else 0.0)
    return result


@attrs.frozen(slots=True)
class Curve:
    """What the equity series gives the panel: the two charts, downsampled, and the figures
    read off the whole series."""

    charts: Json
    equity: float | None
    max_drawdown: float | None
    drawdown: float | None


def curve(rows: list[tuple[str, float]], max_points: int) -> Curve:
    """The charts and figures of a session's (bar time text, equity) rows."""
    times = [_iso_text(time) for time, _equity in rows]
    values = [equity for _time, equity in rows]
    dd = drawdowns(values)
    equity_kept = keep_indices(values, max_points)
    dd_kept = keep_indices(dd, max_points)
    charts: Json = {
        "points": len(rows),
        "equity": {"t": [times[i] for i in equity_kept], "v": [values[i] for i in equity_kept]},
        "drawdown": {"t": [times[i] for i in dd_kept], "v": [dd[i] for i in dd_kept]},
    }
    return Curve(
        charts=charts,
        equity=values[-1] if values else None,
        max_drawdown=min(dd) if dd else None,
        drawdown=dd[-1] if dd else None,
    )


class CurveCache:
    """The newest curves, by store, session and last bar: a session of 100,000 bars is read
    and downsampled once per new bar, not once per poll. Thread-safe (one reading thread per
    store shares it)."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._curves: dict[tuple[str, int, str | None, int], Curve] = {}

    def get(self, key: tuple[str, int, str | None, int]) -> Curve | None:
        """The cached curve, if any."""
        with self._lock:
            return self._curves.get(key)

    def put(self, key: tuple[str, int, str | None, int], value: Curve) -> None:
        """Keep `value`, forgetting the oldest beyond the size."""
        with self._lock:
            self._curves[key] = value
            while len(self._curves) > self._size:
                del self._curves[next(iter(self._curves))]


CURVES = CurveCache()
"""The process's curve cache."""


def _summary(
    session: SessionRecord,
    drawn: Curve,
    counted: series.SessionCounts,
    state: KernelState[LivePosition] | None,
) -> Json:
    equity = drawn.equity
    return {
        "bars": counted.bars,
        "trades": counted.trades,
        "events": counted.events,
        "equity": equity,
        "cash": None if state is None else state.cash,
        "return": None if equity is None else equity / session.initial_balance - 1.0,
        "max_drawdown": drawn.max_drawdown,
        "drawdown": drawn.drawdown,
        "close_only": None if state is None else state.close_only,
    }


def _iso_text(stored: str) -> str:
    """The store's fixed-width time text (`…T00:00:00.000000+00:00`) as `…T00:00:00Z`,
    without parsing it (100,000 of them per poll)."""
    return stored[:19] + "Z" if stored.endswith("+00:00") else stored


def _position(session: SessionRecord, state: KernelState[LivePosition]) -> Json | None:
    position = state.position
    if position is None:
        return None
    ladder: list[Json] = []
    partials = position.policies.partials
    if partials is not None:
        manager = PartialOperationsManager(session_instrument(session).instrument)
        for level in manager.levels(position, partials, allow_scale_in=not state.close_only):
            ladder.append({"kind": level.kind.value, "rung": level.rung + 1, "price": level.price})
    return {
        "id": position.position_id,
        "side": position.side.value,
        "quantity": position.quantity,
        "original_quantity": position.original_quantity,
        "entry_price": position.entry_price,
        "entry_time": iso(position.entry_time),
        "stop_loss": position.stop_loss,
        "take_profit": position.take_profit,
        "trailing": position.trailing_active,
        "breakeven": position.breakeven_active,
        "partial_exits": position.partial_exits_taken,
        "scale_ins": position.scale_ins_taken,
        # Margin-style accounting: equity = cash + unrealized PnL at the last close.
        "unrealized_pnl": state.equity - state.cash,
        "ladder": ladder,
    }


def _pending(state: KernelState[LivePosition]) -> list[Json]:
    return [
        {
            "order_id": order.order_id,
            "created_at": iso(order.created_at),
            "intent": order.intent.value,
            "reason": order.reason,
            "fraction": order.fraction,
        }
        for order in state.pending
    ]


def _trade(trade: Trade) -> Json:
    return {
        "id": trade.trade_id,
        "side": trade.side.value,
        "entry_time": iso(trade.entry_time),
        "exit_time": iso(trade.exit_time),
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "quantity": trade.quantity,
        "pnl": trade.pnl,
        "fees": trade.fees,
        "exit_reason": trade.exit_reason,
        "legs": [
            {
                "time": iso(leg.time),
                "action": leg.action.value,
                "kind": leg.kind.value,
                "price": leg.price,
                "quantity": leg.quantity,
                "fee": leg.fee,
                "reason": leg.reason,
            }
            for leg in trade.legs
        ],
    }


def _event(seq: int, event: KernelEvent) -> Json:
    fields = event_fields(event)
    fields.pop("event", None)
    fields.pop("bar_time", None)
    text = ", ".join(f"{key}={_plain(value)}" for key, value in fields.items())
    return {"seq": seq, "time": iso(event.time), "kind": event.kind, "text": text}


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _health(path: Path, session: SessionRecord, verdict: LivenessVerdict, now: datetime) -> Json:
    """What the store says about the session's pulse: its newest bar and how late it is, and
    when the store was last written (the writer's heartbeat: every bar is a commit)."""
    last_bar = session.last_bar_time
    bar_close = None
    lag = None
    if last_bar is not None:
        bar_close = last_bar + parse_timeframe(session.timeframe).timedelta
        lag = max(0.0, (now - bar_close).total_seconds())
    written = _last_write(path)
    return {
        "last_bar_time": iso(last_bar),
        "last_bar_close": iso(bar_close),
        "feed_lag_seconds": lag,
        "last_write": iso(written),
        "last_write_seconds": None if written is None else (now - written).total_seconds(),
        "running": verdict.pid is not None,
        "pid": verdict.pid,
        "host": session.writer_host,
        "store_bytes": store_bytes(path),
    }


def _last_write(path: Path) -> datetime | None:
    """The newest modification time of the database and its write-ahead log."""
    times: list[float] = []
    for part in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            times.append(part.stat().st_mtime)
    if not times:
        return None
    return datetime.fromtimestamp(max(times), tz=UTC)


def _account(store: SessionStore, session: SessionRecord) -> Json:
    """Paper, or a real-money session's reconciliation and fill deviations."""
    journal = StoreJournal(store, session.id)
    baseline = journal.baseline()
    if baseline is None:
        return {"mode": "paper"}
    orders = journal.orders()
    by_status: dict[str, int] = {}
    for order in orders:
        by_status[order.status.value] = by_status.get(order.status.value, 0) + 1
    unresolved = sum(
        1 for order in orders if order.status in (JournalStatus.INTENT, JournalStatus.CANCEL_INTENT)
    )
    quality = fill_quality(
        journal.fill_pairs(), configured_slippage=session.run_configuration().costs.slippage
    )
    return {
        "mode": "live trading",
        "baseline": {
            "base_asset": baseline.base_asset,
            "quote_asset": baseline.quote_asset,
            "outside_base": baseline.outside_base,
            "outside_quote": baseline.outside_quote,
            "adopted": baseline.adopted,
        },
        "reconciliation": (
            f"{unresolved} journalled order(s) not yet confirmed by the exchange: the next "
            "start reconciles them by client id"
            if unresolved
            else "every journalled order is confirmed by the exchange; the account was "
            "reconciled when the session last started"
        ),
        "orders": by_status,
        "open_orders": [
            {
                "client_id": order.client_id,
                "side": order.side,
                "shape": order.shape.value,
                "quantity": order.quantity,
                "price": order.price,
                "stop_price": order.stop_price,
                "level": None if order.level is None else order.level.value,
            }
            for order in orders
            if order.status is JournalStatus.OPEN
        ],
        "fill_quality": quality.as_dict(),
    }
