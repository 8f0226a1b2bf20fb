"""`SessionStore`: the live engine's crash-safe SQLite store (docs/concepts/store.md).

One file per deployment. The writer holds `<db>.lock` (one writer per store), runs the schema
migrations, and records each processed bar in ONE `BEGIN IMMEDIATE … COMMIT` transaction: the
candle, its events, orders, fills, positions, trades, equity and the complete kernel state. WAL
mode with `synchronous=FULL` makes every commit durable before `record_bar` returns, and
SQLite's atomic commit means a crash (SIGKILL anywhere) leaves either the whole bar or none of
it. Readers (`atb live status`, `atb parity`) open the file read-only, without the lock, while
a writer runs.

Every failure is a `StoreError` naming the database file; a failed write is rolled back.
A `SessionStore` is not thread-safe: use it from one thread at a time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from atb.config import config_to_dict
from atb.domain.bars import Bar
from atb.domain.events import KernelEvent
from atb.domain.instruments import Instrument
from atb.domain.models import LivePosition, Trade
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.run_config import RunConfiguration
from atb.persistence import queries
from atb.persistence.connection import connect_reader, connect_writer
from atb.persistence.errors import StoreError, StoreVanishedError
from atb.persistence.fields import dump_time, dumps, now_text
from atb.persistence.lock import WriterLock, lock_path
from atb.persistence.mappers import instrument_to_dict
from atb.persistence.recording import (
    insert_session,
    write_bar,
    write_history,
    write_intervention,
)
from atb.persistence.records import (
    EquityPoint,
    FillRecord,
    OrderRecord,
    PositionRecord,
    SessionRecord,
)
from atb.persistence.store_file import (
    FileIdentity,
    create_atomically,
    refuse_empty,
    refuse_foreign,
    rescue_copy,
    store_bytes,
)


class SessionStore:
    """The session store; create it with `SessionStore.open`, finish with `close()` (or `with`)."""

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        lock: WriterLock | None,
        max_bytes: int | None = None,
    ) -> None:
        """Internal: use `SessionStore.open`."""
        self._path = path
        self._connection: sqlite3.Connection | None = connection
        self._lock = lock
        self._max_bytes = max_bytes
        # The file this writer opened: checked before every commit (see `store_file`).
        self._identity = FileIdentity.of(path) if lock is not None else None

    # --- opening and closing -----------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, *, read_only: bool = False, max_bytes: int | None = None
    ) -> SessionStore:
        """Open (creating it and its parent directories if needed) the store at `path`.

        For writing: takes the writer lock (a `StoreError` naming the holder's pid if another
        process has it), sets WAL mode, `synchronous=FULL`, foreign keys and a busy timeout,
        and migrates the schema; `max_bytes` caps the file size (a bar that would pass it fails
        like a full disk: `StoreError`, nothing of it written). With `read_only=True`: no lock,
        no migration, no creation; the file must exist and have this code's schema version.
        """
        # The resolved path: a symlink and its target are one store, with one lock.
        path = Path(path).absolute().resolve()
        refuse_empty(path)
        refuse_foreign(path)
        if read_only:
            return cls(path, connect_reader(path), None)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of store {path}: {exc}") from exc
        new_lock_file = not lock_path(path).exists()
        lock = WriterLock.acquire(path)
        try:
            if not path.exists():
                create_atomically(path, lambda temporary: connect_writer(temporary).close())
            connection = connect_writer(path, max_bytes)
        except BaseException:
            if new_lock_file:
                # A refused file (not a store, a newer schema) leaves the disk as it was: the
                # lock file this call created goes too, removed while still held.
                lock_path(path).unlink(missing_ok=True)
            lock.release()
            raise
        return cls(path, connection, lock, max_bytes)

    @staticmethod
    def check_writable(path: Path) -> None:
        """Refuse, before anything is created or fetched, a store path that cannot be written:
        a file where a folder should be, a read-only folder, a folder where the file should
        be. `StoreError` naming the path; nothing on disk changes."""
        path = Path(path).absolute()
        if path.is_dir():
            raise StoreError(f"store {path} is a directory; give a file path for --db")
        if path.exists():
            if not os.access(path, os.W_OK):
                raise StoreError(f"store {path} is not writable")
            return
        ancestor = path.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise StoreError(
                f"cannot create the directory of store {path}: {ancestor} is not a directory"
            )
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise StoreError(f"cannot create store {path}: {ancestor} is not writable")

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def read_only(self) -> bool:
        """True for a reader (opened with `read_only=True`)."""
        return self._lock is None

    def close(self) -> None:
        """Close the database and release the writer lock (idempotent)."""
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                connection.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def pragmas(self) -> dict[str, object]:
        """The connection's effective settings: journal_mode, synchronous (2 = FULL),
        foreign_keys, busy_timeout (ms) and user_version (the schema version)."""
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        with self._reading("read settings") as connection:
            return {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

    # --- sessions ----------------------------------------------------------------------------

    def create_session(
        self,
        *,
        strategy: str,
        symbol: str,
        timeframe: str,
        params: Mapping[str, object],
        config: RunConfiguration | Mapping[str, object],
        initial_balance: float,
        model_id: str | None = None,
        id_prefix: str | None = None,
        history: Sequence[Bar] = (),
        instrument: Instrument | None = None,
        instrument_source: str = "",
    ) -> SessionRecord:
        """Start a new active session and return it.

        `config` is stored in `config_to_dict` form. `id_prefix` (the prefix of the session's
        deterministic order and position ids, unique in the store) defaults to `s<id>`.
        `history` (the warm-up candles the session starts with) is written in the same
        transaction, so a crash can never leave a session without its warm-up. `instrument`
        (with `instrument_source`) records the market's rules the session trades with.
        """
        config_dict = config_to_dict(config) if isinstance(config, RunConfiguration) else config
        try:
            params_text, config_text = dumps(dict(params)), dumps(dict(config_dict))
            rules_text = (
                None
                if instrument is None
                else dumps(instrument_to_dict(instrument, instrument_source))
            )
        except (TypeError, ValueError) as exc:
            raise StoreError(f"session params/config are not JSON values: {exc}") from exc
        with self._transaction("create a session") as connection:
            session_id = insert_session(
                connection,
                strategy=strategy,
                symbol=symbol,
                timeframe=timeframe,
                params_text=params_text,
                config_text=config_text,
                initial_balance=initial_balance,
                model_id=model_id,
                id_prefix=id_prefix,
                instrument_text=rules_text,
            )
            write_history(connection, session_id, history)
        return self.get_session(session_id)

    def resume_session(self, session_id: int) -> SessionRecord:
        """Claim an active session for this writer (records its pid/host) and return it."""
        with self._transaction(f"resume session {session_id}") as connection:
            # Claiming clears `stopped_at`: the session runs again (atb.persistence.liveness).
            updated = connection.execute(
                "UPDATE sessions SET writer_pid = ?, writer_host = ?, stopped_at = NULL"
                " WHERE id = ? AND status = 'active'",
                (os.getpid(), socket.gethostname(), session_id),
            ).rowcount
            if not updated:
                raise StoreError(f"no active session {session_id}")
        return self.get_session(session_id)

    def release_session(self, session_id: int) -> None:
        """Record that this writer stopped running the active session cleanly: its
        `stopped_at` is set while it stays active (the next `atb live` resumes it; claiming it
        clears the mark). A writer that dies without this call (SIGKILL, a fatal error) leaves
        no mark, which is how `atb.persistence.liveness` tells a crash from a clean stop."""
        with self._transaction(f"release session {session_id}") as connection:
            connection.execute(
                "UPDATE sessions SET stopped_at = ?"
                " WHERE id = ? AND status = 'active' AND writer_pid = ?",
                (now_text(), session_id, os.getpid()),
            )

    def mark_stopped(self, session_id: int) -> SessionRecord:
        """Stop a session for good: it is no longer resumed and records no more bars."""
        with self._transaction(f"stop session {session_id}") as connection:
            connection.execute(
                "UPDATE sessions SET status = 'stopped', stopped_at = COALESCE(stopped_at, ?)"
                " WHERE id = ?",
                (now_text(), session_id),
            )
        return self.get_session(session_id)

    def delete_session(self, session_id: int) -> None:
        """Remove a stopped session and everything it recorded (one transaction). An active
        session is refused: stop it, or start a new one, first."""
        session = self.get_session(session_id)
        if session.active:
            raise StoreError(
                f"session {session_id} in store {self._path} is active; end it first (start a "
                "new session with --new-session) — an active session is never pruned"
            )
        if session.portfolio_id is not None:
            raise StoreError(
                f"session {session_id} is the {session.symbol} member of portfolio "
                f"{session.portfolio_id}; a portfolio is pruned whole (--portfolio "
                f"{session.portfolio_id})"
            )
        with self._transaction(f"delete session {session_id}") as connection:
            delete_session_rows(connection, session_id)

    def compact(self) -> None:
        """Give the space of deleted rows back to the file system (`VACUUM`)."""
        connection = self._open_connection("compact the store")
        if self._lock is None:
            raise StoreError(f"cannot compact store {self._path}: it is open read-only")
        try:
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot compact store {self._path}: {exc}") from exc
        self._identity = FileIdentity.of(self._path)

    def get_session(self, session_id: int) -> SessionRecord:
        """The session with this id; `StoreError` if there is none."""
        found = self._sessions("WHERE id = ?", (session_id,))
        if not found:
            raise StoreError(f"no session {session_id} in store {self._path}")
        return found[0]

    def find_active_session(
        self, strategy: str, symbol: str, timeframe: str
    ) -> SessionRecord | None:
        """The newest active session for this strategy, symbol and timeframe, if any (a
        portfolio's member sessions are the portfolio's: never found here)."""
        found = self._sessions(
            "WHERE strategy = ? AND symbol = ? AND timeframe = ? AND status = 'active'"
            " AND portfolio_id IS NULL ORDER BY id DESC LIMIT 1",
            (strategy, symbol, timeframe),
        )
        return found[0] if found else None

    def latest_session(self) -> SessionRecord | None:
        """The most recently created session, if any."""
        found = self._sessions("ORDER BY id DESC LIMIT 1", ())
        return found[0] if found else None

    def list_sessions(self) -> list[SessionRecord]:
        """Every session, oldest first."""
        return self._sessions("ORDER BY id", ())

    def _sessions(self, clause: str, args: tuple[object, ...]) -> list[SessionRecord]:
        with self._reading("read sessions") as connection:
            rows = connection.execute(
                f"SELECT {queries.SESSION_COLUMNS} FROM sessions {clause}", args
            ).fetchall()
            return [queries.session_from_row(row) for row in rows]

    # --- recording ---------------------------------------------------------------------------

    def record_bar(
        self,
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
        """Record one processed bar in ONE transaction; durable when this returns.

        Writes the candle, its events (next per-session `seq`), the orders (intents from
        `OrderPlaced` and the state's pending orders, resolutions from fills and rejections),
        fills, positions, trades (from `PositionClosed`), the equity point, the kernel state
        after the bar, and `sessions.last_bar_time`. Refuses (`StoreError`) a bar that is not
        strictly after the session's last processed bar, a stopped session, a reused order id;
        on any error nothing of the bar is written.
        """
        action = f"record bar {dump_time(bar.time)} of session {session_id}"
        with self._transaction(action) as connection:
            write_bar(
                connection,
                session_id,
                bar,
                events=events,
                state=state,
                equity=equity,
                exposure=exposure,
                detail=detail,
                ambiguous_pnl=ambiguous_pnl,
            )

    def record_intervention(
        self,
        session_id: int,
        bar_time: datetime,
        events: Sequence[KernelEvent],
        state: KernelState[LivePosition],
    ) -> None:
        """Amend the state after the last processed bar (`bar_time`) with orders queued outside
        the strategy, such as a flatten; one transaction, durable on return."""
        action = f"record an intervention after bar {dump_time(bar_time)} of session {session_id}"
        with self._transaction(action) as connection:
            write_intervention(connection, session_id, bar_time, events=events, state=state)

    def record_history(self, session_id: int, bars: Sequence[Bar]) -> None:
        """Record the warm-up history a session starts with (one transaction; only once, before
        its first processed bar)."""
        with self._transaction(f"record the history of session {session_id}") as connection:
            write_history(connection, session_id, bars)

    def history_bars(self, session_id: int) -> list[Bar]:
        """The warm-up history the session was started with, in time order."""
        with self._reading(f"read the history of session {session_id}") as connection:
            return queries.bars(connection, session_id, "history_bars")

    def record_step(
        self,
        session_id: int,
        bar: Bar,
        result: StepResult[LivePosition],
        detail: Sequence[Bar] = (),
    ) -> None:
        """`record_bar` with the fields of a kernel `StepResult` (and the detail candles the
        bar was resolved on)."""
        self.record_bar(
            session_id,
            bar,
            events=result.events,
            state=result.state,
            equity=result.equity,
            exposure=result.exposure,
            detail=detail,
            ambiguous_pnl=result.ambiguous_pnl,
        )

    def detail_bars(self, session_id: int) -> list[Bar]:
        """Every lower-timeframe candle the session resolved bars on, in time order."""
        with self._reading(f"read the detail candles of session {session_id}") as connection:
            return queries.bars(connection, session_id, "detail_bars")

    # --- reading -----------------------------------------------------------------------------

    def load_state(self, session_id: int) -> tuple[KernelState[LivePosition], datetime] | None:
        """The kernel state after the last committed bar and that bar's time (None before the
        first bar): what a resumed session continues from."""
        with self._reading(f"load the state of session {session_id}") as connection:
            return queries.latest_state(connection, session_id)

    def states(self, session_id: int) -> list[tuple[datetime, KernelState[LivePosition]]]:
        """The kernel state after every processed bar, by bar time (for parity and debugging)."""
        with self._reading(f"read the states of session {session_id}") as connection:
            return queries.states(connection, session_id)

    def processed_bars(self, session_id: int) -> list[Bar]:
        """The exact candles the session processed, in time order."""
        with self._reading(f"read the bars of session {session_id}") as connection:
            return queries.bars(connection, session_id)

    def events(self, session_id: int) -> list[KernelEvent]:
        """The session's full kernel event stream, in order."""
        with self._reading(f"read the events of session {session_id}") as connection:
            return queries.events(connection, session_id)

    def trades(self, session_id: int) -> list[Trade]:
        """The session's closed trades with every leg, in closing order."""
        with self._reading(f"read the trades of session {session_id}") as connection:
            return queries.trades(connection, session_id)

    def equity(self, session_id: int) -> list[EquityPoint]:
        """Equity, cash and exposure at each processed bar's close."""
        with self._reading(f"read the equity of session {session_id}") as connection:
            return queries.equity(connection, session_id)

    def orders(self, session_id: int) -> list[OrderRecord]:
        """Every order of the session with its status."""
        with self._reading(f"read the orders of session {session_id}") as connection:
            return queries.orders(connection, session_id)

    def fills(self, session_id: int) -> list[FillRecord]:
        """Every execution of the session, in order."""
        with self._reading(f"read the fills of session {session_id}") as connection:
            return queries.fills(connection, session_id)

    def positions(self, session_id: int) -> list[PositionRecord]:
        """Every position of the session, open and closed."""
        with self._reading(f"read the positions of session {session_id}") as connection:
            return queries.positions(connection, session_id)

    # --- plumbing ----------------------------------------------------------------------------

    def writing(self, action: str) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction (committed durably on leaving, rolled back on an error, which
        becomes a `StoreError` naming `action`), for the store's companion tables."""
        return self._transaction(action)

    def reading(self, action: str) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One consistent read snapshot (see `writing`)."""
        return self._reading(action)

    def _check_identity(self, connection: sqlite3.Connection, action: str) -> None:
        """Refuse to commit into a file that is no longer the store at our path."""
        if FileIdentity.of(self._path) == self._identity:
            return
        _rollback(connection)
        rescued = rescue_copy(connection, self._path)
        raise StoreVanishedError(_vanished_message(self._path, action, rescued))

    def _open_connection(self, action: str) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError(f"cannot {action}: store {self._path} is closed")
        return self._connection

    @contextlib.contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        connection = self._open_connection(action)
        try:
            # One read transaction, so a multi-statement read sees one consistent snapshot.
            connection.execute("BEGIN")
            yield connection
        except (sqlite3.Error, ValueError) as exc:  # ValueError: stored data that won't decode
            raise StoreError(f"cannot {action} in store {self._path}: {exc}") from exc
        finally:
            _rollback(connection)  # ends the read transaction; nothing was written

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        connection = self._open_connection(action)
        if self._lock is None:
            raise StoreError(f"cannot {action}: store {self._path} is open read-only")
        if self._max_bytes is not None and store_bytes(self._path) >= self._max_bytes:
            raise StoreError(
                f"cannot {action}: store {self._path} is full ({store_bytes(self._path):,} "
                f"bytes with its write-ahead log, cap {self._max_bytes:,}; rolled back: nothing of "
                "it was written)"
            )
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            self._check_identity(connection, action)
            connection.execute("COMMIT")
        except StoreVanishedError:
            raise
        except BaseException as exc:
            _rollback(connection)
            if isinstance(exc, sqlite3.Error | StoreError):
                raise StoreError(
                    f"cannot {action} in store {self._path}: {exc} (rolled back: nothing of it "
                    "was written)"
                ) from exc
            raise


_SESSION_TABLES = (
    "fill_pairs",
    "exchange_trades",
    "exchange_orders",
    "exchange_accounts",
    "events",
    "equity",
    "kernel_states",
    "trades",
    "fills",
    "positions",
    "orders",
    "detail_bars",
    "bars",
    "history_bars",
)
"""Every table holding a session's rows, children before the tables they refer to."""


def delete_session_rows(connection: sqlite3.Connection, session_id: int) -> None:
    """Delete a session and everything it recorded (inside the caller's transaction)."""
    for table in _SESSION_TABLES:
        connection.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
    connection.execute("DELETE FROM sessions WHERE id = ?", (session_id,))


def _vanished_message(path: Path, action: str, rescued: Path | None) -> str:
    saved = (
        f"the data it held was saved to {rescued}"
        if rescued is not None
        else "its data could not be saved"
    )
    return (
        f"cannot {action}: store {path} was deleted or replaced while it was open; nothing "
        f"more is written, {saved}"
    )


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
