"""Read-side queries: rows of one session back into typed objects (used by `SessionStore`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import cast

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.intents import ExitReason
from atb.domain.models import LivePosition, Trade
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.kernel_state import KernelState
from atb.persistence.errors import StoreError
from atb.persistence.fields import load_time, loads_list, loads_object
from atb.persistence.mappers import (
    fill_from_dict,
    instrument_from_dict,
    position_from_dict,
    state_from_dict,
)
from atb.persistence.mappers_events import event_from_dict
from atb.persistence.recording import state_checksum
from atb.persistence.records import (
    EquityPoint,
    FillRecord,
    OrderRecord,
    OrderStatus,
    PositionRecord,
    PositionStatus,
    SessionRecord,
    SessionStatus,
)

SESSION_COLUMNS = (
    "id, strategy, symbol, timeframe, params, config, initial_balance, model_id, id_prefix,"
    " status, created_at, stopped_at, last_bar_time, writer_pid, writer_host, instrument,"
    " portfolio_id"
)


def _time(value: object, where: str) -> datetime:
    return load_time(value, where)


def _opt_time(value: object, where: str) -> datetime | None:
    return None if value is None else load_time(value, where)


def session_from_row(row: tuple[object, ...]) -> SessionRecord:
    """A `SessionRecord` from a row selected with `SESSION_COLUMNS`."""
    (id_, strategy, symbol, timeframe, params, config, balance, model_id, prefix, status) = row[:10]
    created, stopped, last_bar, pid, host, instrument, portfolio_id = row[10:]
    where = f"sessions[{id_}]"
    rules = None
    if instrument is not None:
        rules = instrument_from_dict(loads_object(instrument, f"{where}.instrument"), where)
    return SessionRecord(
        id=cast(int, id_),
        strategy=str(strategy),
        symbol=str(symbol),
        timeframe=str(timeframe),
        params=loads_object(params, f"{where}.params"),
        config=loads_object(config, f"{where}.config"),
        initial_balance=cast(float, balance),
        model_id=None if model_id is None else str(model_id),
        id_prefix=str(prefix),
        status=cast(SessionStatus, status),
        created_at=_time(created, f"{where}.created_at"),
        stopped_at=_opt_time(stopped, f"{where}.stopped_at"),
        last_bar_time=_opt_time(last_bar, f"{where}.last_bar_time"),
        writer_pid=None if pid is None else cast(int, pid),
        writer_host=None if host is None else str(host),
        instrument=None if rules is None else rules[0],
        instrument_source=None if rules is None else rules[1],
        portfolio_id=None if portfolio_id is None else cast(int, portfolio_id),
    )


def latest_state(
    connection: sqlite3.Connection, session_id: int
) -> tuple[KernelState[LivePosition], datetime] | None:
    """The kernel state after the last recorded bar, and that bar's time (None before any)."""
    row = connection.execute(
        "SELECT k.bar_time, k.state, s.last_bar_time, k.checksum FROM kernel_states AS k"
        " JOIN sessions AS s ON s.id = k.session_id"
        " WHERE k.session_id = ? ORDER BY k.bar_time DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    bar_time, text, last_bar_time, checksum = row
    if checksum is not None and state_checksum(str(text)) != checksum:
        raise StoreError(
            f"session {session_id}: the stored state after bar {bar_time} is damaged (its "
            "checksum does not match); the session cannot be resumed from it — restore the "
            "store from a copy"
        )
    if bar_time != last_bar_time:
        raise StoreError(
            f"session {session_id}: last kernel state is for bar {bar_time} but the session's "
            f"last processed bar is {last_bar_time}; the store is inconsistent"
        )
    where = f"kernel_states[{session_id}, {bar_time}]"
    return state_from_dict(loads_object(text, where), where), _time(bar_time, where)


def states(
    connection: sqlite3.Connection, session_id: int
) -> list[tuple[datetime, KernelState[LivePosition]]]:
    """Every recorded kernel state of the session, by bar time."""
    result: list[tuple[datetime, KernelState[LivePosition]]] = []
    for bar_time, text in connection.execute(
        "SELECT bar_time, state FROM kernel_states WHERE session_id = ? ORDER BY bar_time",
        (session_id,),
    ):
        where = f"kernel_states[{session_id}, {bar_time}]"
        result.append((_time(bar_time, where), state_from_dict(loads_object(text, where), where)))
    return result


def bars(connection: sqlite3.Connection, session_id: int, table: str = "bars") -> list[Bar]:
    """The candles the session processed (`bars`), was started with (`history_bars`) or
    resolved bars on (`detail_bars`)."""
    if table not in ("bars", "history_bars", "detail_bars"):
        raise ValueError(f"no candle table {table!r}")
    return [
        Bar(_time(time, f"{table}[{session_id}]"), o, h, low, c, v)
        for time, o, h, low, c, v in connection.execute(
            f"SELECT time, open, high, low, close, volume FROM {table}"
            " WHERE session_id = ? ORDER BY time",
            (session_id,),
        )
    ]


def events(connection: sqlite3.Connection, session_id: int) -> list[KernelEvent]:
    """The session's full event stream, in emission order."""
    result: list[KernelEvent] = []
    for seq, payload in connection.execute(
        "SELECT seq, payload FROM events WHERE session_id = ? ORDER BY seq", (session_id,)
    ):
        where = f"events[{session_id}, {seq}]"
        result.append(event_from_dict(loads_object(payload, where), where))
    return result


def _legs(text: object, where: str) -> tuple[Fill, ...]:
    legs = loads_list(text, where)
    return tuple(fill_from_dict(leg, f"{where}[{i}]") for i, leg in enumerate(legs))


def trades(connection: sqlite3.Connection, session_id: int) -> list[Trade]:
    """The session's closed trades, in the order they closed."""
    result: list[Trade] = []
    for row in connection.execute(
        "SELECT trade_id, symbol, side, entry_time, exit_time, entry_price, exit_price, quantity,"
        " gross_pnl, fees, slippage, exit_reason, legs, partial_exits, scale_ins, best_price,"
        " worst_price, exit FROM trades WHERE session_id = ? ORDER BY bar_time, rowid",
        (session_id,),
    ):
        trade_id, symbol, side, entry_time, exit_time = row[:5]
        where = f"trades[{session_id}, {trade_id}]"
        result.append(
            Trade(
                trade_id=trade_id,
                symbol=symbol,
                side=PositionSide(side),
                entry_time=_time(entry_time, f"{where}.entry_time"),
                exit_time=_time(exit_time, f"{where}.exit_time"),
                entry_price=row[5],
                exit_price=row[6],
                quantity=row[7],
                gross_pnl=row[8],
                fees=row[9],
                slippage=row[10],
                exit_reason=row[11],
                legs=_legs(row[12], f"{where}.legs"),
                partial_exits=row[13],
                scale_ins=row[14],
                best_price=row[15],
                worst_price=row[16],
                exit=_exit(row[17], row[11]),
            )
        )
    return result


def equity(connection: sqlite3.Connection, session_id: int) -> list[EquityPoint]:
    """Equity, cash and exposure at each processed bar's close."""
    return [
        EquityPoint(
            time=_time(t, f"equity[{session_id}]"),
            equity=e,
            cash=c,
            exposure=x,
            ambiguous_pnl=None if low is None or high is None else (low, high),
        )
        for t, e, c, x, low, high in connection.execute(
            "SELECT bar_time, equity, cash, exposure, ambiguous_low, ambiguous_high FROM equity"
            " WHERE session_id = ? ORDER BY bar_time",
            (session_id,),
        )
    ]


def orders(connection: sqlite3.Connection, session_id: int) -> list[OrderRecord]:
    """Every order of the session, in creation order."""
    return [
        OrderRecord(
            order_id=order_id,
            created_at=_time(created, f"orders[{order_id}].created_at"),
            intent=intent,
            reason=reason,
            fraction=fraction,
            stop_loss_pct=stop,
            take_profit_pct=target,
            status=cast(OrderStatus, status),
            updated_at=_time(updated, f"orders[{order_id}].updated_at"),
        )
        for order_id, created, intent, reason, fraction, stop, target, status, updated in (
            connection.execute(
                "SELECT order_id, created_at, intent, reason, fraction, stop_loss_pct,"
                " take_profit_pct, status, updated_at FROM orders WHERE session_id = ?"
                " ORDER BY created_at, order_id",
                (session_id,),
            )
        )
    ]


def fills(connection: sqlite3.Connection, session_id: int) -> list[FillRecord]:
    """Every execution of the session, in execution order."""
    result: list[FillRecord] = []
    for row in connection.execute(
        "SELECT bar_time, position_id, time, action, price, quantity, fee, slippage, reason, kind,"
        " liquidity, order_id FROM fills WHERE session_id = ? ORDER BY id",
        (session_id,),
    ):
        where = f"fills[{session_id}, {row[11]}]"
        fill = Fill(
            time=_time(row[2], f"{where}.time"),
            action=OrderAction(row[3]),
            price=row[4],
            quantity=row[5],
            fee=row[6],
            slippage=row[7],
            reason=row[8],
            kind=FillKind(row[9]),
            liquidity=Liquidity(row[10]),
            order_id=row[11],
        )
        result.append(
            FillRecord(bar_time=_time(row[0], f"{where}.bar_time"), position_id=row[1], fill=fill)
        )
    return result


def positions(connection: sqlite3.Connection, session_id: int) -> list[PositionRecord]:
    """Every position of the session (open and closed), by entry time."""
    result: list[PositionRecord] = []
    for position_id, symbol, side, opened, closed, text, status, updated in connection.execute(
        "SELECT position_id, symbol, side, opened_at, closed_at, state, status, updated_at"
        " FROM positions WHERE session_id = ? ORDER BY opened_at, position_id",
        (session_id,),
    ):
        where = f"positions[{session_id}, {position_id}]"
        position = None
        if text is not None:
            position = position_from_dict(loads_object(text, f"{where}.state"), f"{where}.state")
        result.append(
            PositionRecord(
                position_id=position_id,
                symbol=symbol,
                side=side,
                status=cast(PositionStatus, status),
                opened_at=_time(opened, f"{where}.opened_at"),
                closed_at=_opt_time(closed, f"{where}.closed_at"),
                position=position,
                updated_at=_time(updated, f"{where}.updated_at"),
            )
        )
    return result


def _exit(stored: object, text: str) -> ExitReason:
    """A trade's typed exit reason; trades stored before it was kept have only the words."""
    return ExitReason(stored) if isinstance(stored, str) else ExitReason.from_text(text)
