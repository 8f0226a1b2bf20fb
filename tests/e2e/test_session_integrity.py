"""A live session never lies about itself (issue 12), as a user meets it: the real `atb live`
against the fake exchange on 127.0.0.1, a real store, and the file system changed under it.

Each bad situation ends with one error line, exit code 2, and no data of the original session
lost: a store deleted or replaced mid-session (the session stops at the next bar and rescues
what it held), a resume with changed settings or a retrained model, a second writer through a
symlink, a damaged store (a page SQLite finds malformed, a state whose checksum fails), and a
zero-byte file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.data.loading import load_candles
from atb.persistence.store import SessionStore
from tests.support.cli import run_atb
from tests.support.fake_binance import FakeBinance
from tests.support.live_harness import LiveProcess, processed_bars, session_started, wait_until

START = pd.Timestamp("2024-07-01", tz="UTC")
END = pd.Timestamp("2024-07-15", tz="UTC")
BARS_PER_SECOND = 20
STRATEGY = ("sma_cross", "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.02")


@pytest.fixture
def exchange(sample_csv: Path) -> Iterator[FakeBinance]:
    candles = load_candles("BTCUSDT", "1h", "2024-05-01", END, data_file=sample_csv)
    with FakeBinance(candles.frame, symbol="BTCUSDT", timeframe="1h") as fake:
        fake.set_clock(START, speed=0.0)
        yield fake


def args(fake: FakeBinance, db: Path, *extra: str) -> list[str]:
    return [
        *STRATEGY, "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--exchange-url", fake.url, "--db", str(db), "--poll-interval", "0.02", *extra,
    ]  # fmt: skip


def run_clock(fake: FakeBinance) -> None:
    fake.set_clock(fake.now_ms(), speed=3600.0 * BARS_PER_SECOND)


def error_lines(process: LiveProcess) -> list[str]:
    """The non-JSON lines a process wrote to stderr (its one-line error, if any)."""
    return [line for line in process.own_log().splitlines() if not line.startswith("{")]


def one_error(result_stderr: str) -> str:
    lines = [line for line in result_stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, result_stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result_stderr
    return lines[0]


def started_session(fake: FakeBinance, db: Path, log: Path, bars: int = 30) -> LiveProcess:
    """A running session that has committed at least `bars` bars."""
    process = LiveProcess(args(fake, db), log)
    wait_until(lambda: session_started(db), timeout=60, process=process)
    run_clock(fake)
    wait_until(lambda: processed_bars(db) >= bars, timeout=60, process=process)
    return process


def test_a_store_deleted_mid_session_stops_it_and_keeps_its_data(
    exchange: FakeBinance, tmp_path: Path
) -> None:
    db = tmp_path / "live.sqlite3"
    process = started_session(exchange, db, tmp_path / "live.log")
    db.unlink()
    assert process.wait_exit(timeout=30) == 2
    (line,) = error_lines(process)
    assert f"store {db} was deleted or replaced while it was open" in line
    (rescued,) = tmp_path.glob("live.sqlite3.recovered-*")
    assert f"saved to {rescued}" in line
    with SessionStore.open(rescued, read_only=True) as store:
        (session,) = store.list_sessions()
        assert len(store.equity(session.id)) >= 30  # nothing of the session was lost
    # A restart that asks to resume refuses instead of starting afresh at the initial balance.
    resumed = run_atb("live", *args(exchange, db, "--resume"))
    assert resumed.returncode == 2
    assert "no live store at" in one_error(resumed.stderr)
    assert not db.exists()


def test_a_store_replaced_mid_session_is_left_alone(exchange: FakeBinance, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    process = started_session(exchange, db, tmp_path / "live.log")
    other = tmp_path / "other.sqlite3"
    with SessionStore.open(other):
        pass
    shutil.copy(other, tmp_path / "replacement")
    os.replace(tmp_path / "replacement", db)
    replacement_bytes = db.read_bytes()
    assert process.wait_exit(timeout=30) == 2
    (line,) = error_lines(process)
    assert "was deleted or replaced while it was open" in line
    assert db.read_bytes() == replacement_bytes  # never written into
    (rescued,) = tmp_path.glob("live.sqlite3.recovered-*")
    assert processed_bars(rescued) >= 30


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("--param", "stop_loss=0.03"), "parameter stop_loss=0.02, now 0.03"),
        (("--set", "costs.slippage=0.001"), "costs.slippage=0.0005, now 0.001"),
        (("--initial-balance", "5000"), "initial balance 10000, now 5000"),
    ],
)
def test_a_resume_with_other_settings_is_refused(
    exchange: FakeBinance, tmp_path: Path, change: tuple[str, ...], named: str
) -> None:
    db = tmp_path / "live.sqlite3"
    started_session(exchange, db, tmp_path / "live.log", bars=5).kill()
    before = processed_bars(db)
    refused = run_atb("live", *args(exchange, db, *change))
    assert refused.returncode == 2
    line = one_error(refused.stderr)
    assert named in line
    assert "--new-session" in line
    assert processed_bars(db) == before
    # Starting a new session on purpose works, and keeps the old one (stopped).
    exchange.set_clock(exchange.now_ms(), speed=0.0)
    fresh = LiveProcess(args(exchange, db, *change, "--new-session"), tmp_path / "new.log")
    wait_until(lambda: _sessions(db) == 2, timeout=60, process=fresh)
    assert fresh.terminate() == 0
    with SessionStore.open(db, read_only=True) as store:
        first, second = store.list_sessions()
        assert (first.status, second.status) == ("stopped", "active")
        assert len(store.equity(first.id)) == before


def _sessions(db: Path) -> int:
    with SessionStore.open(db, read_only=True) as store:
        return len(store.list_sessions())


def test_a_retrained_model_is_not_resumed(exchange: FakeBinance, tmp_path: Path) -> None:
    models, db = tmp_path / "models", tmp_path / "live.sqlite3"
    env = {"ATB_MODEL_DIR": str(models)}

    def train(start: str) -> None:
        trained = run_atb(
            "train", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
            "--data", str(_sample()), "--start", start, "--end", "2024-06-01", env=env,
        )  # fmt: skip
        assert trained.returncode == 0, trained.stderr

    train("2023-06-01")
    ml = ["ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading"]
    common = [*ml, "--exchange-url", exchange.url, "--db", str(db), "--poll-interval", "0.02"]
    first = LiveProcess(common, tmp_path / "live.log", env)
    wait_until(lambda: session_started(db), timeout=60, process=first)
    first.kill()
    train("2023-09-01")  # another window: another model under the same name
    refused = run_atb("live", *common, env=env)
    assert refused.returncode == 2
    assert "was started with model " in one_error(refused.stderr)


def _sample() -> Path:
    from tests.conftest import SAMPLE_CSV

    return SAMPLE_CSV


def test_a_second_writer_through_a_symlink_is_refused(
    exchange: FakeBinance, tmp_path: Path
) -> None:
    db = tmp_path / "live.sqlite3"
    process = started_session(exchange, db, tmp_path / "live.log", bars=5)
    link = tmp_path / "alias.sqlite3"
    link.symlink_to(db)
    second = run_atb("live", *args(exchange, link))
    assert second.returncode == 2
    assert f"is already open for writing by pid {process.process.pid}" in one_error(second.stderr)
    assert process.terminate() == 0


def _stopped_store(exchange: FakeBinance, tmp_path: Path) -> Path:
    db = tmp_path / "live.sqlite3"
    started_session(exchange, db, tmp_path / "live.log", bars=20).kill()
    return db


def test_a_damaged_state_is_refused(exchange: FakeBinance, tmp_path: Path) -> None:
    db = _stopped_store(exchange, tmp_path)
    with sqlite3.connect(db) as connection:
        # Damage that keeps the page valid: one digit of the cash in the last state.
        (bar_time, state) = connection.execute(
            "SELECT bar_time, state FROM kernel_states ORDER BY bar_time DESC LIMIT 1"
        ).fetchone()
        damaged = state.replace('"cash":9', '"cash":8', 1)
        assert damaged != state
        connection.execute(
            "UPDATE kernel_states SET state = ? WHERE bar_time = ?", (damaged, bar_time)
        )
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    before = db.read_bytes()
    refused = run_atb("live", *args(exchange, db))
    assert refused.returncode == 2
    assert "is damaged (its checksum does not match)" in one_error(refused.stderr)
    assert db.read_bytes() == before


def test_a_malformed_page_is_refused(exchange: FakeBinance, tmp_path: Path) -> None:
    db = _stopped_store(exchange, tmp_path)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'kernel_states'"
        ).fetchone()
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size
    data[start : start + 16] = b"\xff" * 16  # scribble over the table's page header
    db.write_bytes(bytes(data))
    refused = run_atb("live", *args(exchange, db))
    assert refused.returncode == 2
    line = one_error(refused.stderr)
    assert f"store {db} is damaged" in line
    assert db.read_bytes() == bytes(data)


def test_a_zero_byte_file_is_not_a_new_store(exchange: FakeBinance, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    db.write_bytes(b"")
    refused = run_atb("live", *args(exchange, db))
    assert refused.returncode == 2
    assert "is an empty file (0 bytes), not an atb store" in one_error(refused.stderr)
    assert db.read_bytes() == b""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["live.sqlite3"]


def test_a_fresh_start_with_the_exchange_down_leaves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    refused = run_atb(
        "live", *STRATEGY, "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--exchange-url", "http://127.0.0.1:9", "--db", str(db),
    )  # fmt: skip
    assert refused.returncode == 2
    assert "connection failed" in one_error(refused.stderr)
    assert list(tmp_path.iterdir()) == []  # no store, no lock file


def test_prune_deletes_stopped_sessions_only(exchange: FakeBinance, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    started_session(exchange, db, tmp_path / "live.log", bars=40).kill()
    exchange.set_clock(exchange.now_ms(), speed=0.0)
    second = LiveProcess(args(exchange, db, "--new-session"), tmp_path / "new.log")
    wait_until(lambda: _sessions(db) == 2, timeout=60, process=second)
    assert second.terminate() == 0
    while_active = run_atb("live", "prune", "--db", str(db), "--session", "2")
    assert while_active.returncode == 2
    assert "session 2 in" in one_error(while_active.stderr)
    assert "is active" in while_active.stderr
    size = db.stat().st_size
    pruned = run_atb("live", "prune", "--db", str(db), "--all-stopped")
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith(f"pruned session(s) 1: {db} went from ")
    with SessionStore.open(db, read_only=True) as store:
        (kept,) = store.list_sessions()
        assert kept.id == 2
        assert store.events(1) == []
    assert db.stat().st_size < size


def test_stop_waits_until_the_session_has_stopped(exchange: FakeBinance, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    process = started_session(exchange, db, tmp_path / "live.log", bars=5)
    stopped = run_atb("live", "stop", "--db", str(db))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"stopped process {process.process.pid}"
    assert process.wait_exit(timeout=10) == 0
