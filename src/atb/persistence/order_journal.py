"""`StoreJournal`: a real session's write-ahead order journal, in its store.

Three tables (schema version 7): `exchange_orders` (every order, written before it is sent and
updated as the exchange answers), `exchange_trades` (every fill, once, by the exchange's trade
id) and `exchange_accounts` (what the account held outside the session). Each write is one
transaction, durable when it returns (WAL, `synchronous=FULL`). API keys are never part of
anything written here: the journal holds orders and fills, nothing about the connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from atb.managers.fills import LevelKind
from atb.managers.order_journal import (
    AccountBaseline,
    ExchangeOrder,
    ExchangeTrade,
    FillPair,
    JournalStatus,
    OrderShape,
)
from atb.persistence.fields import dump_time, load_time
from atb.persistence.store import SessionStore

__all__ = ["StoreJournal"]

_ORDER_COLUMNS = (
    "client_id, position_id, kernel_order_id, level, rung, list_id, side, shape, quantity, "
    "price, stop_price, status, exchange_id, created_at, detail"
)


class StoreJournal:
    """The `OrderJournal` of one session of a `SessionStore` (the store's writer only)."""

    def __init__(self, store: SessionStore, session_id: int) -> None:
        self.store = store
        self.session_id = session_id

    def orders(self) -> list[ExchangeOrder]:
        """Every order of the session, in first-written order."""
        with self.store.reading(f"read the order journal of session {self.session_id}") as db:
            rows = db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM exchange_orders WHERE session_id = ? ORDER BY seq",
                (self.session_id,),
            ).fetchall()
        return [_order(row) for row in rows]

    def write(self, orders: Sequence[ExchangeOrder]) -> None:
        """Insert or update `orders` (by client id) in one transaction."""
        if not orders:
            return
        with self.store.writing(f"journal orders of session {self.session_id}") as db:
            _write_orders(db, self.session_id, orders)

    def trades(self) -> list[ExchangeTrade]:
        """Every fill of the session's orders, in the order they were recorded."""
        with self.store.reading(f"read the fills of session {self.session_id}") as db:
            rows = db.execute(
                "SELECT trade_id, client_id, side, price, quantity, commission, commission_asset,"
                " time FROM exchange_trades WHERE session_id = ? ORDER BY rowid",
                (self.session_id,),
            ).fetchall()
        return [
            ExchangeTrade(
                trade_id=str(row[0]),
                client_id=str(row[1]),
                side=str(row[2]),
                price=float(row[3]),
                quantity=float(row[4]),
                commission=float(row[5]),
                commission_asset=str(row[6]),
                time=load_time(row[7], "exchange_trades.time"),
            )
            for row in rows
        ]

    def record_trades(
        self, trades: Sequence[ExchangeTrade], orders: Sequence[ExchangeOrder]
    ) -> None:
        """Keep fills not seen before and the orders' new statuses, in one transaction."""
        if not trades and not orders:
            return
        with self.store.writing(f"journal fills of session {self.session_id}") as db:
            _write_orders(db, self.session_id, orders)
            db.executemany(
                "INSERT OR IGNORE INTO exchange_trades (session_id, trade_id, client_id, side,"
                " price, quantity, commission, commission_asset, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.session_id,
                        trade.trade_id,
                        trade.client_id,
                        trade.side,
                        trade.price,
                        trade.quantity,
                        trade.commission,
                        trade.commission_asset,
                        dump_time(trade.time),
                    )
                    for trade in trades
                ],
            )

    def baseline(self) -> AccountBaseline | None:
        """What the account held outside the session when it started (None before)."""
        with self.store.reading(f"read the account baseline of session {self.session_id}") as db:
            if not _has_journal(db):
                return None  # a store from before real trading, opened read-only
            row = db.execute(
                "SELECT base_asset, quote_asset, outside_base, outside_quote, adopted"
                " FROM exchange_accounts WHERE session_id = ?",
                (self.session_id,),
            ).fetchone()
        if row is None:
            return None
        return AccountBaseline(
            base_asset=str(row[0]),
            quote_asset=str(row[1]),
            outside_base=float(row[2]),
            outside_quote=float(row[3]),
            adopted=str(row[4]),
        )

    def record_baseline(self, baseline: AccountBaseline) -> None:
        """Keep (or replace, after an adoption) the account's baseline."""
        with self.store.writing(f"record the account baseline of session {self.session_id}") as db:
            db.execute(
                "INSERT OR REPLACE INTO exchange_accounts (session_id, base_asset, quote_asset,"
                " outside_base, outside_quote, adopted) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.session_id,
                    baseline.base_asset,
                    baseline.quote_asset,
                    baseline.outside_base,
                    baseline.outside_quote,
                    baseline.adopted,
                ),
            )

    def record_fill_pair(self, pair: FillPair) -> None:
        """Keep a real fill beside the simulated one (a bar processed again replaces it)."""
        with self.store.writing(f"record a fill pair of session {self.session_id}") as db:
            db.execute(
                f"INSERT OR REPLACE INTO fill_pairs (session_id, {_PAIR_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.session_id,
                    dump_time(pair.bar_time),
                    pair.client_id,
                    pair.slot,
                    pair.side,
                    pair.liquidity,
                    pair.real_price,
                    pair.real_quantity,
                    pair.real_fee,
                    dump_time(pair.real_time),
                    pair.simulated_price,
                    pair.simulated_quantity,
                    pair.simulated_fee,
                ),
            )

    def fill_pairs(self) -> list[FillPair]:
        """Every fill pair of the session, in bar order."""
        with self.store.reading(f"read the fill pairs of session {self.session_id}") as db:
            if not _has_journal(db, "fill_pairs"):
                return []
            rows = db.execute(
                f"SELECT {_PAIR_COLUMNS} FROM fill_pairs WHERE session_id = ?"
                " ORDER BY bar_time, real_time, slot",
                (self.session_id,),
            ).fetchall()
        return [_pair(row) for row in rows]


