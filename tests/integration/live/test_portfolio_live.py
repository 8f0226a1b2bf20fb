"""The live portfolio engine in-process, on a real SQLite store: replayed pairs (one with gaps,
one listed later) step exactly as the portfolio backtest of the stored candles; a session
stopped and resumed at several points ends identical to an uninterrupted one; a late bar is
waited for, then stepped without and dropped; the store's records are all-or-nothing."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import attrs
import pytest

from atb.config import config_from_assignments
from atb.data.feeds import ReplayFeed
from atb.data.portfolio import PortfolioCandles, load_portfolio
from atb.domain.bars import Bar
from atb.domain.errors import StrategyError
from atb.domain.events import OrderFilled, PositionClosed
from atb.domain.fills import FillKind
from atb.domain.timeframes import Timeframe, parse_timeframe
from atb.engines.live.engine import SessionStart
from atb.engines.live.log import JsonLog
from atb.engines.live.portfolio_engine import PortfolioLiveEngine, PortfolioSettings
from atb.engines.portfolio.parity import compare_portfolio
from atb.managers.lookback import history_bars
from atb.persistence.errors import StoreError
from atb.persistence.portfolio_store import PortfolioStore
from atb.persistence.store import SessionStore
from atb.ports import CandleFeed, FeedBatch
from atb.strategies.protocol import Strategy
from atb.strategies.registry import create_strategy
from tests.support.portfolio_pairs import MISSING, SYNTHETIC, write_pairs

HOUR = parse_timeframe("1h")
PARAMS = {"fast": 5, "slow": 20, "stop_loss": 0.01, "take_profit": 0.015}
CONFIG = config_from_assignments(
    (
        "trailing.activation_pct=0.003",
        "trailing.distance_pct=0.002",
        "partials.exit_targets=[[0.004, 0.25], [0.008, 0.25]]",
        "partials.scale_in_thresholds=[[0.002, 0.25]]",
        "risk.max_position=0.3",
        "risk.max_positions=2",
        "correlation=on",
    )
)
WINDOW = history_bars(create_strategy("sma_cross", PARAMS).warmup, CONFIG)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> PortfolioCandles:
    folder = write_pairs(tmp_path_factory.mktemp("pairs"), bars=500)
    return load_portfolio(
        SYNTHETIC, "1h", data=[folder], instruments_file=folder / "instruments.toml"
    )


def _settings(pairs: PortfolioCandles) -> PortfolioSettings:
    return PortfolioSettings(
        strategy_name="sma_cross",
        parameters=dict(create_strategy("sma_cross", PARAMS).parameters),
        config=CONFIG,
        timeframe=HOUR,
        initial_balance=1.0,
        instruments={
            symbol: (pairs.instruments[symbol].instrument, pairs.instruments[symbol].source)
            for symbol in pairs.symbols
        },
        poll_interval=0.0,
        late_bar_timeout=3600.0,
    )


def _engine(
    store: SessionStore,
    pairs: PortfolioCandles,
    *,
    settings: PortfolioSettings | None = None,
    feeds: Mapping[str, CandleFeed] | None = None,
    stop: threading.Event | None = None,
    log: io.StringIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PortfolioLiveEngine:
    strategies: dict[str, Strategy] = {
        symbol: create_strategy("sma_cross", PARAMS) for symbol in pairs.symbols
    }
    given = feeds or {
        symbol: ReplayFeed(pairs.candles[symbol], history_bars=WINDOW, bars_per_poll=1)
        for symbol in pairs.symbols
    }
    return PortfolioLiveEngine(
        store=store,
        feeds=given,
        strategies=strategies,
        settings=settings or _settings(pairs),
        stop=stop or threading.Event(),
        log=JsonLog(log or io.StringIO()),
        clock=clock,
    )


def test_a_replayed_portfolio_is_its_backtest(pairs: PortfolioCandles, tmp_path: Path) -> None:
    with SessionStore.open(tmp_path / "live.sqlite3") as store:
        engine = _engine(store, pairs)
        engine.run()
        report = compare_portfolio(store)
        portfolio = PortfolioStore(store).get(1)
        processed = {
            symbol: len(store.processed_bars(portfolio.members[symbol])) for symbol in SYNTHETIC
        }
        events = [
            event for symbol in SYNTHETIC for event in store.events(portfolio.members[symbol])
        ]
        held = [
            sum(value > 0 for value in point.exposures.values())
            for point in PortfolioStore(store).steps(1)
        ]
    assert report.identical, report.divergences
    assert report.portfolio
    assert report.bars == engine.bar_times == 500 - WINDOW
    assert processed == {
        "AAABTC": 500 - WINDOW,
        "BBBBTC": 500 - WINDOW - len(MISSING),
        "CCCBTC": 500 - WINDOW - 30,
    }
    kinds = {event.fill.kind for event in events if isinstance(event, OrderFilled)}
    assert {FillKind.ENTRY, FillKind.PARTIAL_EXIT, FillKind.SCALE_IN} <= kinds
    assert sum(isinstance(event, PositionClosed) for event in events) > 10
    assert max(held) == 2  # risk.max_positions=2 is reached, never passed


def test_stopped_and_resumed_it_ends_as_an_uninterrupted_run(
    pairs: PortfolioCandles, tmp_path: Path
) -> None:
    clean_path, resumed_path = tmp_path / "clean.sqlite3", tmp_path / "resumed.sqlite3"
    with SessionStore.open(clean_path) as store:
        _engine(store, pairs).run()
    for cut in (15, 105, 1, 150, None):  # bar times each run steps before it stops
        halt = threading.Event()
        with SessionStore.open(resumed_path) as store:
            engine = _engine(store, pairs, stop=halt)
            if cut is not None:
                engine.on_step = lambda _time, limit=cut, e=engine, flag=halt: (
                    flag.set() if e.bar_times >= limit else None
                )
            engine.run()
            if cut is not None:
                assert engine.bar_times == cut
    with (
        SessionStore.open(clean_path, read_only=True) as clean,
        SessionStore.open(resumed_path, read_only=True) as resumed,
    ):
        first, second = PortfolioStore(clean), PortfolioStore(resumed)
        assert first.steps(1) == second.steps(1)
        assert first.events(1) == second.events(1)
        assert first.last_account(1) == second.last_account(1)
        for session_id in first.get(1).members.values():
            assert clean.events(session_id) == resumed.events(session_id)
            assert clean.load_state(session_id) == resumed.load_state(session_id)
            assert clean.trades(session_id) == resumed.trades(session_id)
            assert clean.orders(session_id) == resumed.orders(session_id)
        assert compare_portfolio(resumed).identical


class _LateFeed:
    """A replay feed whose bar at `late` comes two polls after it closed (the polls between
    answer nothing, with the feed's clock past the bar's close)."""

    def __init__(self, inner: ReplayFeed, late: datetime) -> None:
        self.inner = inner
        self.late = late
        self.held: FeedBatch | None = None
        self.holding = 0

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def server_time(self) -> datetime:
        return self.inner.server_time()

    def history(self, before: datetime | None, bars: int) -> list[Bar]:
        return self.inner.history(before, bars)

    def detail(self, bar: Bar, timeframe: Timeframe) -> list[Bar]:
        return self.inner.detail(bar, timeframe)

    def poll(self, after: datetime | None) -> FeedBatch:
        if self.held is not None:
            self.holding -= 1
            if self.holding > 0:
                return FeedBatch((), self.held.server_time, ())
            batch, self.held = self.held, None
            return batch
        batch = self.inner.poll(after)
        if [bar.time for bar in batch.bars] == [self.late]:
            self.held, self.holding = batch, 2
            return FeedBatch((), batch.server_time, ())
        return batch


def test_a_late_bar_is_waited_for_then_stepped_without_and_dropped(
    pairs: PortfolioCandles, tmp_path: Path
) -> None:
    late = pairs.times[WINDOW + 40]
    feeds: dict[str, CandleFeed] = {
        symbol: ReplayFeed(pairs.candles[symbol], history_bars=WINDOW, bars_per_poll=1)
        for symbol in pairs.symbols
    }
    aaa = feeds["AAABTC"]
    assert isinstance(aaa, ReplayFeed)
    feeds["AAABTC"] = _LateFeed(aaa, late)
    ticks = iter(range(1_000_000))
    log = io.StringIO()
    with SessionStore.open(tmp_path / "late.sqlite3") as store:
        engine = _engine(
            store,
            pairs,
            settings=attrs.evolve(_settings(pairs), late_bar_timeout=0.5),
            feeds=feeds,
            log=log,
            clock=lambda: float(next(ticks)),
        )
        engine.run()
        portfolio = PortfolioStore(store).get(1)
        aaa_times = [bar.time for bar in store.processed_bars(portfolio.members["AAABTC"])]
        stepped = PortfolioStore(store).steps(1)
        report = compare_portfolio(store)
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [
        (line["symbol"], line["bar_time"]) for line in lines if line["event"] == "late_bar"
    ] == [("AAABTC", str(late))]
    assert [line["bar_time"] for line in lines if line["event"] == "late_bar_dropped"] == [
        str(late)
    ]
    assert late not in aaa_times
    assert [point.present for point in stepped if point.time == late] == [("BBBBTC", "CCCBTC")]
    assert report.identical  # the stored candles lack the dropped bar on both sides


def test_resuming_with_other_parameters_is_refused(pairs: PortfolioCandles, tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite3"
    stop = threading.Event()
    with SessionStore.open(path) as store:
        engine = _engine(store, pairs, stop=stop)
        engine.on_step = lambda _time: stop.set()
        engine.run()
    base = _settings(pairs)
    other = attrs.evolve(base, parameters={**base.parameters, "fast": 6})
    with SessionStore.open(path) as store:
        with pytest.raises(
            StrategyError, match=r"portfolio 1 \(AAABTC\) was started with parameter fast=5, now 6"
        ):
            _engine(store, pairs, settings=other).open_session()
        assert len(PortfolioStore(store).steps(1)) == 1
        # A single-symbol session of a member's market does not take the member over.
        assert store.find_active_session("sma_cross", "AAABTC", "1h") is None
    with (
        SessionStore.open(path) as store,
        pytest.raises(StrategyError, match="no active ml_basic AAABTC,BBBBTC,CCCBTC 1h portfolio"),
    ):
        _engine(
            store,
            pairs,
            settings=attrs.evolve(base, start=SessionStart.RESUME, strategy_name="ml_basic"),
        ).open_session()


def test_a_bar_time_is_recorded_whole_or_not_at_all(
    pairs: PortfolioCandles, tmp_path: Path
) -> None:
    path = tmp_path / "live.sqlite3"
    stop = threading.Event()
    with SessionStore.open(path) as store:
        engine = _engine(store, pairs, stop=stop)
        engine.on_step = lambda _time: stop.set() if engine.bar_times >= 5 else None
        engine.run()
        portfolio = PortfolioStore(store).get(1)
        stored = PortfolioStore(store).last_account(1)
        assert stored is not None
        account, last = stored
        assert last == pairs.times[WINDOW + 4]
        with pytest.raises(StoreError, match="is not after the last one"):
            PortfolioStore(store).record_step(
                portfolio.id, last, members=[], account=account, exposures={}, events=[]
            )
        assert len(PortfolioStore(store).steps(1)) == 5
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE portfolio_steps SET account = replace(account, '\"close_only\":false',"
            " '\"close_only\":true') WHERE bar_time = (SELECT MAX(bar_time) FROM portfolio_steps)"
        )
    with SessionStore.open(path) as store, pytest.raises(StoreError, match="is damaged"):
        _engine(store, pairs).open_session()
