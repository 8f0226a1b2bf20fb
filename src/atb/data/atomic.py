"""Atomic file replacement: write a temporary file beside the target, flush it, `os.replace` it.

Readers see either the old file or the complete new one, never a half-written file, and a
failure at any step leaves no temporary file behind (DESIGN §7).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

TEMP_SUFFIX = ".tmp"
"""Suffix of in-flight temporary files (they start with a dot and never outlive a write)."""


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temp_path)`, then atomically move the temporary file onto `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        write(temporary)
        _fsync_file(temporary)
        os.replace(temporary, target)
    finally:
        # After a successful replace the temporary name no longer exists.
        temporary.unlink(missing_ok=True)
    _fsync_directory(target.parent)


def write_text_atomically(target: Path, text: str) -> None:
    """Atomically replace `target` with `text` (UTF-8)."""

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    write_atomically(target, write)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
