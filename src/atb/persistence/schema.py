"""The store's schema, versioned with `PRAGMA user_version` and ordered migrations.

`MIGRATIONS[i]` takes a store from version i to i + 1. Each is applied in its own transaction
together with the version bump, so a crash during a migration leaves the previous version
intact. Never edit a released migration: append a new one. Opening a store whose version is
newer than `SCHEMA_VERSION` is refused (an older atb must not write a newer layout).

Times are `atb.persistence.fields.dump_time` text (fixed-width ISO 8601 UTC, so text order is
time order); JSON columns hold the `atb.persistence.mappers` objects; REAL columns hold the
exact binary floats.
"""

from __future__ import annotations

import sqlite3

from atb.persistence.errors import StoreError

_V1 = (
    """
    CREATE TABLE sessions (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
        strategy        TEXT NOT NULL,
        params          TEXT NOT NULL,      -- JSON object: strategy parameters
        config          TEXT NOT NULL,      -- JSON object: config_to_dict(RunConfiguration)
        symbol          TEXT NOT NULL,
        timeframe       TEXT NOT NULL,
        initial_balance REAL NOT NULL,
        model_id        TEXT,
        id_prefix       TEXT NOT NULL UNIQUE,  -- prefix of the session's order/position ids
        status          TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
        created_at      TEXT NOT NULL,      -- wall clock, informational only
        stopped_at      TEXT,               -- wall clock, informational only
        last_bar_time   TEXT,               -- open time of the last processed bar
        writer_pid      INTEGER,
        writer_host     TEXT
    )
    """,
    "CREATE INDEX sessions_by_market ON sessions (strategy, symbol, timeframe, status)",
    """
    CREATE TABLE bars (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        time       TEXT NOT NULL,
        open       REAL NOT NULL,
        high       REAL NOT NULL,
        low        REAL NOT NULL,
        close      REAL NOT NULL,
        volume     REAL NOT NULL,
        PRIMARY KEY (session_id, time)
    )
    """,
    """
    CREATE TABLE kernel_states (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        bar_time   TEXT NOT NULL,
        state      TEXT NOT NULL,           -- JSON: KernelState[LivePosition] after the bar
        PRIMARY KEY (session_id, bar_time),
        FOREIGN KEY (session_id, bar_time) REFERENCES bars (session_id, time)
    )
    """,
    """
    CREATE TABLE orders (
        session_id      INTEGER NOT NULL REFERENCES sessions (id),
        order_id        TEXT NOT NULL UNIQUE,  -- client order id: never repeats in a store
        created_at      TEXT NOT NULL,      -- bar time of the close that created it
        intent          TEXT,               -- OrderIntent value; NULL for resting levels
        reason          TEXT NOT NULL,
        fraction        REAL,
        stop_loss_pct   REAL,
        take_profit_pct REAL,
        policies        TEXT,               -- JSON PositionPolicies or NULL
        status          TEXT NOT NULL
                        CHECK (status IN ('pending', 'filled', 'rejected', 'cancelled')),
        updated_at      TEXT NOT NULL,      -- bar time of the last status change
        PRIMARY KEY (session_id, order_id)
    )
    """,
    """
    CREATE TABLE fills (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id  INTEGER NOT NULL REFERENCES sessions (id),
        bar_time    TEXT NOT NULL,
        order_id    TEXT NOT NULL,
        position_id TEXT NOT NULL,
        time        TEXT NOT NULL,
        action      TEXT NOT NULL,
        price       REAL NOT NULL,
        quantity    REAL NOT NULL,
        fee         REAL NOT NULL,
        slippage    REAL NOT NULL,
        reason      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        liquidity   TEXT NOT NULL,
        FOREIGN KEY (session_id, order_id) REFERENCES orders (session_id, order_id),
        FOREIGN KEY (session_id, bar_time) REFERENCES bars (session_id, time)
    )
    """,
    "CREATE INDEX fills_by_session ON fills (session_id, id)",
    """
    CREATE TABLE positions (
        session_id  INTEGER NOT NULL REFERENCES sessions (id),
        position_id TEXT NOT NULL,
        symbol      TEXT NOT NULL,
        side        TEXT NOT NULL,
        opened_at   TEXT NOT NULL,          -- entry time
        closed_at   TEXT,                   -- exit time
        state       TEXT,                   -- JSON LivePosition at the last close it was open;
                                            -- NULL if it closed in the bar it opened
        status      TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        updated_at  TEXT NOT NULL,          -- bar time of the last change
        PRIMARY KEY (session_id, position_id)
    )
    """,
    """
    CREATE TABLE trades (
        session_id    INTEGER NOT NULL REFERENCES sessions (id),
        trade_id      TEXT NOT NULL,
        bar_time      TEXT NOT NULL,
        symbol        TEXT NOT NULL,
        side          TEXT NOT NULL,
        entry_time    TEXT NOT NULL,
        exit_time     TEXT NOT NULL,
        entry_price   REAL NOT NULL,
        exit_price    REAL NOT NULL,
        quantity      REAL NOT NULL,
        gross_pnl     REAL NOT NULL,
        fees          REAL NOT NULL,
        slippage      REAL NOT NULL,
        pnl           REAL NOT NULL,
        exit_reason   TEXT NOT NULL,
        partial_exits INTEGER NOT NULL,
        scale_ins     INTEGER NOT NULL,
        best_price    REAL NOT NULL,
        worst_price   REAL NOT NULL,
        legs          TEXT NOT NULL,        -- JSON list of fills
        PRIMARY KEY (session_id, trade_id),
        FOREIGN KEY (session_id, bar_time) REFERENCES bars (session_id, time)
    )
    """,
    """
    CREATE TABLE equity (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        bar_time   TEXT NOT NULL,
        equity     REAL NOT NULL,
        cash       REAL NOT NULL,
        exposure   REAL NOT NULL,
        PRIMARY KEY (session_id, bar_time),
        FOREIGN KEY (session_id, bar_time) REFERENCES bars (session_id, time)
    )
    """,
    """
    CREATE TABLE events (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        seq        INTEGER NOT NULL,        -- 1, 2, 3, … per session, in emission order
        bar_time   TEXT NOT NULL,
        kind       TEXT NOT NULL,
        payload    TEXT NOT NULL,           -- JSON: event_to_dict(event)
        PRIMARY KEY (session_id, seq),
        FOREIGN KEY (session_id, bar_time) REFERENCES bars (session_id, time)
    )
    """,
)

