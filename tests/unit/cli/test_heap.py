"""`return_freed_memory`: freed pages go back to the OS between a command's phases."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# A fresh interpreter, so the heap holds only what the scenario puts there (a test worker's heap
# carries everything earlier tests left). Buffers below glibc's mmap threshold live on the heap;
# small survivors between them keep the allocator from shrinking the heap by itself.
SCENARIO = """
import json
from pathlib import Path

from atb.cli.heap import return_freed_memory


def resident_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


buffers, survivors = [], []
for _ in range(1_500):
    buffers.append(bytearray(64 * 1024))
    survivors.append(bytearray(1024))
del buffers
kept = resident_kib()
returned = return_freed_memory()
print(json.dumps({"kept": kept, "returned": returned, "after": resident_kib()}))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="malloc_trim and /proc/self/status are Linux (glibc) features",
)
def test_freed_heap_pages_leave_the_resident_size() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout)
    assert numbers["returned"] is True
    assert numbers["after"] < numbers["kept"] - 60_000  # most of the ~94 MiB freed went back
