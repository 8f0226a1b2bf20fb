"""Running the real `atb` executable in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ATB = Path(sys.executable).with_name("atb")


def run_atb(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """`atb ARGS…` with a wide, non-TTY console; `env` adds to the current environment."""
    return subprocess.run(
        [str(ATB), *args],
        check=False,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