_PAIR_COLUMNS = (
    "bar_time, client_id, slot, side, liquidity, real_price, real_quantity, real_fee, "
    "real_time, simulated_price, simulated_quantity, simulated_fee"
)


def _has_journal(db: sqlite3.Connection, table: str = "exchange_accounts") -> bool:
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def _pair(row: tuple[object, ...]) -> FillPair:
    def maybe(value: object) -> float | None:
        return None if value is None else float(str(value))

    return FillPair(
        bar_time=load_time(row[0], "fill_pairs.bar_time"),
        client_id=str(row[1]),
        slot=str(row[2]),
        side=str(row[3]),
        liquidity=str(row[4]),
        real_price=float(str(row[5])),
        real_quantity=float(str(row[6])),
        real_fee=float(str(row[7])),
        real_time=load_time(row[8], "fill_pairs.real_time"),
        simulated_price=maybe(row[9]),
        simulated_quantity=maybe(row[10]),
        simulated_fee=maybe(row[11]),
    )


def _write_orders(db: sqlite3.Connection, session_id: int, orders: Sequence[ExchangeOrder]) -> None:
    for order in orders:
        values = (
            order.position_id,
            order.kernel_order_id,
            None if order.level is None else order.level.value,
            order.rung,
            order.list_id,
            order.side,
            order.shape.value,
            order.quantity,
            order.price,
            order.stop_price,
            order.status.value,
            order.exchange_id,
            dump_time(order.created_at),
            order.detail,
        )
        updated = db.execute(
            "UPDATE exchange_orders SET position_id = ?, kernel_order_id = ?, level = ?, rung = ?,"
            " list_id = ?, side = ?, shape = ?, quantity = ?, price = ?, stop_price = ?,"
            " status = ?, exchange_id = ?, created_at = ?, detail = ?"
            " WHERE session_id = ? AND client_id = ?",
            (*values, session_id, order.client_id),
        )
        if updated.rowcount:
            continue
        db.execute(
            f"INSERT INTO exchange_orders (session_id, seq, {_ORDER_COLUMNS}) VALUES (?,"
            " (SELECT COALESCE(MAX(seq), 0) + 1 FROM exchange_orders WHERE session_id = ?),"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, session_id, order.client_id, *values),
        )


def _order(row: tuple[object, ...]) -> ExchangeOrder:
    level = row[3]
    return ExchangeOrder(
        client_id=str(row[0]),
        position_id=None if row[1] is None else str(row[1]),
        kernel_order_id=None if row[2] is None else str(row[2]),
        level=None if level is None else LevelKind(level),
        rung=int(str(row[4])),
        list_id=None if row[5] is None else str(row[5]),
        side=str(row[6]),
        shape=OrderShape(row[7]),
        quantity=float(str(row[8])),
        price=None if row[9] is None else float(str(row[9])),
        stop_price=None if row[10] is None else float(str(row[10])),
        status=JournalStatus(row[11]),
        exchange_id=None if row[12] is None else str(row[12]),
        created_at=load_time(row[13], "exchange_orders.created_at"),
        detail=str(row[14]),
    )
