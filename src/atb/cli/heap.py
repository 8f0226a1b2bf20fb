"""Handing freed memory back to the operating system between the phases of a big command.

glibc's allocator keeps the pages of freed objects for reuse instead of returning them, so the
transient buffers of one phase (the CSV parser's, a million time strings) stay in the process's
resident size for the rest of the command and the next phase grows on top of them. A command
that reads a million bars, runs and then writes its files calls `return_freed_memory` between
those phases; its peak resident size is then the largest phase, not their sum (ADR 0020). Arrow's
memory pool, where pandas keeps a CSV's text, is asked to do the same.

The command also keeps numpy's arrays on ordinary pages (`prefer_small_pages`): numpy asks the
kernel for transparent huge pages on every large array, and the kernel then zeroes 2 MiB at each
first touch, whether the array uses it or not.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

__all__ = ["prefer_small_pages", "return_freed_memory"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # here: every command imports this module, few of them trim

    try:
        # The running program's own symbols: the C library it is linked with.
        function = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        return None
    function.argtypes = (ctypes.c_size_t,)  # int malloc_trim(size_t pad)
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim


def return_freed_memory() -> bool:
    """Return the allocators' free pages to the OS; True when glibc's returned some (elsewhere
    glibc's part is a no-op).

    Two allocators hold a command's big buffers: glibc's (numpy, Python) and Arrow's pool
    (pandas keeps CSV text in Arrow arrays; the time parser casts them), which caches what was
    freed for reuse just as glibc does. Arrow's pool is asked only when pyarrow is loaded.
    """
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def prefer_small_pages() -> None:
    """Ask numpy, before it is imported, not to request transparent huge pages for its arrays.

    numpy reads `NUMPY_MADVISE_HUGEPAGE` once, at import. With huge pages, a million-bar
    `atb backtest` spent 2-3 s of system time zeroing 2 MiB pages on this project's machine
    (`perf`: `clear_page_erms` under `do_huge_pmd_anonymous_page`), against ~1 s with ordinary
    pages, for the same peak resident size (ADR 0020). A value the user set is kept.
    """
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
