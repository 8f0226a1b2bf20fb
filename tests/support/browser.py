"""A real headless Chromium for page tests: find the binary, load a page, keep the DOM and the
console lines (any console line at all is a failure: plotly.js logs nothing while drawing a
valid figure)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT_S = 60
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)?\]|Uncaught")


def find_chromium() -> tuple[str | None, str]:
    """The Chromium binary to use, or None and why none was found."""
    configured = os.environ.get("ATB_CHROMIUM")
    if configured:
        if Path(configured).is_file():
            return configured, ""
        return None, f"$ATB_CHROMIUM={configured} is not a file"
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium", ""
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found, ""
    looked = ", ".join(_CANDIDATES)
    return None, f"no Chromium binary found (looked for /usr/bin/chromium and {looked} on PATH)"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of a Chromium binary, or skip the module with the reason."""
    binary, reason = find_chromium()
    if binary is None:
        pytest.skip(f"{reason}; install it with `apt-get install -y chromium`")
    return binary


def dump_dom(binary: str, page: Path, profile: Path) -> tuple[str, list[str]]:
    """Run the page headless; return the DOM after its scripts ran and the console lines."""
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
        # No D-Bus session here: tell Chromium so instead of letting it try.
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"},
    )
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}"
    console = [line for line in done.stderr.splitlines() if _CONSOLE.search(line)]
    return done.stdout, console
