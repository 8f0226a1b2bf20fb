"""`atb dashboard` as a user runs it: one line saying where it serves, one-line refusals of bad
input, a token off localhost, and a real headless Chromium following a paced replay — the page
updates without a reload, marks the session crashed within a poll after SIGKILL and running
again after the restart. On a failure the page's screenshot is kept and its path named."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from atb.persistence.store import SessionStore
from tests.support.cdp import Browser
from tests.support.cli import ATB, ROOT, run_atb
from tests.support.live_harness import LiveProcess, processed_bars, wait_until

POLL = 0.5
ANNOUNCED = re.compile(r"dashboard on http://(\S+):(\d+) \(read-only; (\d+) stores?\)\n")


def number(value: object) -> float:
    """A page value as a number (-1 for anything else)."""
    return float(value) if isinstance(value, int | float) else -1.0


class Dashboard:
    """`atb dashboard …` in a subprocess; `url` once it has said where it serves."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [str(ATB), "dashboard", "--port", "0", "--poll", str(POLL), *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.process.stdout is not None
        self.line = self.process.stdout.readline()
        found = ANNOUNCED.fullmatch(self.line)
        assert found, f"{self.line!r}; stderr: {log.read_text()[-2000:]}"
        self.url = f"http://127.0.0.1:{found.group(2)}"

    def stop(self) -> int:
        """SIGTERM: a clean exit."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=15)
        self._log.close()
        return code


@pytest.fixture
def empty_store(tmp_path: Path) -> Path:
    db = tmp_path / "empty.sqlite3"
    SessionStore.open(db).close()
    return db


def _foreign_sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "error: no store at {tmp}/nope.sqlite3"),
        ("text", "not an atb store (not an SQLite database)"),
        ("sqlite", "not an atb store (an SQLite database without atb's tables)"),
        ("host", "--host 0.0.0.0 is not a local address: give --token"),
        ("port", "is already in use"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    case: str, expected: str, tmp_path: Path, empty_store: Path
) -> None:
    args: list[str] = ["--db", str(empty_store)]
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    with busy:
        if case == "missing":
            args = ["--db", str(tmp_path / "nope.sqlite3")]
        elif case == "text":
            (tmp_path / "notes.sqlite3").write_text("a text file\n" * 10)
            args = ["--db", str(tmp_path / "notes.sqlite3")]
        elif case == "sqlite":
            args = ["--db", str(_foreign_sqlite(tmp_path / "other.sqlite3"))]
        elif case == "host":
            args += ["--host", "0.0.0.0"]
        else:
            args += ["--port", str(busy.getsockname()[1])]
        done = run_atb("dashboard", *args, env={"ATB_DASHBOARD_TOKEN": ""})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert expected.format(tmp=tmp_path) in lines[0]
    assert "Traceback" not in done.stderr


def test_off_localhost_the_token_from_the_environment_guards_every_request(
    empty_store: Path, tmp_path: Path
) -> None:
    token = "e2e-token-5b1c9d"
    served = Dashboard(
        "--db", str(empty_store), "--host", "0.0.0.0",
        env={"ATB_DASHBOARD_TOKEN": token}, log=tmp_path / "dashboard.log",
    )  # fmt: skip
    try:
        without = httpx.get(f"{served.url}/api/overview", timeout=10)
        with_token = httpx.get(
            f"{served.url}/api/overview", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    finally:
        code = served.stop()
    assert served.line.startswith("dashboard on http://0.0.0.0:")
    assert without.status_code == 401
    assert with_token.status_code == 200
    assert with_token.json()["stores"][0]["sessions"] == []
    assert code == 0
    assert token not in (tmp_path / "dashboard.log").read_text()


@pytest.fixture
def paced_replay(tmp_path: Path, sample_csv: Path) -> tuple[list[str], Path]:
    """A replay that plays ten bars a second (fast moving averages: it trades often)."""
    data = tmp_path / "btc.csv"
    pd.read_csv(sample_csv).iloc[:900].to_csv(data, index=False)
    db = tmp_path / "live.sqlite3"
    args = [
        "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--replay", str(data), "--pace", "0.1", "--db", str(db), "--log-format", "json",
        "--param", "fast=3", "--param", "slow=8",
    ]  # fmt: skip
    return args, db


def test_chromium_follows_a_session_through_a_crash_and_a_restart(
    chromium: str, paced_replay: tuple[list[str], Path], tmp_path: Path
) -> None:
    args, db = paced_replay
    log = tmp_path / "live.log"
    first = LiveProcess(args, log)
    second: LiveProcess | None = None
    wait_until(lambda: processed_bars(db) >= 2, timeout=30, process=first)
    served = Dashboard("--db", str(db), log=tmp_path / "dashboard.log")
    shot = tmp_path / "dashboard.png"
    row = "document.querySelector('#sessions tr[data-session=\"0-1\"]')"
    state = f"({row} && {row}.dataset.state)"
    bars = "Number((document.getElementById('summary-bars') || {}).textContent || 0)"
    try:
        with Browser(chromium, served.url, tmp_path / "profile", tmp_path / "chromium.log") as page:
            page.wait_for(state, accept=lambda v: v == "running", timeout=15, shot=shot)
            page.evaluate("window.loadedOnce = true")  # a reload would forget it
            seen = number(
                page.wait_for(bars, accept=lambda v: number(v) > 0, timeout=10, shot=shot)
            )
            last_bar = page.evaluate("document.getElementById('summary-last-bar').textContent")
            drawn = (
                "['#equity-chart', '#drawdown-chart']"
                ".every(c => document.querySelector(c + ' .main-svg .scatterlayer .trace'))"
            )
            page.wait_for(drawn, accept=lambda v: v is True, timeout=10, shot=shot)
            page.wait_for(
                "document.querySelectorAll('#trades tbody tr:not(.empty)').length",
                accept=lambda v: number(v) >= 1, timeout=30, shot=shot,
            )  # fmt: skip
            assert page.evaluate("document.querySelectorAll('#position th').length") == 8
            # New bars arrive while the page stays loaded.
            page.wait_for(bars, accept=lambda v: number(v) >= seen + 5, timeout=10, shot=shot)
            assert page.evaluate("document.getElementById('summary-last-bar').textContent") != (
                last_bar
            )
            page.wait_for(
                "document.getElementById('parity-badge').dataset.state",
                accept=lambda v: v == "identical", timeout=30, shot=shot,
            )  # fmt: skip

            first.kill()
            killed = time.monotonic()
            page.wait_for(state, accept=lambda v: v == "crashed", timeout=5, shot=shot)
            noticed = time.monotonic() - killed
            status = run_atb("live", "status", "--db", str(db), env={"COLUMNS": "200"})

            second = LiveProcess(args, log)  # resumes the session
            page.wait_for(state, accept=lambda v: v == "running", timeout=20, shot=shot)
            # The badge comes with the session panel, a request of its own: it may follow the
            # table by a poll.
            restarted = f"running — pid {second.process.pid}"
            badge = page.wait_for(
                "document.getElementById('liveness-badge').textContent",
                accept=lambda v: v == restarted, timeout=10, shot=shot,
            )  # fmt: skip
            assert page.evaluate("window.loadedOnce") is True
    finally:
        if second is not None and second.process.poll() is None:
            second.terminate()
        if first.process.poll() is None:
            first.kill()
        dashboard_exit = served.stop()
    assert noticed < 3 * POLL + 1.0, f"crash shown {noticed:.2f} s after the kill"
    assert "crashed" in status.stdout
    assert f"pid {first.process.pid}" in status.stdout
    assert badge == f"running — pid {second.process.pid}"
    assert dashboard_exit == 0
    assert "Traceback" not in (tmp_path / "dashboard.log").read_text()
