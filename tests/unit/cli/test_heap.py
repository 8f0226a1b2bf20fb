"""`return_freed_memory`: freed pages go back to the OS between a command's phases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atb.cli.heap import return_freed_memory


def _resident_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line in /proc/self/status")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="malloc_trim and /proc/self/status are Linux (glibc) features",
)
def test_freed_heap_pages_leave_the_resident_size() -> None:
    # Buffers below glibc's mmap threshold live on the heap; small survivors between them keep
    # the allocator from shrinking the heap by itself when the buffers are freed.
    buffers, survivors = [], []
    for _ in range(1_500):
        buffers.append(bytearray(64 * 1024))
        survivors.append(bytearray(1024))
    del buffers
    kept = _resident_kib()
    returned = return_freed_memory()
    after = _resident_kib()
    assert returned is True
    assert after < kept - 60_000  # most of the ~94 MiB freed went back
    assert len(survivors) == 1_500
