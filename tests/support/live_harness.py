"""Driving `atb live` as a real subprocess against the fake exchange, and reading its store.

The fake exchange's clock is paused while a session starts (so its warm-up history is known),
then runs fast; the harness waits on the store (read-only, as `atb live status` does) rather
than on wall-clock sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from atb.domain.errors import AtbError
from atb.persistence.store import SessionStore
from tests.support.cli import ATB, ROOT


class LiveProcess:
    """One `atb live …` process; its JSON log lines go to `log_path`."""

    def __init__(self, args: Sequence[str], log_path: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self._log = log_path.open("a")
        self._offset = log_path.stat().st_size  # this process's lines start here
        self.process = subprocess.Popen(
            [str(ATB), "live", *args],
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "120", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def log_events(self, *, own: bool = False) -> list[dict[str, object]]:
        """JSON log lines written so far: of every process sharing the file, or only this one's
        with `own=True`."""
        text = self.log_path.read_text()
        events = []
        for line in (text[self._offset :] if own else text).splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return events

    def health_url(self, timeout: float = 30.0) -> str:
        """The health endpoint the process announced."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in reversed(self.log_events(own=True)):
                if event.get("event") == "health":
                    return str(event["url"])
            self.check_alive()
            time.sleep(0.05)
        raise AssertionError(f"no health line in {self.log_path}")

    def check_alive(self) -> None:
        """Fail with the process's log when it exited."""
        code = self.process.poll()
        if code is not None:
            raise AssertionError(
                f"atb live exited with {code}: {self.log_path.read_text()[-2000:]}"
            )

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: a clean shutdown exits 0."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> tuple[int, float]:
        """Send `signum` and wait: the exit code and the seconds from the signal to the exit."""
        self.process.send_signal(signum)
        sent = time.monotonic()
        code = self.process.wait(timeout=timeout)
        elapsed = time.monotonic() - sent
        self._log.close()
        return code, elapsed

    def own_log(self) -> str:
        """Everything this process wrote to stderr (JSON lines, and any traceback)."""
        return self.log_path.read_text()[self._offset :]

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself."""
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code


def processed_bars(db: Path) -> int:
    """Bars the latest session has committed (0 before the store or session exists)."""
    if not db.exists():
        return 0
    with SessionStore.open(db, read_only=True) as store:
        session = store.latest_session()
        return 0 if session is None else len(store.equity(session.id))


def session_started(db: Path) -> bool:
    """True once a session row (with its warm-up history) is in the store."""
    if not db.exists():
        return False
    try:
        with SessionStore.open(db, read_only=True) as store:
            return store.latest_session() is not None
    except (AtbError, sqlite3.Error):  # the writer may still be creating the schema
        return False


def wait_until(
    condition: Callable[[], bool], *, timeout: float, process: LiveProcess | None = None
) -> None:
    """Poll `condition()` until true, failing after `timeout` s or if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None:
            process.check_alive()
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def read_health(url: str) -> tuple[int, dict[str, object]]:
    """The health endpoint's status code and JSON report (a 503 carries a report too)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
