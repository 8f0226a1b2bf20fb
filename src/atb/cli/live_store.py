"""Where `atb live` keeps its store by default, and removing a store a command created in vain."""

from __future__ import annotations

from pathlib import Path

from atb.data.cache import default_data_dir
from atb.persistence.lock import lock_path


def default_db() -> Path:
    """The default live store: `<data dir>/live/atb-live.sqlite3`."""
    return default_data_dir() / "live" / "atb-live.sqlite3"


def discard_store(path: Path) -> None:
    """Delete a store file this command created and never used, with its WAL and lock files."""
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    lock_path(path).unlink(missing_ok=True)