_V2 = (
    """
    CREATE TABLE history_bars (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        time       TEXT NOT NULL,
        open       REAL NOT NULL,
        high       REAL NOT NULL,
        low        REAL NOT NULL,
        close      REAL NOT NULL,
        volume     REAL NOT NULL,
        PRIMARY KEY (session_id, time)
    )
    """,
)
"""Version 2: the warm-up history a session was started with (fed to the strategy, never
stepped), so a resumed session and `atb parity` see exactly the candles the session saw."""

_V3 = (
    """
    CREATE TABLE detail_bars (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        bar_time   TEXT NOT NULL,             -- open time of the processed bar it refines
        time       TEXT NOT NULL,
        open       REAL NOT NULL,
        high       REAL NOT NULL,
        low        REAL NOT NULL,
        close      REAL NOT NULL,
        volume     REAL NOT NULL,
        PRIMARY KEY (session_id, time),
        FOREIGN KEY (session_id, bar_time) REFERENCES bars (session_id, time)
    )
    """,
)
"""Version 3: the lower-timeframe candles each processed bar was resolved on (when
`fills.detail_timeframe` is set), part of what the session consumed."""

_V4 = ("ALTER TABLE sessions ADD COLUMN instrument TEXT",)
"""Version 4: the market's rules a session trades with (JSON `instrument_to_dict`: tick, lot
step, minimums, assets and where they came from). NULL for sessions started before it."""

