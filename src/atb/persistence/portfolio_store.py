"""`PortfolioStore`: a live portfolio's records in the session store (schema v9, ADR 0017).

A portfolio is one account trading several symbols. Each symbol is a *member session* (a row
of `sessions` with `portfolio_id` set) that records its own bars, orders, fills, positions,
trades and kernel state exactly as a single-symbol session does; the account itself — cash,
equity, its peak, the drawdown tier, the close-only latch and every symbol's last close — is
kept per bar time in `portfolio_steps`, its own events (tier changes, the latch) in
`portfolio_events`. Everything a bar time produced is written in ONE transaction
(`record_step`), so a crash leaves either the whole bar time or none of it.

Member sessions are never found by `SessionStore.find_active_session`: a single-symbol
`atb live` of the same market does not take one over.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from atb.config import config_from_dict
from atb.domain.bars import Bar
from atb.domain.events import KernelEvent
from atb.domain.instruments import Instrument
from atb.domain.models import LivePosition
from atb.managers.book import symbol_id_prefix
from atb.managers.dynamic_risk import RiskTier
from atb.managers.kernel_state import StepResult
from atb.managers.run_config import RunConfiguration
from atb.persistence.errors import StoreError
from atb.persistence.fields import (
    Fields,
    dump_time,
    dumps,
    load_time,
    loads_list,
    loads_object,
    now_text,
)
from atb.persistence.mappers import instrument_to_dict, tier_from_dict, tier_to_dict
from atb.persistence.mappers_events import event_from_dict, event_to_dict
from atb.persistence.recording import insert_session, state_checksum, write_bar, write_history
from atb.persistence.records import SessionStatus
from atb.persistence.store import SessionStore, delete_session_rows

__all__ = [
    "AccountRecord",
    "MemberStep",
    "PortfolioPoint",
    "PortfolioRecord",
    "PortfolioStore",
]

_COLUMNS = (
    "id, strategy, symbols, timeframe, params, config, initial_balance, model_id, id_prefix,"
    " status, created_at, stopped_at, last_bar_time, writer_pid, writer_host"
)


@attrs.frozen(kw_only=True)
class PortfolioRecord:
    """One live portfolio: what it runs, its members (symbol → session id) and how far it got
    (`last_bar_time`: the last bar time it stepped, None before the first)."""

    id: int
    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    params: Mapping[str, object]
    config: Mapping[str, object]
    initial_balance: float
    model_id: str | None
    id_prefix: str
    status: SessionStatus
    created_at: datetime
    stopped_at: datetime | None
    last_bar_time: datetime | None
    writer_pid: int | None
    writer_host: str | None
    members: Mapping[str, int]

    @property
    def active(self) -> bool:
        """True while the portfolio can be resumed and written."""
        return self.status == "active"

    def run_configuration(self) -> RunConfiguration:
        """The portfolio's configuration: the stored dict merged onto the defaults."""
        return config_from_dict(self.config)


@attrs.frozen(kw_only=True)
class AccountRecord:
    """The shared account after a bar time (what a resumed portfolio continues from)."""

    cash: float
    equity: float
    peak_equity: float
    tier: RiskTier
    close_only: bool
    marks: Mapping[str, float]
    """Each symbol's last close (missing before its first stepped bar)."""


@attrs.frozen(kw_only=True)
class PortfolioPoint:
    """The portfolio at one bar time's closes: equity, cash, exposure in total and by symbol,
    and which symbols had a bar (were stepped)."""

    time: datetime
    equity: float
    cash: float
    exposure: float
    exposures: Mapping[str, float]
    present: tuple[str, ...]


@attrs.frozen(slots=True)
class MemberStep:
    """One present symbol's part of a bar time: its bar, its kernel step and its finer
    candles."""

    symbol: str
    bar: Bar
    result: StepResult[LivePosition]
    detail: Sequence[Bar] = ()


