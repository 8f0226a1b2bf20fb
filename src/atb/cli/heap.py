"""Handing freed memory back to the operating system between the phases of a big command.

glibc's allocator keeps the pages of freed objects for reuse instead of returning them, so the
transient buffers of one phase (the CSV parser's, a million time strings) stay in the process's
resident size for the rest of the command and the next phase grows on top of them. A command
that reads a million bars, runs and then writes its files calls `return_freed_memory` between
those phases; its peak resident size is then the largest phase, not their sum (ADR 0020).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

__all__ = ["return_freed_memory"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to do
        return None
    return trim


def return_freed_memory() -> bool:
    """Return the allocator's free pages to the OS; True when some were returned (glibc only;
    elsewhere a no-op that returns False)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