_V5 = ("ALTER TABLE kernel_states ADD COLUMN checksum TEXT",)
"""Version 5: the SHA-256 of each stored kernel state's JSON, verified when a session resumes
from it (damage inside a valid page is refused, not resumed). NULL for states written before."""

_V6 = (
    "ALTER TABLE equity ADD COLUMN ambiguous_low REAL",
    "ALTER TABLE equity ADD COLUMN ambiguous_high REAL",
    "ALTER TABLE trades ADD COLUMN exit TEXT",
)
"""Version 6: on an ambiguous bar, its PnL under the worse and the better of the two orders
in which the bar's extremes can be visited (NULL on other bars): a live session's ambiguity
band, as a backtest reports it. And each trade's typed exit reason (`ExitReason` value; NULL
for trades written before, read from their `exit_reason` text)."""

_V7 = (
    """
    CREATE TABLE exchange_orders (
        session_id      INTEGER NOT NULL REFERENCES sessions (id),
        seq             INTEGER NOT NULL,   -- 1, 2, 3, … per session, in first-written order
        client_id       TEXT NOT NULL,      -- sent as the exchange's client order id
        position_id     TEXT,
        kernel_order_id TEXT,               -- the kernel's market order it executes
        level           TEXT,               -- LevelKind value of the resting level it serves
        rung            INTEGER NOT NULL,
        list_id         TEXT,               -- the OCO list both legs belong to
        side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        shape           TEXT NOT NULL,
        quantity        REAL NOT NULL,
        price           REAL,
        stop_price      REAL,
        status          TEXT NOT NULL,
        exchange_id     TEXT,
        created_at      TEXT NOT NULL,      -- bar time of the close that planned it
        detail          TEXT NOT NULL,
        PRIMARY KEY (session_id, client_id),
        UNIQUE (session_id, seq)
    )
    """,
    """
    CREATE TABLE exchange_trades (
        session_id       INTEGER NOT NULL REFERENCES sessions (id),
        trade_id         TEXT NOT NULL,
        client_id        TEXT NOT NULL,
        side             TEXT NOT NULL,
        price            REAL NOT NULL,
        quantity         REAL NOT NULL,
        commission       REAL NOT NULL,
        commission_asset TEXT NOT NULL,
        time             TEXT NOT NULL,
        PRIMARY KEY (session_id, trade_id),
        FOREIGN KEY (session_id, client_id) REFERENCES exchange_orders (session_id, client_id)
    )
    """,
    """
    CREATE TABLE exchange_accounts (
        session_id    INTEGER PRIMARY KEY REFERENCES sessions (id),
        base_asset    TEXT NOT NULL,
        quote_asset   TEXT NOT NULL,
        outside_base  REAL NOT NULL,
        outside_quote REAL NOT NULL,
        adopted       TEXT NOT NULL
    )
    """,
)
"""Version 7: the write-ahead order journal of sessions that trade on an exchange — every order
written before it is sent, every fill as the exchange reported it, and what the account held
outside the session when it started (docs/concepts/live-trading.md)."""

_V8 = (
    """
    CREATE TABLE fill_pairs (
        session_id          INTEGER NOT NULL REFERENCES sessions (id),
        bar_time            TEXT NOT NULL,
        client_id           TEXT NOT NULL,
        slot                TEXT NOT NULL,
        side                TEXT NOT NULL,
        liquidity           TEXT NOT NULL,
        real_price          REAL NOT NULL,
        real_quantity       REAL NOT NULL,
        real_fee            REAL NOT NULL,
        real_time           TEXT NOT NULL,
        simulated_price     REAL,
        simulated_quantity  REAL,
        simulated_fee       REAL,
        PRIMARY KEY (session_id, bar_time, slot)
    )
    """,
)
"""Version 8: each real fill beside the fill the simulated venue would have made for the same
order on the same bar (fill quality, `atb parity --session`)."""

