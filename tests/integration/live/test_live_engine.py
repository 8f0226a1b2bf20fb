"""The live engine in-process, against the fake exchange over real HTTP and a real SQLite store:
exchange faults during the run leave the result unchanged, gaps are reported, and a store that
cannot be written stops the engine with nothing half-recorded."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from atb.config import config_from_assignments
from atb.data.binance import BinanceClient
from atb.data.feeds import ExchangeFeed, ReplayFeed
from atb.data.instruments import instrument_for
from atb.data.validation import validate_candles
from atb.domain.bars import Bar
from atb.domain.timeframes import parse_timeframe
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.parity import compare_session
from atb.persistence.errors import StoreError
from atb.persistence.store import SessionStore
from atb.strategies.registry import create_strategy
from tests.support.candle_frames import make_candles
from tests.support.fake_binance import FakeBinance
from tests.support.retry import FAST_RETRIES, RecordingSleeper

HOUR = parse_timeframe("1h")
PARAMS = {"fast": 5, "slow": 20, "stop_loss": 0.01, "allow_short": True}
CONFIG = ["trailing=on", "partials=on", "risk.max_position=0.5"]

REPLAY_HISTORY = 101
"""Warm-up rows the replay feed hands out before its first live bar."""


def settings(poll: float = 0.01) -> LiveSettings:
    strategy = create_strategy("sma_cross", PARAMS)
    return LiveSettings(
        strategy_name="sma_cross",
        parameters=dict(strategy.parameters),
        config=config_from_assignments(CONFIG),
        symbol="BTCUSDT",
        timeframe=HOUR,
        initial_balance=10_000.0,
        instrument=instrument_for("BTCUSDT"),
        poll_interval=poll,
    )


def run_against_exchange(
    fake: FakeBinance,
    db: Path,
    bars: int,
    on_bar: Callable[[int], None] = lambda _count: None,
) -> io.StringIO:
    """Run a session until `bars` bars are processed; the clock starts once it has opened."""
    log = io.StringIO()
    stop = threading.Event()
    processed = 0

    def counted(_bar: Bar) -> None:
        nonlocal processed
        processed += 1
        on_bar(processed)
        if processed >= bars:
            stop.set()

    opened = threading.Event()
    failures: list[BaseException] = []

    def session() -> None:
        # SQLite connections belong to their thread: the engine lives entirely in this one.
        client = BinanceClient(fake.url, timeout=0.5, retry=FAST_RETRIES, sleep=RecordingSleeper())
        try:
            with client, SessionStore.open(db) as store:
                engine = LiveEngine(
                    store=store,
                    feed=ExchangeFeed(client, "BTCUSDT", HOUR),
                    strategy=create_strategy("sma_cross", PARAMS),
                    settings=settings(),
                    stop=stop,
                    log=JsonLog(log),
                    on_bar=counted,
                )
                engine.open_session()
                opened.set()
                engine.run()
        except BaseException as error:
            failures.append(error)
            opened.set()

    thread = threading.Thread(target=session, daemon=True)
    thread.start()
    assert opened.wait(timeout=60)
    fake.set_clock(fake.now_ms(), speed=3600.0 * 200)
    thread.join(timeout=120)
    assert not thread.is_alive(), log.getvalue()[-2000:]
    assert not failures, failures
    return log


@pytest.fixture
def candles() -> pd.DataFrame:
    return make_candles(900, start="2024-03-01", seed=11)


def test_exchange_faults_during_the_run_leave_the_result_unchanged(
    candles: pd.DataFrame, tmp_path: Path
) -> None:
    start = candles.index[300]
    bars = 400

    def faults(count: int) -> None:
        if count == 30:
            fake.rate_limit(times=2, retry_after=0.05)
        elif count == 80:
            fake.fail(times=2, status=503)
        elif count == 130:
            fake.slow(times=1, delay=1.0)  # longer than the client's 0.5 s timeout
        elif count == 180:
            fake.duplicate_klines(times=3)
        elif count == 230:
            fake.shuffle_klines(times=3)

    with FakeBinance(candles, clock_ms=int(start.value // 1_000_000)) as fake:
        fake.set_clock(start, speed=0.0)
        run_against_exchange(fake, tmp_path / "faulty.sqlite3", bars, faults)
        statuses = [request.status for request in fake.requests]
    assert 429 in statuses
    assert 503 in statuses

    with FakeBinance(candles) as calm:
        calm.set_clock(start, speed=0.0)
        run_against_exchange(calm, tmp_path / "calm.sqlite3", bars)

    with (
        SessionStore.open(tmp_path / "faulty.sqlite3", read_only=True) as faulty,
        SessionStore.open(tmp_path / "calm.sqlite3", read_only=True) as clean,
    ):
        assert len(faulty.processed_bars(1)) == bars
        assert faulty.processed_bars(1) == clean.processed_bars(1)
        assert faulty.events(1) == clean.events(1)
        assert len(faulty.trades(1)) > 5
        assert compare_session(faulty).identical


def test_a_gap_in_the_exchange_data_is_reported_not_invented(
    candles: pd.DataFrame, tmp_path: Path
) -> None:
    start = candles.index[300]
    missing = candles.index[340]
    holed = candles.drop(index=missing)
    with FakeBinance(holed) as fake:
        fake.set_clock(start, speed=0.0)
        log = run_against_exchange(fake, tmp_path / "gap.sqlite3", 80)
    gaps = [json.loads(line) for line in log.getvalue().splitlines() if '"gap"' in line]
    assert gaps
    assert gaps[0]["first_missing"].startswith(str(missing.to_pydatetime())[:19].replace("T", " "))
    assert gaps[0]["missing_bars"] == 1
    with SessionStore.open(tmp_path / "gap.sqlite3", read_only=True) as store:
        times = [bar.time for bar in store.processed_bars(1)]
        assert missing.to_pydatetime() not in times
        assert compare_session(store).identical


def test_a_full_store_stops_the_engine_with_nothing_half_recorded(
    candles: pd.DataFrame, tmp_path: Path
) -> None:
    db = tmp_path / "small.sqlite3"
    validated = validate_candles(candles, source="test frame", timeframe="1h")
    strategy = create_strategy("sma_cross", PARAMS)
    with SessionStore.open(db, max_bytes=400_000) as store:
        engine = LiveEngine(
            store=store,
            feed=ReplayFeed(validated, history_bars=REPLAY_HISTORY),
            strategy=strategy,
            settings=settings(poll=0.0),
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
        )
        engine.open_session()
        with pytest.raises(StoreError, match=rf"{db}.*full"):
            engine.run()
        stopped_after = engine.bars_processed
    assert 0 < stopped_after < len(candles) - REPLAY_HISTORY
    with SessionStore.open(db, read_only=True) as store:
        # Every table agrees on the last committed bar: nothing half-written.
        assert len(store.processed_bars(1)) == stopped_after
        assert len(store.equity(1)) == stopped_after
        assert len(store.states(1)) == stopped_after
        state = store.load_state(1)
        assert state is not None
        assert state[1] == store.processed_bars(1)[-1].time
        assert compare_session(store).identical


def test_exchange_feed_fetches_the_finer_candles_of_a_closed_bar(tmp_path: Path) -> None:
    minutes = make_candles(60 * 6, start="2024-03-01", timeframe="1m", seed=3)
    hours = minutes.resample("1h").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    with FakeBinance(hours) as fake:
        fake.add_series("BTCUSDT", "1m", minutes)
        client = BinanceClient(fake.url, retry=FAST_RETRIES, sleep=RecordingSleeper())
        with client:
            feed = ExchangeFeed(client, "BTCUSDT", HOUR)
            (bar,) = feed.poll(hours.index[1].to_pydatetime()).bars[:1]
            finer = feed.detail(bar, parse_timeframe("1m"))
    assert bar.time == hours.index[2].to_pydatetime()
    assert len(finer) == 60
    assert finer[0].time == bar.time
    assert finer[0].open == bar.open
    assert max(fine.high for fine in finer) == bar.high
    assert min(fine.low for fine in finer) == bar.low


def test_parity_of_a_running_session_compares_the_bars_its_replay_saw(
    candles: pd.DataFrame, tmp_path: Path
) -> None:
    """A session goes on committing while `atb parity` (or the dashboard's badge) reads it: the
    candles are read first, the events and equity after. The copy below is that moment frozen,
    the last 7 bars committed between the two reads (their candles missing from the read)."""
    db = tmp_path / "running.sqlite3"
    validated = validate_candles(candles.iloc[:400], source="test frame", timeframe="1h")
    with SessionStore.open(db) as store:
        engine = LiveEngine(
            store=store,
            feed=ReplayFeed(validated, history_bars=REPLAY_HISTORY),
            strategy=create_strategy("sma_cross", PARAMS),
            settings=settings(poll=0.0),
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
        )
        engine.open_session()
        engine.run()
    processed = 400 - REPLAY_HISTORY
    moment = tmp_path / "moment.sqlite3"
    shutil.copy(db, moment)
    with sqlite3.connect(moment) as connection:
        last = [row[0] for row in connection.execute("SELECT time FROM bars ORDER BY time")][-7:]
        connection.executemany("DELETE FROM bars WHERE time = ?", [(time,) for time in last])
    with SessionStore.open(moment, read_only=True) as store:
        assert len(store.events(1)) > len([e for e in store.events(1) if e.time < _utc(last[0])])
        report = compare_session(store)
    assert report.identical, report.divergences
    assert report.bars == processed - 7
    with SessionStore.open(db, read_only=True) as store:
        assert compare_session(store).bars == processed


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
