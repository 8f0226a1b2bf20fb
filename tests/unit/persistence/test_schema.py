"""Schema versioning: migrations from an empty file, idempotent reopening, refusal of newer
(and, for readers, older or missing) stores, and the connection settings actually in force."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from atb.persistence.errors import StoreError
from atb.persistence.schema import MIGRATIONS, SCHEMA_VERSION
from atb.persistence.store import SessionStore

TABLES = {
    "sessions",
    "bars",
    "kernel_states",
    "orders",
    "fills",
    "positions",
    "trades",
    "equity",
    "events",
    "history_bars",
    "detail_bars",
    "exchange_orders",
    "exchange_trades",
    "exchange_accounts",
    "fill_pairs",
    "portfolios",
    "portfolio_steps",
    "portfolio_events",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows} - {"sqlite_sequence"}


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


def test_migrates_a_new_file_to_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.db"
    with SessionStore.open(path) as store:
        assert store.pragmas()["user_version"] == SCHEMA_VERSION == len(MIGRATIONS)
    assert _tables(path) == TABLES
    assert _user_version(path) == SCHEMA_VERSION


def test_reopening_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SessionStore.open(path) as store:
        store.create_session(
            strategy="s",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=1000.0,
        )
    with SessionStore.open(path) as store:
        assert len(store.list_sessions()) == 1
    assert _user_version(path) == SCHEMA_VERSION


def test_writer_settings_are_in_force(tmp_path: Path) -> None:
    with SessionStore.open(tmp_path / "store.db") as store:
        pragmas = store.pragmas()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] == 5000


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    """The schema declares the references (the writer turns enforcement on: see the pragma
    test); any connection with enforcement refuses an orphan row."""
    path = tmp_path / "store.db"
    SessionStore.open(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            connection.execute(
                "INSERT INTO bars VALUES (42, '2024-01-01T00:00:00.000000+00:00', 1, 1, 1, 1, 0)"
            )


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SessionStore.open(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for read_only in (False, True):
        with pytest.raises(
            StoreError, match=rf"{re.escape(str(path))}.*schema version {SCHEMA_VERSION + 1}.*newer"
        ):
            SessionStore.open(path, read_only=read_only)
    assert _user_version(path) == SCHEMA_VERSION + 1  # untouched


def test_reader_needs_an_existing_migrated_store(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match=rf"no store at {re.escape(str(missing))}"):
        SessionStore.open(missing, read_only=True)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    empty.write_bytes(b"")
    # A zero-byte file is never a store atb made: refused for reading and for writing alike.
    for read_only in (True, False):
        with pytest.raises(StoreError, match="is an empty file \\(0 bytes\\), not an atb store"):
            SessionStore.open(empty, read_only=read_only)
    assert empty.read_bytes() == b""
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).execute("CREATE TABLE t (x)").connection.close()
    # SQLite, but no table of atb's: no migration would make it a store.
    with pytest.raises(StoreError, match="not an atb store \\(an SQLite database without"):
        SessionStore.open(blank, read_only=True)
    # A store from before schema versions (it has atb's sessions table): migrate by writing.
    unversioned = tmp_path / "unversioned.db"
    sqlite3.connect(unversioned).execute("CREATE TABLE sessions (id)").connection.close()
    with pytest.raises(StoreError, match="schema version 0, older"):
        SessionStore.open(unversioned, read_only=True)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_text("not a database, just some text " * 100)
    with pytest.raises(StoreError, match=rf"cannot open store {re.escape(str(path))}"):
        SessionStore.open(path)


def test_a_version_1_store_migrates_to_version_2_keeping_its_data(tmp_path: Path) -> None:
    """Stores written before the history table existed gain it on the next writer open."""
    from atb.persistence.schema import MIGRATIONS as STEPS

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        for statement in STEPS[0]:
            connection.execute(statement)
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO sessions (strategy, params, config, symbol, timeframe,"
            " initial_balance, id_prefix, status, created_at)"
            " VALUES ('sma_cross', '{}', '{}', 'BTCUSDT', '1h', 1000.0, 's1', 'active',"
            " '2024-01-01T00:00:00.000000+00:00')"
        )
    assert "history_bars" not in _tables(path)
    with SessionStore.open(path) as store:
        assert store.pragmas()["user_version"] == SCHEMA_VERSION
        (session,) = store.list_sessions()
        assert session.strategy == "sma_cross"
        assert store.history_bars(session.id) == []
    assert "history_bars" in _tables(path)
