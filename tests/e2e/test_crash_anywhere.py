"""Crash anywhere: the real `atb live` killed with SIGKILL at seeded random moments, always
restarted, ends exactly where the backtest of its window is.

The fake exchange serves the real sample. Kills land during the very first start-up (schema,
session and warm-up history being created, the exchange clock still paused), right after a
bar was committed, a random fraction of a bar later (mid-bar, mid-transaction), and at a
random moment after a restart (during imports, the session resume, or the catch-up of the
bars that closed while no process ran). At the end the last process catches up to the end of
the window; then the session must be identical to the backtest (`atb parity` exit 0, and an
independent in-process backtest of the intended candles), with no order id twice.
"""

from __future__ import annotations

import collections
import functools
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.config import config_from_assignments, config_to_dict
from atb.data.bars import bars_from_frame
from atb.data.loading import load_candles
from atb.domain.errors import AtbError
from atb.domain.events import OrderFilled, OrderPlaced
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.managers.lookback import history_bars
from atb.persistence.store import SessionStore
from atb.strategies.registry import create_strategy
from tests.support.cli import run_atb
from tests.support.fake_binance import FakeBinance
from tests.support.live_harness import LiveProcess

SEED = 20240701
KILLS = 24
"""Kills in the randomized run (the issue asks for at least 20)."""
BARS_PER_SECOND = 10.0
"""Exchange clock speed while the run is being killed: a bar every 100 ms."""
START = pd.Timestamp("2024-07-01", tz="UTC")
END = pd.Timestamp("2024-07-31", tz="UTC")
TOTAL_BARS = int((END - START) / pd.Timedelta(hours=1))  # 720
PARAMS = {"fast": 5, "slow": 20, "stop_loss": 0.02, "allow_short": True}
CONFIG = (
    "trailing=on",
    "partials=on",
    "risk.max_position=0.5",
    "dynamic_risk.tiers=[[0.01, 0.8], [0.02, 0.6], [0.03, 0.4]]",
)
HISTORY = history_bars(create_strategy("sma_cross", PARAMS).warmup, config_from_assignments(CONFIG))
"""The warm-up a session of this strategy and config keeps (and so loads when it starts)."""


@pytest.fixture
def exchange(sample_csv: Path) -> Iterator[FakeBinance]:
    """The real sample up to END, clock paused at START."""
    candles = load_candles("BTCUSDT", "1h", "2024-06-01", END, data_file=sample_csv)
    with FakeBinance(candles.frame, symbol="BTCUSDT", timeframe="1h") as fake:
        fake.set_clock(START, speed=0.0)
        yield fake


