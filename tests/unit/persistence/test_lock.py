"""The writer lock inside one process: a second writer is refused with the holder's pid, a
reader is not, and closing the store releases the lock."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from atb.persistence.errors import StoreError
from atb.persistence.lock import WriterLock, lock_path
from atb.persistence.store import SessionStore


def test_second_writer_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SessionStore.open(path)
    assert lock_path(path).read_text().split()[0] == str(os.getpid())
    message = rf"{re.escape(str(path))} is already open for writing by pid {os.getpid()}"
    with pytest.raises(StoreError, match=message):
        SessionStore.open(path)
    with SessionStore.open(path, read_only=True) as reader:
        assert reader.list_sessions() == []
    first.close()
    with SessionStore.open(path) as second:
        assert not second.read_only


def test_lock_release_is_idempotent(tmp_path: Path) -> None:
    lock = WriterLock.acquire(tmp_path / "x.db")
    states = [lock.held]
    lock.release()
    lock.release()
    states.append(lock.held)
    assert states == [True, False]
    assert lock.path == tmp_path / "x.db.lock"
    WriterLock.acquire(tmp_path / "x.db").release()


def test_lock_file_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(StoreError, match="cannot create lock file"):
        WriterLock.acquire(missing_dir)
