"""`return_freed_memory`: freed pages go back to the OS between a command's phases;
`prefer_small_pages`: a command's numpy arrays stay on ordinary pages unless the user says."""

from __future__ import annotations

import json
import os
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


def _run(scenario: str, environment: dict[str, str] | None = None) -> str:
    """The last line a scenario prints, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", scenario],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="malloc_trim and /proc/self/status are Linux (glibc) features",
)
def test_freed_heap_pages_leave_the_resident_size() -> None:
    numbers = json.loads(_run(SCENARIO))
    assert numbers["returned"] is True
    assert numbers["after"] < numbers["kept"] - 60_000  # most of the ~94 MiB freed went back


# Arrow's pool (mimalloc) caches what it freed, and glibc's trim does not reach it.
ARROW_SCENARIO = """
import ctypes
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from atb.cli.heap import return_freed_memory


def resident_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


texts = [pa.array(np.arange(1_000_000, dtype=np.int64)).cast(pa.string()) for _ in range(8)]
del texts
ctypes.CDLL(None).malloc_trim(0)
trimmed = resident_kib()
return_freed_memory()
print(json.dumps({"trimmed": trimmed, "after": resident_kib()}))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="malloc_trim and /proc/self/status are Linux (glibc) features",
)
def test_arrow_s_cached_pages_leave_the_resident_size_too() -> None:
    numbers = json.loads(_run(ARROW_SCENARIO))
    assert numbers["after"] < numbers["trimmed"] - 60_000  # most of the ~110 MiB of text


# numpy's own answer to "do my arrays ask for huge pages?", after `atb` ran in this interpreter.
HUGE_PAGES_AFTER_A_COMMAND = """
from atb.cli.main import main

main(["--version"])
import numpy

print(numpy._core.multiarray._get_madvise_hugepage())
"""


def test_a_command_keeps_numpy_off_huge_pages() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    assert _run(HUGE_PAGES_AFTER_A_COMMAND, environment) == "False"


def test_the_user_s_own_huge_page_setting_is_kept() -> None:
    environment = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": "1"}
    assert _run(HUGE_PAGES_AFTER_A_COMMAND, environment) == "True"
