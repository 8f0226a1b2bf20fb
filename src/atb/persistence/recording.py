"""The body of the one transaction that records a processed bar (`SessionStore.record_bar`).

Everything here runs inside `BEGIN IMMEDIATE … COMMIT` opened by the store: on any error the
store rolls back, so either every row of the bar is written or none is. Order lifecycle, as the
kernel's events describe it:

- `OrderPlaced` inserts the order as `pending` (with its sizing from the state's pending
  orders): the intent is in the store before the next bar acts on it. A plain INSERT, so a
  reused client order id violates `orders.order_id UNIQUE` and fails the whole bar.
- `OrderFilled` / `OrderRejected` resolve a pending order, or insert an order the kernel created
  and resolved inside the bar (resting levels, refused entries) with a NULL intent.
- `PoliciesSwapped` marks the pending policy-swap order as filled (applied).
- A pending order that is neither in the new state's pending orders nor resolved was dropped
  by the kernel: `cancelled`.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from atb.domain.bars import Bar
from atb.domain.events import (
    KernelEvent,
    OrderFilled,
    OrderPlaced,
    OrderRejected,
    PoliciesSwapped,
    PositionClosed,
)
from atb.domain.models import LivePosition, Trade
from atb.managers.kernel_state import KernelState
from atb.managers.orders import MarketOrder, OrderIntent
from atb.persistence.errors import StoreError
from atb.persistence.fields import dump_time, dumps, load_time, now_text
from atb.persistence.mappers import (
    fill_to_dict,
    policies_to_dict,
    position_to_dict,
    state_to_dict,
)
from atb.persistence.mappers_events import event_to_dict


def insert_session(
    connection: sqlite3.Connection,
    *,
    strategy: str,
    symbol: str,
    timeframe: str,
    params_text: str,
    config_text: str,
    initial_balance: float,
    model_id: str | None,
    id_prefix: str | None,
    instrument_text: str | None,
    portfolio_id: int | None = None,
) -> int:
    """Insert a new active session (inside the caller's transaction) and return its id;
    `id_prefix` defaults to `s<id>`."""
    (session_id,) = connection.execute(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'sessions'), 0) + 1"
    ).fetchone()
    connection.execute(
        "INSERT INTO sessions (id, strategy, params, config, symbol, timeframe,"
        " initial_balance, model_id, id_prefix, status, created_at, writer_pid,"
        " writer_host, instrument, portfolio_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
        (
            session_id,
            strategy,
            params_text,
            config_text,
            symbol,
            timeframe,
            float(initial_balance),
            model_id,
            id_prefix if id_prefix is not None else f"s{session_id}",
            now_text(),
            os.getpid(),
            socket.gethostname(),
            instrument_text,
            portfolio_id,
        ),
    )
    return int(session_id)


def write_bar(
    connection: sqlite3.Connection,
    session_id: int,
    bar: Bar,
    *,
    events: Sequence[KernelEvent],
    state: KernelState[LivePosition],
    equity: float,
    exposure: float,
    detail: Sequence[Bar] = (),
    ambiguous_pnl: tuple[float, float] | None = None,
) -> None:
    """Write one processed bar and everything it produced (inside the caller's transaction)."""
    _check_next_bar(connection, session_id, bar.time)
    when = dump_time(bar.time)
    connection.execute(
        "INSERT INTO bars (session_id, time, open, high, low, close, volume)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, when, bar.open, bar.high, bar.low, bar.close, bar.volume),
    )
    connection.executemany(
        "INSERT INTO detail_bars (session_id, bar_time, time, open, high, low, close, volume)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                session_id,
                when,
                dump_time(fine.time),
                fine.open,
                fine.high,
                fine.low,
                fine.close,
                fine.volume,
            )
            for fine in detail
        ],
    )
    _write_events(connection, session_id, when, events)
    pending = {order.order_id: order for order in state.pending}
    for event in events:
        match event:
            case OrderPlaced():
                _insert_order(connection, session_id, when, event, pending.get(event.order_id))
            case OrderRejected():
                _resolve(
                    connection,
                    session_id,
                    when,
                    event.order_id,
                    status="rejected",
                    reason=event.reason,
                )
            case OrderFilled():
                fill = event.fill
                _resolve(
                    connection, session_id, when, fill.order_id, status="filled", reason=fill.reason
                )
                _insert_fill(connection, session_id, when, event)
            case PoliciesSwapped():
                connection.execute(
                    "UPDATE orders SET status = 'filled', updated_at = ?"
                    " WHERE session_id = ? AND status = 'pending' AND intent = ?",
                    (when, session_id, OrderIntent.SWAP_POLICIES.value),
                )
            case PositionClosed():
                _close_position(connection, session_id, when, event.trade)
            case _:
                pass
    _settle_pending(connection, session_id, when, pending)
    if state.position is not None:
        _upsert_open_position(connection, session_id, when, state.position)
    connection.execute(
        "INSERT INTO equity (session_id, bar_time, equity, cash, exposure, ambiguous_low,"
        " ambiguous_high) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            when,
            equity,
            state.cash,
            exposure,
            None if ambiguous_pnl is None else ambiguous_pnl[0],
            None if ambiguous_pnl is None else ambiguous_pnl[1],
        ),
    )
    state_text = dumps(state_to_dict(state))
    connection.execute(
        "INSERT INTO kernel_states (session_id, bar_time, state, checksum) VALUES (?, ?, ?, ?)",
        (session_id, when, state_text, state_checksum(state_text)),
    )
    connection.execute("UPDATE sessions SET last_bar_time = ? WHERE id = ?", (when, session_id))