_V9 = (
    """
    CREATE TABLE portfolios (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
        strategy        TEXT NOT NULL,
        symbols         TEXT NOT NULL,      -- JSON list of the member symbols, sorted
        timeframe       TEXT NOT NULL,
        params          TEXT NOT NULL,      -- JSON object: strategy parameters
        config          TEXT NOT NULL,      -- JSON object: config_to_dict(RunConfiguration)
        initial_balance REAL NOT NULL,
        model_id        TEXT,
        id_prefix       TEXT NOT NULL UNIQUE,
        status          TEXT NOT NULL CHECK (status IN ('active', 'stopped')),
        created_at      TEXT NOT NULL,      -- wall clock, informational only
        stopped_at      TEXT,               -- wall clock, informational only
        last_bar_time   TEXT,               -- the last bar time the portfolio stepped
        writer_pid      INTEGER,
        writer_host     TEXT
    )
    """,
    "ALTER TABLE sessions ADD COLUMN portfolio_id INTEGER REFERENCES portfolios (id)",
    """
    CREATE TABLE portfolio_steps (
        portfolio_id INTEGER NOT NULL REFERENCES portfolios (id),
        bar_time     TEXT NOT NULL,
        present      TEXT NOT NULL,         -- JSON list: the symbols stepped at this time
        equity       REAL NOT NULL,
        cash         REAL NOT NULL,
        exposure     REAL NOT NULL,
        exposures    TEXT NOT NULL,         -- JSON object: symbol -> exposure at the close
        account      TEXT NOT NULL,         -- JSON: the account after the step
        checksum     TEXT NOT NULL,         -- SHA-256 of `account`
        PRIMARY KEY (portfolio_id, bar_time)
    )
    """,
    """
    CREATE TABLE portfolio_events (
        portfolio_id INTEGER NOT NULL REFERENCES portfolios (id),
        seq          INTEGER NOT NULL,      -- 1, 2, 3, … per portfolio, in emission order
        bar_time     TEXT NOT NULL,
        kind         TEXT NOT NULL,
        payload      TEXT NOT NULL,         -- JSON: event_to_dict(event)
        PRIMARY KEY (portfolio_id, seq),
        FOREIGN KEY (portfolio_id, bar_time) REFERENCES portfolio_steps (portfolio_id, bar_time)
    )
    """,
)
"""Version 9: live portfolios (ADR 0017). A portfolio is one account over member sessions, one
per symbol (`sessions.portfolio_id`), each recording its own bars, orders, fills, trades and
kernel state as a single-symbol session does; `portfolio_steps` holds the account after every
bar time (cash, equity, peak, tier, latch, marks) and `portfolio_events` the account's own
events (tier changes, the close-only latch). A bar time is recorded in one transaction."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
"""Ordered migration steps; step i takes the schema from version i to i + 1."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes and reads."""


def schema_version(connection: sqlite3.Connection) -> int:
    """The store's `PRAGMA user_version` (0 for a new, empty file)."""
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def check_version(version: int, path: str) -> None:
    """Refuse a store written by a newer atb."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"store {path} has schema version {version}, newer than this atb supports "
            f"({SCHEMA_VERSION}); upgrade atb to open it"
        )


def migrate(connection: sqlite3.Connection, path: str) -> int:
    """Apply every missing migration, one transaction each; returns the final version.

    `connection` must be in autocommit mode (`isolation_level=None`) and held by the store's
    only writer (see `atb.persistence.lock`).
    """
    version = schema_version(connection)
    check_version(version, path)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        try:
            connection.execute("BEGIN IMMEDIATE")
            for statement in MIGRATIONS[target - 1]:
                connection.execute(statement)
            # PRAGMA takes no parameters; `target` is an int from our own table.
            connection.execute(f"PRAGMA user_version = {int(target)}")
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(
                f"cannot migrate store {path} to schema version {target}: {exc}"
            ) from exc
    return SCHEMA_VERSION
