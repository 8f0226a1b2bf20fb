"""One writer per store: an exclusive `flock` on `<db>.lock`, holding the writer's pid.

The kernel releases a `flock` when its process dies, however it dies (SIGKILL included), so a
crashed writer never leaves a stale lock behind; the pid inside the file is only there to name
the holder in the error a second writer gets. The file itself is never deleted (deleting it
would let two processes lock two different files of the same name).
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from atb.persistence.errors import StoreError


def lock_path(db_path: Path) -> Path:
    """The lock file beside the database: `<db>.lock`, for the resolved path, so a store
    reached through a symlink has the same lock as through its real name."""
    real = Path(db_path).absolute().resolve()
    return real.with_name(real.name + ".lock")


class WriterLock:
    """An acquired writer lock; `release()` (idempotent) gives it up."""

    __slots__ = ("_fd", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, db_path: Path) -> WriterLock:
        """Take the lock of the store at `db_path` without waiting.

        Raises `StoreError` naming the holder's pid (and host) when another writer, in this or
        another process, holds it.
        """
        path = lock_path(db_path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create lock file {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreError(
                f"store {db_path} is already open for writing by {holder} "
                f"(lock file {path}); stop that process first"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)  # closing the descriptor releases the flock
            raise StoreError(f"cannot write lock file {path}: {exc.strerror or exc}") from exc
        return cls(path, fd)

    @property
    def held(self) -> bool:
        """True until `release()`."""
        return self._fd is not None

    def release(self) -> None:
        """Release the lock (the pid stays in the file; it is harmless once unlocked)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def lock_holder(db_path: Path) -> int | None:
    """The pid of the process holding the writer lock of the store at `db_path`, or None when
    no process holds it (a crashed writer's lock is released by the kernel)."""
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 256, 0).decode(errors="replace").split()
            return int(text[0]) if text and text[0].isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 256, 0).decode(errors="replace").split()
    except OSError:
        text = []
    if not text:
        return "another process (pid unknown)"
    host = f" on {text[1]}" if len(text) > 1 else ""
    return f"pid {text[0]}{host}"