Spawn = Callable[[list[str], Path], LiveProcess]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Starts `atb live` processes; any still running when the test ends (it failed) is killed."""
    started: list[LiveProcess] = []

    def start(args: list[str], log: Path) -> LiveProcess:
        started.append(LiveProcess(args, log))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.kill()


def live_args(fake: FakeBinance, db: Path) -> list[str]:
    params = [item for name, value in PARAMS.items() for item in ("--param", f"{name}={value}")]
    settings = [item for assignment in CONFIG for item in ("--set", assignment)]
    return [
        "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--exchange-url", fake.url, "--db", str(db), "--poll-interval", "0.02",
        *params, *settings,
    ]  # fmt: skip


def committed_bars(db: Path) -> int | None:
    """Bars the session has committed (0 before it exists); None while the store cannot be
    read (a process may have been killed while creating the schema)."""
    try:
        with SessionStore.open(db, read_only=True) as store:
            session = store.latest_session()
            return 0 if session is None else len(store.equity(session.id))
    except (AtbError, sqlite3.Error):
        return None


def reached(db: Path, bars: int) -> bool:
    """True once the session has committed `bars` bars."""
    return (committed_bars(db) or 0) >= bars


def history_recorded(db: Path) -> bool:
    """True once the session and its warm-up history are committed."""
    try:
        with SessionStore.open(db, read_only=True) as store:
            session = store.latest_session()
            return session is not None and bool(store.history_bars(session.id))
    except (AtbError, sqlite3.Error):
        return False


def resumed(process: LiveProcess) -> bool:
    """True once the process has logged that it resumed the session."""
    return any(event.get("event") == "session_resumed" for event in process.log_events(own=True))


def wait_for(condition: Callable[[], bool], process: LiveProcess, timeout: float = 60.0) -> None:
    """Poll every 5 ms (a kill right after a commit lands before the next bar is done)."""
    deadline = time.monotonic() + timeout
    while not condition():
        process.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.005)


def assert_identical_to_the_backtest(db: Path, sample_csv: Path, bars: int) -> None:
    """`atb parity` says identical; the session consumed exactly the intended candles (the
    warm-up before START, then every bar) and equals an independent backtest of them; no order
    id repeats."""
    parity = run_atb("parity", "--db", str(db))
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert parity.stdout.startswith(f"identical: session 1, {bars} bars"), parity.stdout

    end = START + pd.Timedelta(hours=bars)
    candles = load_candles("BTCUSDT", "1h", START, end, warmup=HISTORY, data_file=sample_csv)
    source = bars_from_frame(candles.frame)
    with SessionStore.open(db, read_only=True) as store:
        (session,) = store.list_sessions()
        assert store.history_bars(session.id) == source[:HISTORY]
        assert store.processed_bars(session.id) == source[HISTORY:]
        events = store.events(session.id)
        equity = [point.equity for point in store.equity(session.id)]
        orders = [order.order_id for order in store.orders(session.id)]
        trades = store.trades(session.id)
        prefix = session.id_prefix
    expected = run_backtest(
        BacktestRequest(
            strategy=create_strategy("sma_cross", PARAMS),
            candles=candles,
            config=config_from_assignments(CONFIG),
            symbol="BTCUSDT",
            id_prefix=prefix,
            fast=False,
        )
    )
    assert events == list(expected.events)
    assert equity == expected.equity.equity.tolist()
    assert trades == list(expected.trades)
    assert len(trades) > 5
    placed = [event.order_id for event in events if isinstance(event, OrderPlaced)]
    filled = [event.fill.order_id for event in events if isinstance(event, OrderFilled)]
    assert len(placed) == len(set(placed)), "an order was placed twice"
    assert len(filled) == len(set(filled)), "an order was filled twice"
    assert len(orders) == len(set(orders))


@pytest.mark.slow
def test_sigkill_at_random_moments_ends_identical_to_the_backtest(
    exchange: FakeBinance, sample_csv: Path, tmp_path: Path, spawn: Spawn
) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "crashed.sqlite3"
    log = tmp_path / "crashed.log"
    args = live_args(exchange, db)
    kills: list[tuple[str, int | None]] = []

    def kill(process: LiveProcess, mode: str) -> LiveProcess:
        process.kill()
        kills.append((mode, committed_bars(db)))
        return spawn(args, log)

    # During the very first start-up, the clock paused: schema, session, history being written.
    process = spawn(args, log)
    time.sleep(rng.uniform(0.2, 1.5))
    process = kill(process, "first start-up")
    wait_for(lambda: history_recorded(db), process)
    exchange.set_clock(exchange.now_ms(), speed=3600.0 * BARS_PER_SECOND)

    while len(kills) < KILLS:
        mode = rng.choice(("after a commit", "mid-bar", "after a restart"))
        if mode == "after a restart":
            time.sleep(rng.uniform(0.3, 2.0))
        else:
            target = min((committed_bars(db) or 0) + rng.randint(1, 8), TOTAL_BARS)
            wait_for(functools.partial(reached, db, target), process)
            if mode == "mid-bar":
                time.sleep(rng.uniform(0.0, 1.0 / BARS_PER_SECOND))
        process.check_alive()
        process = kill(process, mode)

    # Every bar of the window has closed: the last process catches up and finishes.
    exchange.set_clock(END, speed=0.0)
    wait_for(functools.partial(reached, db, TOTAL_BARS), process, timeout=90.0)
    assert process.terminate() == 0

    print("kills (mode, bars committed):", kills)  # shown when the test fails
    assert len(kills) >= 20
    modes = collections.Counter(mode for mode, _ in kills[1:])
    assert len(modes) == 3, modes
    assert min(modes.values()) >= 3, modes
    at = [bars for _, bars in kills if bars is not None]
    assert at == sorted(at)
    assert len(set(at)) > KILLS // 2, f"kills did not spread over the run: {kills}"
    assert max(at) < TOTAL_BARS, "every kill came after the end of the window"
    started = [event for event in process.log_events() if event.get("event") == "session_started"]
    assert len(started) == 1

    assert_identical_to_the_backtest(db, sample_csv, TOTAL_BARS)


def test_a_crash_between_creating_the_session_and_recording_its_history(
    exchange: FakeBinance, sample_csv: Path, tmp_path: Path, spawn: Spawn
) -> None:
    """`open_session` commits the session row, then its warm-up history: a SIGKILL between the
    two leaves a session with no history. The next process must start it with its warm-up
    (it used to resume it without any: parity still held, but trades differed from an
    uninterrupted run's)."""
    db = tmp_path / "half-started.sqlite3"
    with SessionStore.open(db) as store:
        store.create_session(  # exactly what the killed process had committed
            strategy="sma_cross",
            params=dict(create_strategy("sma_cross", PARAMS).parameters),
            config=config_to_dict(config_from_assignments(CONFIG)),
            symbol="BTCUSDT",
            timeframe="1h",
            initial_balance=10_000.0,
        )
    bars = 240
    process = spawn(live_args(exchange, db), tmp_path / "live.log")
    wait_for(lambda: resumed(process), process)
    assert history_recorded(db), "the half-started session was resumed without its warm-up"
    exchange.set_clock(START + pd.Timedelta(hours=bars), speed=0.0)
    wait_for(functools.partial(reached, db, bars), process)
    assert process.terminate() == 0
    started = [event["event"] for event in process.log_events()]
    assert started.count("session_resumed") == 1
    assert started.count("session_started") == 0
    assert_identical_to_the_backtest(db, sample_csv, bars)
