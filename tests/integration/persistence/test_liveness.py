"""The liveness rule on real stores and real processes: a writer holding the lock runs its
session, a SIGKILLed one leaves it crashed, a clean release leaves it stopped (and resumable), a
claim runs it again, an ended session is stopped whoever holds the lock."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from atb.persistence.liveness import Liveness, LivenessVerdict, judge, writer_holder
from atb.persistence.records import SessionRecord
from atb.persistence.store import SessionStore

ROOT = Path(__file__).resolve().parents[3]
# A writer that starts a session (or resumes session 1) and keeps the store until told or killed.
WRITER = """
import sys
from pathlib import Path
from atb.persistence.store import SessionStore
store = SessionStore.open(Path(sys.argv[1]))
if sys.argv[2] == "new":
    store.create_session(strategy="sma_cross", symbol="BTCUSDT", timeframe="1h", params={},
                         config={}, initial_balance=1000.0)
else:
    store.resume_session(1)
print("ready", flush=True)
if sys.stdin.readline().strip() == "release":
    store.release_session(1)
store.close()
"""


class Writer:
    """A writer process running session 1 of the store."""

    def __init__(self, db: Path, how: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def finish(self, line: str) -> None:
        self.process.communicate(f"{line}\n", timeout=30)
        assert self.process.returncode == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=30)


def verdict(db: Path) -> LivenessVerdict:
    with SessionStore.open(db, read_only=True) as store:
        session = store.get_session(1)
    return judge(
        status=session.status,
        writer_pid=session.writer_pid,
        stopped_at=session.stopped_at,
        holder=writer_holder(db),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "live.sqlite3"


def test_running_then_crashed_after_sigkill_then_running_again(db: Path) -> None:
    first = Writer(db, "new")
    running = verdict(db)
    first.kill()
    crashed = verdict(db)
    second = Writer(db, "resume")
    again = verdict(db)
    second.kill()

    assert (running.state, running.pid) == (Liveness.RUNNING, first.process.pid)
    assert crashed.state is Liveness.CRASHED
    assert crashed.detail == f"its process (pid {first.process.pid}) ended without a clean stop"
    assert crashed.resumable
    assert (again.state, again.pid) == (Liveness.RUNNING, second.process.pid)


def test_a_clean_release_is_stopped_and_a_claim_clears_it(db: Path) -> None:
    Writer(db, "new").finish("release")
    released = verdict(db)
    resumed = Writer(db, "resume")
    claimed = verdict(db)
    resumed.finish("close without a release")  # as an error exit would: no mark
    unreleased = verdict(db)

    assert (released.state, released.resumable) == (Liveness.STOPPED, True)
    assert released.detail == "resumable"
    assert claimed.state is Liveness.RUNNING
    assert unreleased.state is Liveness.CRASHED


def test_an_ended_session_is_stopped_and_another_writer_does_not_run_it(db: Path) -> None:
    with SessionStore.open(db) as store:
        store.create_session(
            strategy="sma_cross",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=1000.0,
        )
        store.mark_stopped(1)
        other = store.create_session(
            strategy="sma_cross",
            symbol="ETHUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=1000.0,
        )
        ended = verdict(db)
        # This process holds the lock, but session 2 is written by a pid that is not ours.
        stranger = judge(
            status=other.status, writer_pid=1, stopped_at=None, holder=writer_holder(db)
        )
    assert (ended.state, ended.resumable, ended.detail) == (Liveness.STOPPED, False, "ended")
    assert stranger.state is Liveness.CRASHED
    assert writer_holder(db) is None


def test_release_marks_only_the_writers_own_active_session(db: Path) -> None:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    with SessionStore.open(db) as store:
        store.create_session(
            strategy="sma_cross",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=1000.0,
        )
        store.release_session(1)
        released: SessionRecord = store.get_session(1)
        with store.writing("hand the session to another pid") as connection:
            connection.execute("UPDATE sessions SET writer_pid = 1, stopped_at = NULL")
        store.release_session(1)
        foreign = store.get_session(1)
    assert released.stopped_at is not None
    assert released.stopped_at > moment
    assert released.status == "active"
    assert foreign.stopped_at is None
