"""The store as a file: which file it is, whether it is whole, and what to do when it goes away.

- **Identity.** A store is one file, found through its resolved path (symlinks followed), and
  identified by device and inode. The writer records them when it opens the file and checks them
  before every commit: a store deleted or replaced while a session runs is noticed at the next
  bar, never written past.
- **Creation.** A new store is built in a temporary file beside the target and renamed into
  place, so no crash ever leaves a half-made store — and an existing zero-byte file is never a
  store atb made: it is refused, not silently initialised.
- **Integrity.** `PRAGMA quick_check` runs whenever a store is opened; a damaged file is refused.
- **Rescue.** When the file vanished or was replaced under a running writer, the writer's open
  connection still reads the original: it is saved beside the path as `<db>.recovered-<time>`.
- **Size.** The store's size counts its write-ahead log as well as the main file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import attrs

from atb.persistence.errors import StoreError


@attrs.frozen(slots=True)
class FileIdentity:
    """Device and inode of the store file."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        """The identity of the file at `path`, or None when there is none."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(stat.st_dev, stat.st_ino)


def refuse_empty(path: Path) -> None:
    """A zero-byte file at `path` is not a store: refuse it rather than initialise it."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_file() and path.stat().st_size == 0:
            raise StoreError(
                f"store {path} is an empty file (0 bytes), not an atb store: atb never leaves "
                "one behind, so something truncated or replaced it; restore it from a copy, "
                "or remove it to start a new store"
            )


_SQLITE_HEADER = b"SQLite format 3\x00"


def refuse_foreign(path: Path) -> None:
    """A file at `path` that is not an SQLite database is not a store: refuse it before the
    writer lock file is created beside it, so the refusal leaves the folder untouched."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError):
        return
    except OSError as error:
        raise StoreError(f"cannot read store {path}: {error.strerror or error}") from error
    if header and header != _SQLITE_HEADER:
        raise StoreError(
            f"cannot open store {path}: not an atb store (not an SQLite database); "
            "give --db a store's path, or a new file name to start one"
        )


def create_atomically(path: Path, build: Callable[[Path], None]) -> None:
    """Make a new store at `path`: `build` fills a temporary file beside it, which is then
    renamed into place (the caller holds the writer lock, so no atb process races it)."""
    temporary = path.with_name(f".{path.name}.creating-{os.getpid()}")
    try:
        build(temporary)
        if path.exists():
            raise StoreError(f"store {path} appeared while it was being created; try again")
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        for leftover in (temporary, *(temporary.with_name(temporary.name + s) for s in _SIDE)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


_SIDE = ("-wal", "-shm", "-journal")


def quick_check(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse a store SQLite finds damaged (`PRAGMA quick_check`)."""
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {path} is damaged or not an atb store: {exc}") from exc
    problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
    if problems:
        raise StoreError(
            f"store {path} is damaged (SQLite quick_check: {problems[0]}"
            f"{f' and {len(problems) - 1} more' if len(problems) > 1 else ''}); restore it from "
            "a copy"
        )


def store_bytes(path: Path) -> int:
    """The store's size on disk: the main file and its write-ahead log."""
    total = 0
    for part in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += part.stat().st_size
    return total


def rescue_copy(connection: sqlite3.Connection, path: Path) -> Path | None:
    """Save what `connection` still reads (a file deleted or replaced under it) beside `path`;
    None when even that fails."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.recovered-{stamp}")
    try:
        with contextlib.closing(sqlite3.connect(str(target))) as copy:
            connection.backup(copy)
    except (sqlite3.Error, OSError):
        return None
    return target