def write_intervention(
    connection: sqlite3.Connection,
    session_id: int,
    bar_time: datetime,
    *,
    events: Sequence[KernelEvent],
    state: KernelState[LivePosition],
) -> None:
    """Amend the state after the session's last bar with orders queued outside the strategy
    (a flatten): the events and orders are added, the state replaced (inside the caller's
    transaction). Refuses any bar but the last processed one."""
    when = dump_time(bar_time)
    row = connection.execute(
        "SELECT last_bar_time FROM sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None or row[0] != when:
        raise StoreError(
            f"session {session_id}: only the state after the last processed bar can be amended"
        )
    _write_events(connection, session_id, when, events)
    pending = {order.order_id: order for order in state.pending}
    for event in events:
        if isinstance(event, OrderPlaced):
            _insert_order(connection, session_id, when, event, pending.get(event.order_id))
    state_text = dumps(state_to_dict(state))
    connection.execute(
        "UPDATE kernel_states SET state = ?, checksum = ? WHERE session_id = ? AND bar_time = ?",
        (state_text, state_checksum(state_text), session_id, when),
    )


def _check_next_bar(connection: sqlite3.Connection, session_id: int, time: datetime) -> None:
    row = connection.execute(
        "SELECT status, last_bar_time FROM sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None:
        raise StoreError(f"no session {session_id}")
    status, last = row
    if status != "active":
        raise StoreError(f"session {session_id} is {status}; it records no more bars")
    if last is not None:
        last_time = load_time(last, "sessions.last_bar_time")
        if time <= last_time:
            raise StoreError(
                f"bar {dump_time(time)} is not after the last processed bar {last} of "
                f"session {session_id}; bars must be recorded once each, in time order"
            )


def _write_events(
    connection: sqlite3.Connection, session_id: int, when: str, events: Sequence[KernelEvent]
) -> None:
    (last_seq,) = connection.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = ?", (session_id,)
    ).fetchone()
    connection.executemany(
        "INSERT INTO events (session_id, seq, bar_time, kind, payload) VALUES (?, ?, ?, ?, ?)",
        [
            (session_id, last_seq + offset, when, event.kind, dumps(event_to_dict(event)))
            for offset, event in enumerate(events, start=1)
        ],
    )


def _insert_order(
    connection: sqlite3.Connection,
    session_id: int,
    when: str,
    event: OrderPlaced,
    order: MarketOrder | None,
) -> None:
    connection.execute(
        "INSERT INTO orders (session_id, order_id, created_at, intent, reason, fraction,"
        " stop_loss_pct, take_profit_pct, policies, status, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        (
            session_id,
            event.order_id,
            dump_time(event.time),
            event.intent.value,
            event.reason,
            None if order is None else order.fraction,
            None if order is None else order.stop_loss_pct,
            None if order is None else order.take_profit_pct,
            None
            if order is None or order.policies is None
            else dumps(policies_to_dict(order.policies)),
            when,
        ),
    )


def _resolve(
    connection: sqlite3.Connection,
    session_id: int,
    when: str,
    order_id: str,
    *,
    status: str,
    reason: str,
) -> None:
    updated = connection.execute(
        "UPDATE orders SET status = ?, updated_at = ?"
        " WHERE session_id = ? AND order_id = ? AND status = 'pending'",
        (status, when, session_id, order_id),
    ).rowcount
    if updated:
        return
    # Created and resolved inside this bar. A plain INSERT: if the id already exists (resolved
    # before), the UNIQUE constraint fails the bar rather than silently reusing an order id.
    connection.execute(
        "INSERT INTO orders (session_id, order_id, created_at, intent, reason, status, updated_at)"
        " VALUES (?, ?, ?, NULL, ?, ?, ?)",
        (session_id, order_id, when, reason, status, when),
    )


