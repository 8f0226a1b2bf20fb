"""The stores a dashboard shows, each opened read-only once and read on a thread of its own.

A store is opened once, when the dashboard starts: that is when a bad `--db` (missing, not
SQLite, not an atb store, damaged) is refused, and it spares every poll the open's integrity
check (which reads the whole file). SQLite connections belong to the thread that made them, so
each store gets one worker thread that opens it and runs every read; a page's polls queue there,
one at a time, each in its own read transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from atb.persistence.liveness import writer_holder
from atb.persistence.store import SessionStore

T = TypeVar("T")


class StoreReader:
    """One store, read-only, with its own reading thread; `close()` when done."""

    def __init__(self, index: int, path: Path) -> None:
        """Open the store now (`StoreError` for a bad one: nothing is left running)."""
        self.index = index
        self.path = Path(path).absolute().resolve()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"atb-store-{index}")
        try:
            self._store = self._executor.submit(SessionStore.open, self.path, read_only=True)
            self._store.result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    async def read(self, read: Callable[[SessionStore, int | None], T]) -> T:
        """Run `read(store, holder)` on the store's thread, without blocking the event loop;
        `holder` is the pid holding the store's writer lock at that moment (None: no process
        does)."""
        return await asyncio.wrap_future(self._executor.submit(self._call, read))

    def _call(self, read: Callable[[SessionStore, int | None], T]) -> T:
        return read(self._store.result(), writer_holder(self.path))

    def close(self) -> None:
        """Close the store and end its thread."""
        self._executor.submit(lambda: self._store.result().close()).result()
        self._executor.shutdown(wait=True)


def open_stores(paths: list[Path]) -> list[StoreReader]:
    """A reader per path, in order; if one is refused, those opened already are closed."""
    readers: list[StoreReader] = []
    try:
        for index, path in enumerate(paths):
            readers.append(StoreReader(index, path))
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    return readers
