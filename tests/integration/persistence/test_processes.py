"""Real processes: one writer per store across processes, readers beside a writer, and a writer
SIGKILLed mid-run that leaves a store which reopens cleanly with its last committed bar complete
and resumes to exactly the uninterrupted result."""

from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atb.domain.events import PositionClosed
from atb.domain.models import LivePosition
from atb.managers.kernel_state import StepResult
from atb.persistence.store import SessionStore
from tests.integration.persistence.scenario import make_bars, reference_run

ROOT = Path(__file__).resolve().parents[3]
HOLD_STORE = """
import sys
from pathlib import Path
from atb.persistence.store import SessionStore
store = SessionStore.open(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.readline()
store.close()
print("released", flush=True)
sys.stdin.readline()
"""
OPEN_WRITER = """
import sys
from pathlib import Path
from atb.persistence.store import SessionStore
with SessionStore.open(Path(sys.argv[1])) as store:
    print("writer ok", len(store.list_sessions()))
"""
OPEN_READER = """
import sys
from pathlib import Path
from atb.persistence.store import SessionStore
with SessionStore.open(Path(sys.argv[1]), read_only=True) as store:
    print("reader ok", len(store.list_sessions()), store.pragmas()["journal_mode"])
"""


def python(code: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    db = tmp_path / "store.db"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)  # reaps it and closes the pipes


def test_second_writer_process_is_refused_with_the_holders_pid(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    db = tmp_path / "store.db"
    refused = python(OPEN_WRITER, db)
    assert refused.returncode != 0
    assert f"is already open for writing by pid {holder.pid}" in refused.stderr
    assert str(db) in refused.stderr

    reader = python(OPEN_READER, db)  # readers need no lock
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.split() == ["reader", "ok", "0", "wal"]

    assert holder.stdin is not None
    assert holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    accepted = python(OPEN_WRITER, db)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.split() == ["writer", "ok", "0"]


def test_a_killed_writer_leaves_no_stale_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    accepted = python(OPEN_WRITER, tmp_path / "store.db")
    assert accepted.returncode == 0, accepted.stderr


TOTAL = 1200


@functools.cache
def _reference() -> list[StepResult[LivePosition]]:
    return reference_run(TOTAL)


def _start_writer(db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.persistence.scenario", str(db), str(TOTAL)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _check_complete(db: Path, at_least: int) -> int:
    """Open the store for writing after a crash and check the last committed bar is whole:
    every table agrees with the uninterrupted run up to it. Returns the bar count."""
    reference = _reference()
    bars = make_bars(TOTAL)
    with SessionStore.open(db) as store:
        (session,) = store.list_sessions()
        processed = store.processed_bars(session.id)
        count = len(processed)
        assert count >= at_least  # every announced bar was committed before it was announced
        assert processed == bars[:count]
        assert session.last_bar_time == bars[count - 1].time
        assert store.load_state(session.id) == (reference[count - 1].state, bars[count - 1].time)
        assert len(store.states(session.id)) == count
        assert [p.equity for p in store.equity(session.id)] == [r.equity for r in reference[:count]]
        events = [event for result in reference[:count] for event in result.events]
        assert store.events(session.id) == events
        assert store.trades(session.id) == [
            e.trade for e in events if isinstance(e, PositionClosed)
        ]
        pending = {o.order_id for o in store.orders(session.id) if o.status == "pending"}
        assert pending == {o.order_id for o in reference[count - 1].state.pending}
    return count


def test_sigkill_anywhere_leaves_whole_bars_and_resume_matches(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    rng = random.Random(20240101)
    for low, high in ((5, 150), (300, 500), (600, 800), (850, 1000)):
        target = rng.randint(low, high)
        process = _start_writer(db)
        assert process.stdout is not None
        announced = 0
        for line in process.stdout:
            announced = int(line.split()[1])
            if announced >= target:
                break
        if announced >= target:
            # Readers in another process see consistent snapshots while the writer runs.
            with SessionStore.open(db, read_only=True) as reader:
                (session,) = reader.list_sessions()
                loaded = reader.load_state(session.id)
                assert loaded is not None
                assert len(reader.processed_bars(session.id)) >= announced
        os.kill(process.pid, signal.SIGKILL)  # not yet reaped, so the pid is still this child
        _, errors = process.communicate(timeout=30)  # reaps it and closes the pipes
        # 0 only if a starved test process let the writer finish before the kill landed.
        assert process.returncode in (-signal.SIGKILL, 0), errors
        _check_complete(db, at_least=announced)
    final = _start_writer(db)
    _, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors
    assert _check_complete(db, at_least=TOTAL) == TOTAL