def _insert_fill(
    connection: sqlite3.Connection, session_id: int, when: str, event: OrderFilled
) -> None:
    fill = event.fill
    data = fill_to_dict(fill)
    connection.execute(
        "INSERT INTO fills (session_id, bar_time, order_id, position_id, time, action, price,"
        " quantity, fee, slippage, reason, kind, liquidity)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            when,
            fill.order_id,
            event.position_id,
            data["time"],
            data["action"],
            fill.price,
            fill.quantity,
            fill.fee,
            fill.slippage,
            fill.reason,
            data["kind"],
            data["liquidity"],
        ),
    )


def _settle_pending(
    connection: sqlite3.Connection, session_id: int, when: str, pending: dict[str, MarketOrder]
) -> None:
    stored = {
        order_id
        for (order_id,) in connection.execute(
            "SELECT order_id FROM orders WHERE session_id = ? AND status = 'pending'",
            (session_id,),
        )
    }
    for order_id in sorted(stored - pending.keys()):
        connection.execute(
            "UPDATE orders SET status = 'cancelled', updated_at = ?"
            " WHERE session_id = ? AND order_id = ?",
            (when, session_id, order_id),
        )
    for order_id in sorted(pending.keys() - stored):
        # A pending order without an `OrderPlaced` event in this bar (not something the kernel
        # does): record the intent anyway, so nothing is acted on without being stored first.
        order = pending[order_id]
        placed = OrderPlaced(order.created_at, order_id, order.intent, order.reason)
        _insert_order(connection, session_id, when, placed, order)


def _upsert_open_position(
    connection: sqlite3.Connection, session_id: int, when: str, position: LivePosition
) -> None:
    connection.execute(
        "INSERT INTO positions (session_id, position_id, symbol, side, opened_at, state, status,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?)"
        " ON CONFLICT (session_id, position_id) DO UPDATE SET"
        " state = excluded.state, status = 'open', updated_at = excluded.updated_at",
        (
            session_id,
            position.position_id,
            position.symbol,
            position.side.value,
            dump_time(position.entry_time),
            dumps(position_to_dict(position)),
            when,
        ),
    )


def _close_position(
    connection: sqlite3.Connection, session_id: int, when: str, trade: Trade
) -> None:
    exit_time = dump_time(trade.exit_time)
    connection.execute(
        "INSERT INTO positions (session_id, position_id, symbol, side, opened_at, closed_at,"
        " state, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, 'closed', ?)"
        " ON CONFLICT (session_id, position_id) DO UPDATE SET"
        " status = 'closed', closed_at = excluded.closed_at, updated_at = excluded.updated_at",
        (
            session_id,
            trade.trade_id,
            trade.symbol,
            trade.side.value,
            dump_time(trade.entry_time),
            exit_time,
            when,
        ),
    )
    connection.execute(
        "INSERT INTO trades (session_id, trade_id, bar_time, symbol, side, entry_time, exit_time,"
        " entry_price, exit_price, quantity, gross_pnl, fees, slippage, pnl, exit_reason,"
        " partial_exits, scale_ins, best_price, worst_price, legs, exit)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            trade.trade_id,
            when,
            trade.symbol,
            trade.side.value,
            dump_time(trade.entry_time),
            exit_time,
            trade.entry_price,
            trade.exit_price,
            trade.quantity,
            trade.gross_pnl,
            trade.fees,
            trade.slippage,
            trade.pnl,
            trade.exit_reason,
            trade.partial_exits,
            trade.scale_ins,
            trade.best_price,
            trade.worst_price,
            dumps([fill_to_dict(leg) for leg in trade.legs]),
            trade.exit.value,
        ),
    )


def write_history(connection: sqlite3.Connection, session_id: int, bars: Sequence[Bar]) -> None:
    """Write a session's warm-up history (inside the caller's transaction)."""
    connection.executemany(
        "INSERT INTO history_bars (session_id, time, open, high, low, close, volume)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (session_id, dump_time(bar.time), bar.open, bar.high, bar.low, bar.close, bar.volume)
            for bar in bars
        ],
    )


def state_checksum(text: str) -> str:
    """The SHA-256 (hex) of a stored kernel state's JSON text."""
    return hashlib.sha256(text.encode()).hexdigest()
