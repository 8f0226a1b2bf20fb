"""`atb live` as a user runs it: the real executable against a fake Binance on 127.0.0.1 whose
clock runs fast, killed with SIGKILL and restarted, inspected with `atb live status`, stopped
with `atb live stop`, and checked with `atb parity` against the backtest of the same candles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.data.loading import load_candles
from atb.persistence.store import SessionStore
from tests.support.cli import run_atb
from tests.support.fake_binance import FakeBinance
from tests.support.live_harness import (
    LiveProcess,
    processed_bars,
    read_health,
    session_started,
    wait_until,
)

START = pd.Timestamp("2024-07-01", tz="UTC")
END = pd.Timestamp("2024-07-15", tz="UTC")
EXPECTED_BARS = int((END - START) / pd.Timedelta(hours=1))  # 336
BARS_PER_SECOND = 40


@pytest.fixture
def exchange(sample_csv: Path) -> Iterator[FakeBinance]:
    """The real sample from 2024-04-01 to 2024-07-15, clock paused at 2024-07-01."""
    candles = load_candles("BTCUSDT", "1h", "2024-04-01", END, data_file=sample_csv)
    with FakeBinance(candles.frame, symbol="BTCUSDT", timeframe="1h") as fake:
        fake.set_clock(START, speed=0.0)
        yield fake


def run_clock(fake: FakeBinance) -> None:
    """Let the exchange clock run at BARS_PER_SECOND hourly bars per second."""
    fake.set_clock(fake.now_ms(), speed=3600.0 * BARS_PER_SECOND)


def live_args(fake: FakeBinance, db: Path, strategy: str, *extra: str) -> list[str]:
    return [
        strategy, "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--exchange-url", fake.url, "--db", str(db), "--poll-interval", "0.02", *extra,
    ]  # fmt: skip


def test_ml_basic_live_session_survives_kill_and_matches_backtest(
    exchange: FakeBinance, sample_csv: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    env = {"ATB_MODEL_DIR": str(models)}
    trained = run_atb(
        "train", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(sample_csv), "--end", "2024-03-31", env=env,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    db = tmp_path / "live.sqlite3"
    log = tmp_path / "live.log"
    args = live_args(exchange, db, "ml_basic", "--health-port", "0")

    first = LiveProcess(args, log, env)
    wait_until(lambda: session_started(db), timeout=60, process=first)
    run_clock(exchange)
    wait_until(lambda: processed_bars(db) >= 120, timeout=60, process=first)
    first.kill()  # a crash, mid-session
    killed_at = processed_bars(db)

    second = LiveProcess(args, log, env)
    health = second.health_url()
    wait_until(lambda: processed_bars(db) >= EXPECTED_BARS, timeout=90, process=second)
    _code, report = read_health(health)
    assert report["status"] in ("polling", "running", "catching_up")
    assert str(report["last_bar_time"]).startswith("2024-07-14 23:00")
    assert float(str(report["equity"])) > 0

    status = run_atb("live", "status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    assert "ml_basic" in status.stdout
    assert f"pid {second.process.pid}" in status.stdout.replace("\n", "")

    stopped = run_atb("live", "stop", "--db", str(db))
    assert stopped.returncode == 0, stopped.stderr
    assert second.wait_exit() == 0

    events = second.log_events()
    assert [e["event"] for e in events].count("session_started") == 1
    assert [e["event"] for e in events].count("session_resumed") == 1
    assert any(e["event"] == "fill" for e in events)
    assert 120 <= killed_at < EXPECTED_BARS

    with SessionStore.open(db, read_only=True) as store:
        (session,) = store.list_sessions()
        orders = store.orders(session.id)
        assert len(orders) == len({order.order_id for order in orders})
        assert len(store.trades(session.id)) > 0
    parity = run_atb("parity", "--db", str(db), env=env)
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert parity.stdout.startswith("identical: session 1, 336 bars")


def test_paper_trading_flag_is_required(tmp_path: Path) -> None:
    result = run_atb(
        "live", "sma_cross", "--symbol", "BTCUSDT", "--db", str(tmp_path / "db.sqlite3")
    )
    assert result.returncode == 2
    assert "--paper-trading" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()


def test_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's folder should be")
    result = run_atb(
        "live", "sma_cross", "--symbol", "BTCUSDT", "--paper-trading",
        "--db", str(blocker / "db.sqlite3"), "--exchange-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert result.returncode == 2
    assert "error:" in result.stderr
    assert str(blocker) in result.stderr
    assert "Traceback" not in result.stderr


def test_crash_at_several_points_ends_like_an_uninterrupted_run(
    exchange: FakeBinance, tmp_path: Path
) -> None:
    """SIGKILL at four points (the first right after an order intent was committed), restart
    each time: trades, cash and positions equal an uninterrupted run; no order twice."""
    strategy = (
        "sma_cross", "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.02",
        "--param", "allow_short=true", "--set", "trailing=on", "--set", "partials=on",
        "--set", "risk.max_position=0.5",
    )  # fmt: skip
    crashed_db = tmp_path / "crashed.sqlite3"
    log = tmp_path / "crashed.log"
    args = live_args(exchange, crashed_db, *strategy)
    process = LiveProcess(args, log)
    wait_until(lambda: session_started(crashed_db), timeout=60, process=process)
    run_clock(exchange)
    for target in (40, 110, 190, 260):

        def reached(bars: int = target) -> bool:
            return processed_bars(crashed_db) >= bars

        wait_until(reached, timeout=60, process=process)
        process.kill()
        process = LiveProcess(args, log)
    wait_until(lambda: processed_bars(crashed_db) >= EXPECTED_BARS, timeout=90, process=process)
    assert process.terminate() == 0

    # The uninterrupted reference: same exchange replayed from the same start.
    exchange.set_clock(START, speed=0.0)
    reference_db = tmp_path / "reference.sqlite3"
    reference = LiveProcess(live_args(exchange, reference_db, *strategy), tmp_path / "ref.log")
    wait_until(lambda: session_started(reference_db), timeout=60, process=reference)
    run_clock(exchange)
    wait_until(lambda: processed_bars(reference_db) >= EXPECTED_BARS, timeout=90, process=reference)
    assert reference.terminate() == 0

    with (
        SessionStore.open(crashed_db, read_only=True) as crashed,
        SessionStore.open(reference_db, read_only=True) as clean,
    ):
        assert crashed.trades(1) == clean.trades(1)
        assert len(crashed.trades(1)) > 5
        crashed_state = crashed.load_state(1)
        clean_state = clean.load_state(1)
        assert crashed_state == clean_state
        assert crashed.events(1) == clean.events(1)
        orders = crashed.orders(1)
        assert len(orders) == len({order.order_id for order in orders}) == len(clean.orders(1))
    parity = run_atb("parity", "--db", str(crashed_db))
    assert parity.returncode == 0, parity.stdout + parity.stderr


def test_missing_replay_file_is_an_error_and_leaves_no_store(tmp_path: Path) -> None:
    db = tmp_path / "store" / "live.sqlite3"
    result = run_atb(
        "live", "sma_cross", "--symbol", "BTCUSDT", "--paper-trading",
        "--replay", str(tmp_path / "none.csv"), "--db", str(db),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"error: {tmp_path / 'none.csv'}: no such file")
    assert not db.parent.exists()
