"""SQLite connections for the store's writer and readers, with the settings the store relies on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atb.persistence.errors import StoreError
from atb.persistence.schema import SCHEMA_VERSION, check_version, migrate, schema_version
from atb.persistence.store_file import quick_check

BUSY_TIMEOUT_MS = 5_000
"""How long a statement waits for another connection's lock before failing."""

WAL_SIZE_LIMIT = 4 * 1024 * 1024
"""Bytes the write-ahead log is truncated to after a checkpoint."""


def connect_writer(path: Path, max_bytes: int | None = None) -> sqlite3.Connection:
    """The writer's connection: autocommit mode (transactions are explicit), WAL,
    `synchronous=FULL`, foreign keys, busy timeout, schema migrated. The caller holds the lock.

    `max_bytes` caps the database file (SQLite's `max_page_count`): a write that would grow it
    past the cap fails like a full disk, and its transaction is rolled back."""
    try:
        connection = sqlite3.connect(
            str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {path}: {exc}") from exc
    try:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"cannot switch store {path} to WAL mode (got {mode!r})")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Keep the write-ahead log from growing without bound between checkpoints.
        connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        quick_check(connection, path)
        migrate(connection, str(path))
        if max_bytes is not None:
            (page_size,) = connection.execute("PRAGMA page_size").fetchone()
            (pages,) = connection.execute("PRAGMA page_count").fetchone()
            limit = max(int(pages), max_bytes // int(page_size))
            connection.execute(f"PRAGMA max_page_count = {limit}")
    except BaseException as exc:
        connection.close()
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        raise
    return connection


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only (`mode=ro`) connection to an existing store at this code's schema version."""
    if not path.is_file():
        raise StoreError(f"no store at {path}")
    try:
        connection = sqlite3.connect(
            f"{path.as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {path} read-only: {exc}") from exc
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        quick_check(connection, path)
        version = schema_version(connection)
        check_version(version, str(path))
        if version == 0 and not _has_sessions(connection):
            # An SQLite file atb never wrote: no migration would make it a store.
            raise StoreError(
                f"cannot open store {path}: not an atb store (an SQLite database without "
                "atb's tables)"
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"store {path} has schema version {version}, older than this atb's "
                f"({SCHEMA_VERSION}); open it for writing once (e.g. resume the live session) "
                "to migrate it"
            )
    except BaseException as exc:
        connection.close()
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot open store {path} read-only: {exc}") from exc
        raise
    return connection


def _has_sessions(connection: sqlite3.Connection) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'"
    ).fetchone()
    return found is not None
