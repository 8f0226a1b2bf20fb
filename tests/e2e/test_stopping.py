"""Stop means stop: SIGTERM or SIGINT ends `atb live` (and `atb data download`) within 2 s in
every state, as a supervisor (systemd, Docker) expects.

The real executable runs against the fake exchange on 127.0.0.1. Each test puts it into one
state: fetching its warm-up history from an exchange that never answers, waiting for the next
poll, waiting out `Retry-After: 30`, backing off after server errors, stuck in a request the
exchange never answers, catching up hundreds of missed bars. Then it signals the process and
measures the wall time from the signal to the exit. A stopped session exits 0 with the `stopped`
log line and no traceback, and its store is consistent: every table agrees on the last bar, and
a restart resumes it and ends identical to an uninterrupted run (the backtest of its candles).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.config import config_from_assignments
from atb.data.bars import bars_from_frame
from atb.data.loading import load_candles
from atb.engines.parity import compare_session
from atb.managers.lookback import history_bars
from atb.persistence.store import SessionStore
from atb.strategies.registry import create_strategy
from tests.support.candle_frames import make_candles
from tests.support.cli import ATB, run_atb
from tests.support.fake_binance import KLINES, TIME, FakeBinance
from tests.support.live_harness import (
    LiveProcess,
    processed_bars,
    read_health,
    session_started,
    wait_until,
)

STOP_WITHIN = 2.0
"""Seconds from the signal to the process's exit (a supervisor's kill timeout is longer)."""
START = pd.Timestamp("2024-07-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)
CATCH_UP_BARS = 300


@pytest.fixture
def exchange(sample_csv: Path) -> Iterator[FakeBinance]:
    """The real sample from 2024-04-01 to 2024-08-01, clock paused at START."""
    candles = load_candles("BTCUSDT", "1h", "2024-04-01", "2024-08-01", data_file=sample_csv)
    with FakeBinance(candles.frame, symbol="BTCUSDT", timeframe="1h") as fake:
        fake.set_clock(START, speed=0.0)
        yield fake


@pytest.fixture
def spawn(tmp_path: Path, exchange: FakeBinance) -> Iterator[_Spawner]:
    spawner = _Spawner(exchange, tmp_path)
    yield spawner
    for process in spawner.started:  # a failed test leaves no process behind
        if process.process.poll() is None:
            process.kill()


HISTORY = history_bars(
    create_strategy("sma_cross", {"fast": 5, "slow": 20}).warmup,
    config_from_assignments(["trailing=on", "partials=on"]),
)
"""The warm-up the spawned sessions keep (the strategy's 21 bars)."""


class _Spawner:
    """Starts `atb live` (sma_cross, paper) on one store against the fake exchange."""

    def __init__(self, exchange: FakeBinance, tmp_path: Path) -> None:
        self.exchange = exchange
        self.db = tmp_path / "live.sqlite3"
        self.log = tmp_path / "live.log"
        self.started: list[LiveProcess] = []

    def __call__(self, poll_interval: float = 0.05) -> LiveProcess:
        args = [
            "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
            "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.02",
            "--param", "allow_short=true", "--set", "trailing=on", "--set", "partials=on",
            "--exchange-url", self.exchange.url, "--db", str(self.db),
            "--poll-interval", str(poll_interval),
        ]  # fmt: skip
        self.started.append(LiveProcess(args, self.log))
        return self.started[-1]


def assert_stopped_cleanly(process: LiveProcess, signum: int = signal.SIGTERM) -> float:
    """Signal the process: it must exit 0 within STOP_WITHIN seconds, end its log with the
    `stopped` line and print no traceback. Returns the seconds it took."""
    code, elapsed = process.stop(signum)
    print(f"{signal.Signals(signum).name}: exited {code} after {elapsed:.3f} s")
    output = process.own_log()
    assert "Traceback" not in output, output[-3000:]
    assert code == 0, output[-2000:]
    assert elapsed < STOP_WITHIN, f"took {elapsed:.2f} s to stop"
    last = json.loads(output.strip().splitlines()[-1])
    assert last["event"] == "stopped"
    return elapsed


def committed(db: Path) -> int:
    """Bars committed by the store's session, after checking that every table agrees on them:
    consecutive hourly bars from START, one equity point and one state per bar, the loaded
    state at the last bar, the warm-up history complete. 0 with no session."""
    with SessionStore.open(db, read_only=True) as store:
        session = store.latest_session()
        if session is None:
            return 0
        bars = [bar.time for bar in store.processed_bars(session.id)]
        assert bars == [(START + i * HOUR).to_pydatetime() for i in range(len(bars))]
        assert len(store.equity(session.id)) == len(bars)
        assert len(store.states(session.id)) == len(bars)
        assert len(store.history_bars(session.id)) == HISTORY
        loaded = store.load_state(session.id)
        assert (loaded[1] if loaded else None) == (bars[-1] if bars else None)
        return len(bars)


def hung(exchange: FakeBinance) -> bool:
    """True once a request is held by a `hang` fault (`pending()` also lists, for a moment,
    requests that are being answered normally)."""
    return any(request.fault == "hang" for request in exchange.pending())


def health_status(process: LiveProcess) -> str:
    _code, report = read_health(process.health_url())
    return str(report["status"])


def test_sigterm_while_the_warm_up_history_request_hangs(
    spawn: _Spawner, exchange: FakeBinance
) -> None:
    exchange.hang(None, path=KLINES)  # the exchange accepts the request and never answers
    process = spawn()
    wait_until(lambda: hung(exchange), timeout=60, process=process)
    assert_stopped_cleanly(process)
    assert committed(spawn.db) == 0  # no session without its warm-up history
    stopped = process.log_events(own=True)[-1]
    assert stopped["session"] is None


def test_sigterm_while_waiting_for_the_next_poll(spawn: _Spawner) -> None:
    process = spawn(poll_interval=30.0)  # the default for 1h bars: 30 s between polls
    wait_until(lambda: health_status(process) == "running", timeout=60, process=process)
    assert_stopped_cleanly(process)
    assert committed(spawn.db) == 0
    assert process.log_events(own=True)[-1]["session"] == 1


def test_sigterm_while_waiting_out_a_retry_after_of_30_s(
    spawn: _Spawner, exchange: FakeBinance
) -> None:
    process = spawn()
    wait_until(lambda: session_started(spawn.db), timeout=60, process=process)
    exchange.set_clock(START + 3 * HOUR, speed=0.0)
    wait_until(lambda: processed_bars(spawn.db) == 3, timeout=30, process=process)
    exchange.rate_limit(None, retry_after=30)
    wait_until(lambda: any(r.status == 429 for r in exchange.requests), timeout=30)
    time.sleep(0.2)  # well inside the 30 s wait
    requests = len(exchange.requests)
    assert_stopped_cleanly(process)
    assert len(exchange.requests) == requests  # no retry after the stop
    assert committed(spawn.db) == 3


def test_sigterm_while_backing_off_after_server_errors(
    spawn: _Spawner, exchange: FakeBinance
) -> None:
    process = spawn()
    wait_until(lambda: session_started(spawn.db), timeout=60, process=process)
    exchange.fail(None, status=503)
    wait_until(lambda: [r.status for r in exchange.requests].count(503) == 2, timeout=30)
    requests = len(exchange.requests)  # the client now waits 0.5 to 1 s before the third try
    assert_stopped_cleanly(process)
    assert len(exchange.requests) == requests  # no retry after the stop


def test_sigint_inside_a_request_the_exchange_never_answers(
    spawn: _Spawner, exchange: FakeBinance
) -> None:
    process = spawn()
    wait_until(lambda: session_started(spawn.db), timeout=60, process=process)
    exchange.set_clock(START + 2 * HOUR, speed=0.0)
    wait_until(lambda: processed_bars(spawn.db) == 2, timeout=30, process=process)
    exchange.hang(None, path=TIME)
    wait_until(lambda: hung(exchange), timeout=30, process=process)
    assert_stopped_cleanly(process, signal.SIGINT)
    assert committed(spawn.db) == 2


def test_sigterm_while_catching_up_then_a_restart_ends_identical_to_an_uninterrupted_run(
    spawn: _Spawner, exchange: FakeBinance, sample_csv: Path
) -> None:
    """The clock jumps CATCH_UP_BARS bars ahead; SIGTERM lands while they are processed, one
    store transaction each. The restart resumes at the next bar and catches up the rest; the
    session then holds exactly the intended candles and equals the backtest of them (which an
    uninterrupted run equals: `atb parity`). `atb live stop` then ends the restarted process."""
    process = spawn(poll_interval=0.02)
    wait_until(lambda: session_started(spawn.db), timeout=60, process=process)
    exchange.set_clock(START + CATCH_UP_BARS * HOUR, speed=0.0)
    wait_until(lambda: processed_bars(spawn.db) >= 30, timeout=60, process=process)
    assert health_status(process) == "catching_up"
    assert_stopped_cleanly(process)
    stopped_at = committed(spawn.db)
    assert 30 <= stopped_at < CATCH_UP_BARS

    restarted = spawn(poll_interval=0.02)
    wait_until(lambda: processed_bars(spawn.db) == CATCH_UP_BARS, timeout=120, process=restarted)
    asked = time.monotonic()
    stopped = run_atb("live", "stop", "--db", str(spawn.db))
    print(f"atb live stop returned {stopped.returncode} after {time.monotonic() - asked:.3f} s")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"stopped process {restarted.process.pid}"
    assert restarted.wait_exit(timeout=5) == 0
    resumed = [e for e in restarted.log_events(own=True) if e["event"] == "session_resumed"]
    assert str(resumed[0]["last_bar"]) == str(START + (stopped_at - 1) * HOUR)

    assert committed(spawn.db) == CATCH_UP_BARS
    candles = load_candles(
        "BTCUSDT", "1h", START, START + CATCH_UP_BARS * HOUR, warmup=HISTORY,
        data_file=sample_csv,
    )  # fmt: skip
    with SessionStore.open(spawn.db, read_only=True) as store:
        assert store.processed_bars(1) == bars_from_frame(candles.frame)[HISTORY:]
        orders = [order.order_id for order in store.orders(1)]
        assert len(orders) == len(set(orders)) > 0
        assert compare_session(store).identical


def test_download_sigterm_inside_a_hung_request_keeps_the_finished_month(
    tmp_path: Path,
) -> None:
    """January is fetched and cached; the request for February hangs; SIGTERM ends the
    download at once with one line and exit 143. The same command then fetches only February."""
    with FakeBinance(make_candles(24 * 70, start="2024-01-01")) as fake:
        fake.slow(1, delay=0.0, path=KLINES)  # January: answered at once
        fake.hang(None, path=KLINES)  # February: never answered
        args = [
            "data", "download", "--symbol", "BTCUSDT", "--timeframe", "1h", "--days", "60",
            "--end", "2024-03-01", "--exchange-url", fake.url,
        ]  # fmt: skip
        env = {"ATB_DATA_DIR": str(tmp_path)}
        process = subprocess.Popen(
            [str(ATB), *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: hung(fake), timeout=60)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, output = process.communicate(timeout=30)
        elapsed = time.monotonic() - sent
        print(f"download: exited {process.returncode} after {elapsed:.3f} s")
        assert process.returncode == 128 + signal.SIGTERM, output
        assert elapsed < STOP_WITHIN
        assert output.splitlines() == [
            "download stopped by SIGTERM: the months completed so far are cached; run the same "
            "command again to fetch the rest"
        ]
        months = tmp_path / "candles" / "BTCUSDT" / "1h"
        assert sorted(path.name for path in months.glob("*.parquet")) == ["2024-01.parquet"]

        fake.clear_faults()
        fake.release()
        again = run_atb(*args, env=env)
        assert again.returncode == 0, again.stderr
        assert "downloaded 696 BTCUSDT 1h bars" in again.stdout  # February only