class PortfolioStore:
    """Portfolio records in a `SessionStore` (its connection, lock and transactions)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    # --- portfolios ------------------------------------------------------------------------

    def create(
        self,
        *,
        strategy: str,
        timeframe: str,
        params: Mapping[str, object],
        config: Mapping[str, object],
        initial_balance: float,
        model_id: str | None,
        histories: Mapping[str, Sequence[Bar]],
        instruments: Mapping[str, tuple[Instrument, str]],
    ) -> PortfolioRecord:
        """Start a new active portfolio over the symbols of `histories` (each with its warm-up
        candles and its market's rules): the portfolio and its member sessions in one
        transaction, ids prefixed `p<id>` (tagged with the symbol when there are several)."""
        symbols = tuple(sorted(histories))
        if not symbols:
            raise StoreError("a portfolio needs at least one symbol")
        try:
            params_text, config_text = dumps(dict(params)), dumps(dict(config))
        except (TypeError, ValueError) as exc:
            raise StoreError(f"portfolio params/config are not JSON values: {exc}") from exc
        with self.store.writing("create a portfolio") as connection:
            (portfolio_id,) = connection.execute(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'portfolios'), 0)"
                " + 1"
            ).fetchone()
            prefix = f"p{portfolio_id}"
            connection.execute(
                f"INSERT INTO portfolios ({_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, NULL, NULL, ?, ?)",
                (
                    portfolio_id,
                    strategy,
                    dumps(list(symbols)),
                    timeframe,
                    params_text,
                    config_text,
                    float(initial_balance),
                    model_id,
                    prefix,
                    now_text(),
                    os.getpid(),
                    socket.gethostname(),
                ),
            )
            for symbol in symbols:
                instrument, source = instruments[symbol]
                session_id = insert_session(
                    connection,
                    strategy=strategy,
                    symbol=symbol,
                    timeframe=timeframe,
                    params_text=params_text,
                    config_text=config_text,
                    initial_balance=initial_balance,
                    model_id=model_id,
                    id_prefix=symbol_id_prefix(prefix, symbol, len(symbols)),
                    instrument_text=dumps(instrument_to_dict(instrument, source)),
                    portfolio_id=portfolio_id,
                )
                write_history(connection, session_id, histories[symbol])
        return self.get(int(portfolio_id))

    def get(self, portfolio_id: int) -> PortfolioRecord:
        """The portfolio with this id; `StoreError` if there is none."""
        found = self._portfolios("WHERE id = ?", (portfolio_id,))
        if not found:
            raise StoreError(f"no portfolio {portfolio_id} in store {self.store.path}")
        return found[0]

    def find_active(
        self, strategy: str, symbols: Sequence[str], timeframe: str
    ) -> PortfolioRecord | None:
        """The newest active portfolio of this strategy, set of symbols and timeframe."""
        found = self._portfolios(
            "WHERE strategy = ? AND symbols = ? AND timeframe = ? AND status = 'active'"
            " ORDER BY id DESC LIMIT 1",
            (strategy, dumps(sorted(symbols)), timeframe),
        )
        return found[0] if found else None

    def latest(self) -> PortfolioRecord | None:
        """The most recently created portfolio, if any."""
        found = self._portfolios("ORDER BY id DESC LIMIT 1", ())
        return found[0] if found else None

    def list_portfolios(self) -> list[PortfolioRecord]:
        """Every portfolio, oldest first."""
        return self._portfolios("ORDER BY id", ())

    def resume(self, portfolio_id: int) -> PortfolioRecord:
        """Claim an active portfolio and its members for this writer."""
        with self.store.writing(f"resume portfolio {portfolio_id}") as connection:
            claim = (os.getpid(), socket.gethostname(), portfolio_id)
            # Claiming clears `stopped_at`: the portfolio runs again (atb.persistence.liveness).
            updated = connection.execute(
                "UPDATE portfolios SET writer_pid = ?, writer_host = ?, stopped_at = NULL"
                " WHERE id = ? AND status = 'active'",
                claim,
            ).rowcount
            if not updated:
                raise StoreError(f"no active portfolio {portfolio_id}")
            connection.execute(
                "UPDATE sessions SET writer_pid = ?, writer_host = ?, stopped_at = NULL"
                " WHERE portfolio_id = ?",
                claim,
            )
        return self.get(portfolio_id)

    def release(self, portfolio_id: int) -> None:
        """Record that this writer stopped running the active portfolio (and its members)
        cleanly; see `SessionStore.release_session`."""
        with self.store.writing(f"release portfolio {portfolio_id}") as connection:
            mark = (now_text(), portfolio_id, os.getpid())
            connection.execute(
                "UPDATE portfolios SET stopped_at = ?"
                " WHERE id = ? AND status = 'active' AND writer_pid = ?",
                mark,
            )
            connection.execute(
                "UPDATE sessions SET stopped_at = ?"
                " WHERE portfolio_id = ? AND status = 'active' AND writer_pid = ?",
                mark,
            )

    def mark_stopped(self, portfolio_id: int) -> PortfolioRecord:
        """Stop a portfolio and its members for good."""
        with self.store.writing(f"stop portfolio {portfolio_id}") as connection:
            now = now_text()
            connection.execute(
                "UPDATE portfolios SET status = 'stopped', stopped_at = COALESCE(stopped_at, ?)"
                " WHERE id = ?",
                (now, portfolio_id),
            )
            connection.execute(
                "UPDATE sessions SET status = 'stopped', stopped_at = COALESCE(stopped_at, ?)"
                " WHERE portfolio_id = ?",
                (now, portfolio_id),
            )
        return self.get(portfolio_id)

    def delete(self, portfolio_id: int) -> None:
        """Remove a stopped portfolio, its member sessions and everything they recorded (one
        transaction); an active portfolio is refused."""
        portfolio = self.get(portfolio_id)
        if portfolio.active:
            raise StoreError(
                f"portfolio {portfolio_id} in store {self.store.path} is active; end it first "
                "(start a new one with --new-session) — an active portfolio is never pruned"
            )
        with self.store.writing(f"delete portfolio {portfolio_id}") as connection:
            for session_id in portfolio.members.values():
                delete_session_rows(connection, session_id)
            for table in ("portfolio_events", "portfolio_steps"):
                connection.execute(f"DELETE FROM {table} WHERE portfolio_id = ?", (portfolio_id,))
            connection.execute("DELETE FROM portfolios WHERE id = ?", (portfolio_id,))

    # --- recording -------------------------------------------------------------------------

    def record_step(
        self,
        portfolio_id: int,
        time: datetime,
        *,
        members: Sequence[MemberStep],
        account: AccountRecord,
        exposures: Mapping[str, float],
        events: Sequence[KernelEvent],
    ) -> None:
        """Record one bar time in ONE transaction, durable on return: every present member's
        bar and step (as `SessionStore.record_bar` writes them), the account after the step,
        the portfolio's equity and exposures, and the account's own `events`. Refuses
        (`StoreError`, nothing written) a time not after the last one, a stopped portfolio."""
        portfolio = self.get(portfolio_id)
        when = dump_time(time)
        with self.store.writing(f"record bar time {when} of portfolio {portfolio_id}") as db:
            _check_next_time(db, portfolio_id, time)
            for member in members:
                session_id = portfolio.members.get(member.symbol)
                if session_id is None:
                    raise StoreError(f"{member.symbol} is not a member of portfolio {portfolio_id}")
                result = member.result
                write_bar(
                    db,
                    session_id,
                    member.bar,
                    events=result.events,
                    state=result.state,
                    equity=result.equity,
                    exposure=result.exposure,
                    detail=member.detail,
                    ambiguous_pnl=result.ambiguous_pnl,
                )
            text = dumps(_account_to_dict(account))
            total = 0.0
            for value in exposures.values():
                total += value
            db.execute(
                "INSERT INTO portfolio_steps (portfolio_id, bar_time, present, equity, cash,"
                " exposure, exposures, account, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    portfolio_id,
                    when,
                    dumps([member.symbol for member in members]),
                    account.equity,
                    account.cash,
                    total,
                    dumps(dict(exposures)),
                    text,
                    state_checksum(text),
                ),
            )
            (last_seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM portfolio_events WHERE portfolio_id = ?",
                (portfolio_id,),
            ).fetchone()
            db.executemany(
                "INSERT INTO portfolio_events (portfolio_id, seq, bar_time, kind, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (portfolio_id, last_seq + offset, when, event.kind, dumps(event_to_dict(event)))
                    for offset, event in enumerate(events, start=1)
                ],
            )
            db.execute("UPDATE portfolios SET last_bar_time = ? WHERE id = ?", (when, portfolio_id))

    # --- reading ---------------------------------------------------------------------------

    def last_account(self, portfolio_id: int) -> tuple[AccountRecord, datetime] | None:
        """The account after the last recorded bar time and that time (None before any);
        a damaged record is refused."""
        with self.store.reading(f"load the account of portfolio {portfolio_id}") as connection:
            row = connection.execute(
                "SELECT bar_time, account, checksum FROM portfolio_steps WHERE portfolio_id = ?"
                " ORDER BY bar_time DESC LIMIT 1",
                (portfolio_id,),
            ).fetchone()
        if row is None:
            return None
        bar_time, text, checksum = row
        if state_checksum(str(text)) != checksum:
            raise StoreError(
                f"portfolio {portfolio_id}: the stored account after {bar_time} is damaged (its "
                "checksum does not match); it cannot be resumed — restore the store from a copy"
            )
        where = f"portfolio_steps[{portfolio_id}, {bar_time}]"
        account = _account_from_dict(loads_object(text, where), where)
        return account, load_time(bar_time, where)

    def steps(self, portfolio_id: int) -> list[PortfolioPoint]:
        """The portfolio at every bar time it stepped, in time order."""
        points: list[PortfolioPoint] = []
        with self.store.reading(f"read the steps of portfolio {portfolio_id}") as connection:
            for bar_time, present, equity, cash, exposure, exposures in connection.execute(
                "SELECT bar_time, present, equity, cash, exposure, exposures FROM"
                " portfolio_steps WHERE portfolio_id = ? ORDER BY bar_time",
                (portfolio_id,),
            ):
                where = f"portfolio_steps[{portfolio_id}, {bar_time}]"
                by_symbol = Fields(loads_object(exposures, where), where)
                points.append(
                    PortfolioPoint(
                        time=load_time(bar_time, where),
                        equity=float(equity),
                        cash=float(cash),
                        exposure=float(exposure),
                        exposures={key: by_symbol.num(key) for key in by_symbol.names()},
                        present=tuple(str(item) for item in loads_list(present, where)),
                    )
                )
        return points

    def events(self, portfolio_id: int) -> list[KernelEvent]:
        """The account's own events (tiers, the latch), in emission order."""
        result: list[KernelEvent] = []
        with self.store.reading(f"read the events of portfolio {portfolio_id}") as connection:
            for seq, payload in connection.execute(
                "SELECT seq, payload FROM portfolio_events WHERE portfolio_id = ? ORDER BY seq",
                (portfolio_id,),
            ):
                where = f"portfolio_events[{portfolio_id}, {seq}]"
                result.append(event_from_dict(loads_object(payload, where), where))
        return result

    def _portfolios(self, clause: str, args: tuple[object, ...]) -> list[PortfolioRecord]:
        with self.store.reading("read portfolios") as connection:
            rows = connection.execute(f"SELECT {_COLUMNS} FROM portfolios {clause}", args)
            return [_record(connection, row) for row in rows.fetchall()]


def _check_next_time(connection: sqlite3.Connection, portfolio_id: int, time: datetime) -> None:
    row = connection.execute(
        "SELECT status, last_bar_time FROM portfolios WHERE id = ?", (portfolio_id,)
    ).fetchone()
    if row is None:
        raise StoreError(f"no portfolio {portfolio_id}")
    status, last = row
    if status != "active":
        raise StoreError(f"portfolio {portfolio_id} is {status}; it records no more bar times")
    if last is not None and time <= load_time(last, "portfolios.last_bar_time"):
        raise StoreError(
            f"bar time {dump_time(time)} is not after the last one {last} of portfolio "
            f"{portfolio_id}; bar times are recorded once each, in order"
        )


def _record(connection: sqlite3.Connection, row: tuple[object, ...]) -> PortfolioRecord:
    (id_, strategy, symbols, timeframe, params, config, balance, model_id, prefix) = row[:9]
    status, created, stopped, last_bar, pid, host = row[9:]
    where = f"portfolios[{id_}]"
    members = {
        str(symbol): int(session_id)
        for symbol, session_id in connection.execute(
            "SELECT symbol, id FROM sessions WHERE portfolio_id = ? ORDER BY symbol", (id_,)
        )
    }
    return PortfolioRecord(
        id=int(str(id_)),
        strategy=str(strategy),
        symbols=tuple(str(item) for item in loads_list(symbols, f"{where}.symbols")),
        timeframe=str(timeframe),
        params=loads_object(params, f"{where}.params"),
        config=loads_object(config, f"{where}.config"),
        initial_balance=float(str(balance)),
        model_id=None if model_id is None else str(model_id),
        id_prefix=str(prefix),
        status="active" if status == "active" else "stopped",
        created_at=load_time(created, f"{where}.created_at"),
        stopped_at=None if stopped is None else load_time(stopped, f"{where}.stopped_at"),
        last_bar_time=None if last_bar is None else load_time(last_bar, f"{where}.last_bar"),
        writer_pid=None if pid is None else int(str(pid)),
        writer_host=None if host is None else str(host),
        members=members,
    )


def _account_to_dict(account: AccountRecord) -> dict[str, object]:
    return {
        "cash": account.cash,
        "equity": account.equity,
        "peak_equity": account.peak_equity,
        "tier": tier_to_dict(account.tier),
        "close_only": account.close_only,
        "marks": dict(account.marks),
    }


def _account_from_dict(data: object, where: str) -> AccountRecord:
    f = Fields(data, where)
    marks = Fields(f.raw("marks"), f.path("marks"))
    return AccountRecord(
        cash=f.num("cash"),
        equity=f.num("equity"),
        peak_equity=f.num("peak_equity"),
        tier=tier_from_dict(f.raw("tier"), f.path("tier")),
        close_only=f.flag("close_only"),
        marks={key: marks.num(key) for key in marks.names()},
    )
