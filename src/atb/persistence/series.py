"""Light read-side queries for views of a session that may be long (a dashboard polling a
session of 100,000 bars): raw columns instead of typed objects, and the newest rows only.

Each takes a connection inside one read transaction (`SessionStore.reading`), so what it returns
is one consistent snapshot, never half of a bar.
"""

from __future__ import annotations

import sqlite3

import attrs

from atb.domain.events import KernelEvent
from atb.domain.models import Trade
from atb.persistence import queries
from atb.persistence.fields import loads_object
from atb.persistence.mappers_events import event_from_dict


@attrs.frozen(slots=True)
class SessionCounts:
    """How far a session got: processed bars, closed trades, events."""

    bars: int
    trades: int
    events: int


def equity_rows(connection: sqlite3.Connection, session_id: int) -> list[tuple[str, float]]:
    """(bar time as stored — fixed-width ISO 8601 UTC text —, equity) at every processed bar's
    close, in time order."""
    return [
        (str(time), float(equity))
        for time, equity in connection.execute(
            "SELECT bar_time, equity FROM equity WHERE session_id = ? ORDER BY bar_time",
            (session_id,),
        )
    ]


def last_equity(connection: sqlite3.Connection, session_id: int) -> tuple[str, float] | None:
    """The newest (bar time text, equity), or None before the first bar."""
    row = connection.execute(
        "SELECT bar_time, equity FROM equity WHERE session_id = ? ORDER BY bar_time DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    return None if row is None else (str(row[0]), float(row[1]))


def counts(connection: sqlite3.Connection, session_id: int) -> SessionCounts:
    """Processed bars, closed trades and events of the session."""

    def count(table: str) -> int:
        # `table` is one of the literal names below, never user input.
        (found,) = connection.execute(
            f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", (session_id,)
        ).fetchone()
        return int(found)

    return SessionCounts(bars=count("equity"), trades=count("trades"), events=count("events"))


def recent_events(
    connection: sqlite3.Connection, session_id: int, limit: int, kind: str | None = None
) -> list[tuple[int, KernelEvent]]:
    """The newest `limit` events (of one `kind`, if given) with their `seq`, newest first."""
    clause = "" if kind is None else " AND kind = ?"
    args: tuple[object, ...] = (session_id, limit) if kind is None else (session_id, kind, limit)
    rows = connection.execute(
        f"SELECT seq, payload FROM events WHERE session_id = ?{clause} ORDER BY seq DESC LIMIT ?",
        args,
    ).fetchall()
    return [
        (int(seq), event_from_dict(loads_object(payload, f"events[{session_id}, {seq}]"), "event"))
        for seq, payload in rows
    ]


def recent_trades(connection: sqlite3.Connection, session_id: int, limit: int) -> list[Trade]:
    """The newest `limit` closed trades with their legs, newest first (a session closes far
    fewer trades than it processes bars: they are all read, the newest kept)."""
    return list(reversed(queries.trades(connection, session_id)[-limit:]))
