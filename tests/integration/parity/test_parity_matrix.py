"""The parity matrix: backtest and live agree, event by event and equity bar by bar.

For every built-in strategy (`sma_cross` long and short, `buy_and_hold`, `ml_basic` long and
short with a model trained on bars before the tested window), over two markets — a window of
the real BTCUSDT sample and a seeded synthetic series with gaps (inside the warm-up and inside
the window) — for every intrabar policy and both fill timings, with trailing stops, partial
exits/scale-ins and tight dynamic-risk tiers on:

- the live engine fed by a `ReplayFeed`, writing a real SQLite store, must be identical to
  the backtest (`compare_session`), and to an independent backtest of the source candles
  (slow path, every bar stepped) — events, trades, equity per bar, the open position and the
  ambiguous-bar count;
- a subset (every strategy, both fill timings, both markets) runs the live engine against the
  fake exchange over real HTTP, its clock paused while the session opens and then running
  fast, with the same checks.

`test_the_matrix_exercises_every_feature` proves the matrix is not vacuous: across it there
are short trades, partial exits, scale-ins, stop moves, tier changes and ambiguous bars, and
the intrabar policy and the fill timing change outcomes.
"""

from __future__ import annotations

import collections
import io
import threading
from collections.abc import Mapping
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest

from atb.config import config_from_assignments
from atb.data.bars import bars_from_frame
from atb.data.binance import BinanceClient
from atb.data.candles import ValidatedCandles
from atb.data.feeds import ExchangeFeed, ReplayFeed
from atb.data.instruments import ResolvedInstrument, instrument_for
from atb.data.loading import load_candles
from atb.data.validation import validate_candles
from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderFilled, OrderPlaced, StopMoved, TierChanged
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.sides import PositionSide
from atb.domain.timeframes import parse_timeframe
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.parity import ParityReport, compare_session
from atb.managers.lookback import history_bars
from atb.managers.run_config import RunConfiguration
from atb.persistence.store import SessionStore
from atb.ports import CandleFeed
from atb.results import BacktestResult
from atb.strategies.ml_artifact import training_window_overlaps
from atb.strategies.ml_training import train
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import StrategyContext, create_strategy
from tests.support.fake_binance import FakeBinance
from tests.support.retry import FAST_RETRIES, RecordingSleeper

TIMEFRAME = "1h"
HOUR = parse_timeframe(TIMEFRAME)
INITIAL_BALANCE = 10_000.0
WINDOW_BARS = 96
"""Bar slots in each tested window (the synthetic window has a few of them missing)."""

STRATEGIES: Mapping[str, Mapping[str, object]] = {
    "sma_cross": {"fast": 5, "slow": 20, "stop_loss": 0.02, "allow_short": True},
    "buy_and_hold": {},
    "ml_basic": {"allow_short": True},
}
POLICIES = ("pessimistic", "optimistic", "nearest_extreme", "candle_direction")
TIMINGS = ("next_open", "close")
MARKETS = ("sample", "synthetic")
BARS: Mapping[str, int] = {"sma_cross": WINDOW_BARS, "buy_and_hold": WINDOW_BARS, "ml_basic": 72}
"""Bar slots each strategy runs from the window start (ml_basic's features cost ~3x per bar)."""
CONFIG = (
    "trailing=on",
    "partials=on",
    "risk.max_position=0.5",
    # Tight drawdown tiers so dynamic risk actually changes tier inside a short window.
    "dynamic_risk.tiers=[[0.01, 0.8], [0.02, 0.6], [0.03, 0.4]]",
)

SAMPLE_TRAIN = (pd.Timestamp("2023-06-01", tz="UTC"), pd.Timestamp("2024-03-01", tz="UTC"))
SAMPLE_WINDOW = pd.Timestamp("2024-03-08", tz="UTC")
"""A volatile week of the real sample: every strategy trades, some bars are ambiguous."""

SYNTHETIC_SYMBOL = "SYNUSDT"
SYNTHETIC_SEED = 1
SYNTHETIC_BARS = 2_600
SYNTHETIC_START = pd.Timestamp("2025-03-01", tz="UTC")
SYNTHETIC_DROPPED = (-60, 12, 13, 40, 60, 61, 62)
"""Bars removed from the synthetic series, counted from the start of the tested window: one gap
inside the warm-up history, three inside the window (2, 1 and 3 bars)."""

EXCHANGE_BARS_PER_SECOND = 250.0
DETAIL_TIMEFRAME = "15m"
DETAIL_PARTS = 4
TRAINING_MARGIN = 202
"""Bars between the end of ml_basic's training window and the tested window."""

INSTRUMENTS = {
    "BTCUSDT": instrument_for("BTCUSDT"),
    SYNTHETIC_SYMBOL: Instrument(SYNTHETIC_SYMBOL, tick_size=0.01, lot_step=1e-5, min_notional=5.0),
}
"""Each market's rules (the synthetic series trades like BTCUSDT)."""


@attrs.frozen
class Market:
    """A candle series, the start of its tested window, and where its ml_basic model is."""

    name: str
    symbol: str
    frame: pd.DataFrame
    """Validated candles up to the end of the tested window (earlier history included)."""
    window_start: pd.Timestamp
    model_dir: Path
    synthetic: bool
    detail: pd.DataFrame
    """15-minute candles inside the window's hourly bars (`split_bars`)."""

    def candles(self, warmup: int, bars: int) -> ValidatedCandles:
        """The first `bars` bar slots of the tested window, with `warmup` bars before them."""
        index = self.frame.index
        assert isinstance(index, pd.DatetimeIndex)
        first = int(index.searchsorted(self.window_start))
        end = int(index.searchsorted(self.window_start + bars * HOUR.timedelta))
        assert first >= warmup, f"{self.name}: not enough history for {warmup} warm-up bars"
        candles = validate_candles(
            self.frame.iloc[first - warmup : end],
            source=f"{self.name} window",
            timeframe=TIMEFRAME,
            synthetic=self.synthetic,
        )
        return attrs.evolve(candles, warmup_bars=warmup)


@attrs.frozen
class Case:
    """One cell of the matrix."""

    strategy: str
    market: str
    intrabar: str
    timing: str
    variant: str = ""
    """"" (the common config), "atr150" (ATR(150) trailing) or "detail" (15m detail)."""

    @property
    def id(self) -> str:
        suffix = f"-{self.variant}" if self.variant else ""
        return f"{self.strategy}-{self.market}-{self.intrabar}-{self.timing}{suffix}"

    def config(self) -> RunConfiguration:
        return config_from_assignments(
            [
                *CONFIG,
                f"fills.intrabar={self.intrabar}",
                f"fills.timing={self.timing}",
                *VARIANTS[self.variant],
            ]
        )


VARIANTS: Mapping[str, tuple[str, ...]] = {
    "": (),
    # An ATR look-back longer than any strategy's warm-up: both engines must load 151 bars.
    "atr150": ("trailing.atr_multiple=2", "trailing.atr_period=150"),
    # Resting levels resolved on 15-minute candles inside each hour (both engines).
    "detail": (f"fills.detail_timeframe={DETAIL_TIMEFRAME}",),
}
REPLAY_CASES = [
    Case(strategy, market, intrabar, timing)
    for strategy in STRATEGIES
    for market in MARKETS
    for intrabar in POLICIES
    for timing in TIMINGS
]
VARIANT_CASES = [
    Case(strategy, market, intrabar, timing, variant)
    for strategy in STRATEGIES
    for market in MARKETS
    for variant, intrabar, timing in (
        ("atr150", "pessimistic", "next_open"),
        ("detail", "candle_direction", "close"),
    )
]
EXCHANGE_CASES = [
    Case("sma_cross", "sample", "pessimistic", "next_open"),
    Case("sma_cross", "synthetic", "candle_direction", "close"),
    Case("buy_and_hold", "synthetic", "optimistic", "next_open"),
    Case("buy_and_hold", "sample", "nearest_extreme", "close"),
    Case("ml_basic", "sample", "candle_direction", "next_open"),
    Case("ml_basic", "synthetic", "pessimistic", "close"),
]


# --- markets ----------------------------------------------------------------------------------


def synthetic_frame(seed: int, bars: int) -> pd.DataFrame:
    """Trending regimes with momentum (so the model learns something), wide bars now and then
    (so resting levels on both sides are hit within a bar), prices on a 0.01 grid."""
    rng = np.random.default_rng(seed)
    regime = np.repeat(rng.choice([-1.0, 1.0], size=bars // 48 + 1), 48)[:bars]
    shocks = rng.normal(0.0, 0.008, bars)
    returns = np.empty(bars)
    previous = 0.0
    for row in range(bars):
        previous = 0.15 * previous + 0.0012 * regime[row] + shocks[row]
        returns[row] = previous
    close = 20_000.0 * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([20_000.0], close[:-1])) * np.exp(rng.normal(0.0, 0.0005, bars))
    wide = rng.random(bars) < 0.08
    reach = rng.uniform(0.0005, 0.006, (2, bars)) + wide * rng.uniform(0.01, 0.03, (2, bars))
    high = np.maximum(open_, close) * (1.0 + reach[0])
    low = np.minimum(open_, close) * (1.0 - reach[1])
    index = pd.date_range(SYNTHETIC_START, periods=bars, freq=HOUR.timedelta, name="time")
    return pd.DataFrame(
        {
            "open": np.round(open_, 2),
            "high": np.round(high, 2),
            "low": np.round(low, 2),
            "close": np.round(close, 2),
            "volume": np.round(rng.lognormal(3.0, 0.5, bars), 5),
        },
        index=index.as_unit("ns"),
    )


def split_bars(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Four 15-minute candles inside each hourly bar, consistent with it: the first opens at
    its open, the last closes at its close, one touches its low and another its high (which
    comes first is seeded), every price stays inside the bar."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[pd.Timestamp, float, float, float, float, float]] = []
    step = pd.Timedelta(DETAIL_TIMEFRAME)
    for time, bar in frame.iterrows():
        assert isinstance(time, pd.Timestamp)
        high, low = float(bar["high"]), float(bar["low"])
        low_part, high_part = rng.choice(DETAIL_PARTS, size=2, replace=False)
        # The path: open → (extreme of each part) → close, with inner points inside the bar.
        inner = [round(float(rng.uniform(low, high)), 2) for _ in range(DETAIL_PARTS - 1)]
        points = [float(bar["open"]), *inner, float(bar["close"])]
        for part in range(DETAIL_PARTS):
            start, end = points[part], points[part + 1]
            part_high = high if part == high_part else max(start, end)
            part_low = low if part == low_part else min(start, end)
            volume = float(bar["volume"]) / DETAIL_PARTS
            rows.append((time + part * step, start, part_high, part_low, end, volume))
    detail = pd.DataFrame(rows, columns=["time", "open", "high", "low", "close", "volume"])
    return detail.set_index("time")


def detail_candles(market: Market, candles: ValidatedCandles) -> ValidatedCandles:
    """The market's 15m detail covering the candles' traded window."""
    first = candles.index[candles.warmup_bars]
    frame = market.detail[market.detail.index >= first]
    frame = frame[frame.index < candles.index[-1] + HOUR.timedelta]
    return validate_candles(frame, source=f"{market.name} 15m detail", timeframe=DETAIL_TIMEFRAME)


@pytest.fixture(scope="session")
def sample_market(sample_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Market:
    """The real sample; ml_basic's model is trained on the nine months before the window."""
    window_end = SAMPLE_WINDOW + WINDOW_BARS * HOUR.timedelta
    candles = load_candles("BTCUSDT", TIMEFRAME, SAMPLE_TRAIN[0], window_end, data_file=sample_csv)
    frame = candles.frame
    model_dir = tmp_path_factory.mktemp("models-sample")
    train(frame[frame.index < SAMPLE_TRAIN[1]], "BTCUSDT", TIMEFRAME, model_dir=model_dir)
    window = frame[frame.index >= SAMPLE_WINDOW]
    return Market(
        "sample", "BTCUSDT", frame, SAMPLE_WINDOW, model_dir, False, split_bars(window, seed=7)
    )


@pytest.fixture(scope="session")
def synthetic_market(tmp_path_factory: pytest.TempPathFactory) -> Market:
    """The seeded synthetic series with gaps; its model is trained on bars before the warm-up."""
    full = synthetic_frame(SYNTHETIC_SEED, SYNTHETIC_BARS)
    first = SYNTHETIC_BARS - WINDOW_BARS
    window_start = full.index[first]
    holed = full.drop(index=full.index[[first + offset for offset in SYNTHETIC_DROPPED]])
    candles = validate_candles(
        holed, source=f"synthetic seed {SYNTHETIC_SEED}", timeframe=TIMEFRAME, synthetic=True
    )
    in_window = [gap for gap in candles.gaps if gap.start >= window_start]
    assert [gap.missing_bars for gap in in_window] == [2, 1, 3]
    assert len(candles.gaps) == 4
    frame = candles.frame
    model_dir = tmp_path_factory.mktemp("models-synthetic")
    training_end = window_start - TRAINING_MARGIN * HOUR.timedelta
    train(frame[frame.index < training_end], SYNTHETIC_SYMBOL, TIMEFRAME, model_dir=model_dir)
    detail = split_bars(frame[frame.index >= window_start], seed=8)
    return Market("synthetic", SYNTHETIC_SYMBOL, frame, window_start, model_dir, True, detail)


def market_for(request: pytest.FixtureRequest, name: str) -> Market:
    market = request.getfixturevalue(f"{name}_market")
    assert isinstance(market, Market)
    return market


# --- running both sides -----------------------------------------------------------------------


def build_strategy(case: Case, market: Market) -> Strategy:
    context = StrategyContext(symbol=market.symbol, timeframe=TIMEFRAME, model_dir=market.model_dir)
    return create_strategy(case.strategy, dict(STRATEGIES[case.strategy]), context)


def case_candles(case: Case, market: Market) -> ValidatedCandles:
    """The cell's window with the warm-up a live session keeps (and so loads when it starts).

    ml_basic's model never saw any of these bars (warm-up included)."""
    strategy = build_strategy(case, market)
    candles = market.candles(history_bars(strategy.warmup, case.config()), BARS[case.strategy])
    if isinstance(strategy, ModelBacked):
        index = candles.frame.index
        assert not training_window_overlaps(strategy.model_artifact, index[0], index[-1])
    return candles


def live_engine(
    case: Case,
    market: Market,
    store: SessionStore,
    feed: CandleFeed,
    *,
    stop: threading.Event,
    poll_interval: float,
) -> LiveEngine:
    strategy = build_strategy(case, market)
    model_id = strategy.model_artifact.artifact_id if isinstance(strategy, ModelBacked) else None
    settings = LiveSettings(
        strategy_name=strategy.name,
        parameters=dict(strategy.parameters),
        config=case.config(),
        symbol=market.symbol,
        timeframe=HOUR,
        initial_balance=INITIAL_BALANCE,
        instrument=INSTRUMENTS[market.symbol],
        poll_interval=poll_interval,
        model_id=model_id,
    )
    return LiveEngine(
        store=store,
        feed=feed,
        strategy=strategy,
        settings=settings,
        stop=stop,
        log=JsonLog(io.StringIO()),
    )


def run_replay(case: Case, market: Market, db: Path) -> ValidatedCandles:
    """The live engine over the window through a replay feed; returns the candles it was fed."""
    candles = case_candles(case, market)
    # One bar per poll (as `atb live --replay`) or a few at once (catching up): same result.
    bars_per_poll = 1 if case.timing == "next_open" else 7
    detail = detail_candles(market, candles) if case.variant == "detail" else None
    feed = ReplayFeed(
        candles, history_bars=candles.warmup_bars, bars_per_poll=bars_per_poll, detail=detail
    )
    with SessionStore.open(db) as store:
        engine = live_engine(case, market, store, feed, stop=threading.Event(), poll_interval=0.0)
        engine.run()
        assert engine.feed.finished
    return candles


def run_against_exchange(case: Case, market: Market, db: Path) -> ValidatedCandles:
    """The live engine polling the fake exchange; returns the candles it should have consumed.

    The exchange serves the market up to the end of the window. Its clock is paused at the
    window start while the session opens (so the warm-up history is the bars before it), then
    runs at EXCHANGE_BARS_PER_SECOND; the engine stops itself after the window's last bar.
    """
    candles = case_candles(case, market)
    last_bar = bars_from_frame(candles.frame)[-1].time
    stop = threading.Event()
    watchdog = threading.Timer(60.0, stop.set)
    with (
        FakeBinance(market.frame, symbol=market.symbol, timeframe=TIMEFRAME) as fake,
        BinanceClient(
            fake.url, timeout=5.0, retry=FAST_RETRIES, sleep=RecordingSleeper()
        ) as client,
        SessionStore.open(db) as store,
    ):
        fake.set_clock(market.window_start, speed=0.0)
        feed = ExchangeFeed(client, market.symbol, HOUR)
        engine = live_engine(case, market, store, feed, stop=stop, poll_interval=0.005)

        def stop_after_last(bar: Bar) -> None:
            if bar.time >= last_bar:
                stop.set()

        engine.on_bar = stop_after_last
        engine.open_session()
        fake.set_clock(fake.now_ms(), speed=3600.0 * EXCHANGE_BARS_PER_SECOND)
        watchdog.start()
        try:
            engine.run()
        finally:
            watchdog.cancel()
        assert engine.last_time == last_bar, "the watchdog stopped the engine before the end"
    return candles


@attrs.frozen
class Activity:
    """What one run did (to prove the matrix is not vacuous)."""

    trades: int
    short_trades: int
    partial_exits: int
    scale_ins: int
    stop_moves: int
    tier_changes: int
    ambiguous_bars: int


def activity(result: BacktestResult) -> Activity:
    kinds = collections.Counter(
        event.fill.kind.value for event in result.events if isinstance(event, OrderFilled)
    )
    return Activity(
        trades=len(result.trades),
        short_trades=sum(trade.side is PositionSide.SHORT for trade in result.trades),
        partial_exits=kinds["partial-exit"],
        scale_ins=kinds["scale-in"],
        stop_moves=sum(isinstance(event, StopMoved) for event in result.events),
        tier_changes=sum(isinstance(event, TierChanged) for event in result.events),
        ambiguous_bars=result.ambiguity.bars,
    )


def backtest(
    case: Case, market: Market, candles: ValidatedCandles, *, id_prefix: str = "bt"
) -> BacktestResult:
    """The backtest of exactly these candles, every bar stepped (no quiet-span fast path)."""
    return run_backtest(
        BacktestRequest(
            strategy=build_strategy(case, market),
            candles=candles,
            config=case.config(),
            symbol=market.symbol,
            initial_balance=INITIAL_BALANCE,
            instrument=ResolvedInstrument(INSTRUMENTS[market.symbol], "test rules"),
            fast=False,
            id_prefix=id_prefix,
            detail=detail_candles(market, candles) if case.variant == "detail" else None,
        )
    )


def describe(report: ParityReport) -> str:
    lines = [f"{report.total_divergences} divergence(s) over {report.bars} bars:"]
    lines += [
        f"  {d.stream}[{d.index}] at {d.time}: live={d.live!r} backtest={d.backtest!r}"
        for d in report.divergences
    ]
    return "\n".join(lines)


def first_difference(live: list[KernelEvent], expected: list[KernelEvent]) -> str:
    for index, (left, right) in enumerate(zip(live, expected, strict=False)):
        if left != right:
            return f"event {index}: live {left!r} != backtest {right!r}"
    return f"lengths differ: live {len(live)} events, backtest {len(expected)}"


def assert_session_matches_backtest(
    case: Case, market: Market, db: Path, candles: ValidatedCandles
) -> Activity:
    """The stored session equals its backtest (`compare_session`) and an independent backtest
    of the source candles; it traded; no order id repeats. Returns what it did."""
    warmup = candles.warmup_bars
    source_bars = bars_from_frame(candles.frame)
    with SessionStore.open(db, read_only=True) as store:
        report = compare_session(store, model_dir=market.model_dir)
        assert report.identical, describe(report)
        session = store.latest_session()
        assert session is not None
        # The session consumed exactly the source candles: its warm-up, then every window bar.
        assert store.history_bars(session.id) == source_bars[:warmup]
        assert store.processed_bars(session.id) == source_bars[warmup:]
        assert report.bars == len(source_bars) - warmup

        expected = backtest(case, market, candles, id_prefix=session.id_prefix)
        live_events = store.events(session.id)
        assert live_events == list(expected.events), first_difference(
            live_events, list(expected.events)
        )
        assert store.trades(session.id) == list(expected.trades)
        live_equity = [point.equity for point in store.equity(session.id)]
        assert live_equity == expected.equity.equity.tolist()
        assert [point.time for point in store.equity(session.id)] == [
            bar.time for bar in source_bars[warmup:]
        ]

        loaded = store.load_state(session.id)
        assert loaded is not None
        state, last_time = loaded
        assert last_time == source_bars[-1].time
        assert state.ambiguous_bars == expected.ambiguity.bars
        assert state.equity == live_equity[-1]
        if expected.open_position is None:
            assert state.position is None
        else:
            assert isinstance(state.position, LivePosition)
            assert isinstance(expected.open_position.position, ActiveTrade)
            common = [field.name for field in attrs.fields(ActiveTrade)]
            live_position = attrs.asdict(state.position, recurse=False)
            backtest_position = attrs.asdict(expected.open_position.position, recurse=False)
            assert {name: live_position[name] for name in common} == backtest_position

        placed = [event.order_id for event in live_events if isinstance(event, OrderPlaced)]
        assert len(placed) == len(set(placed)), "an order id was placed twice"
        orders = [order.order_id for order in store.orders(session.id)]
        assert len(orders) == len(set(orders))
        assert all(order.startswith(session.id_prefix) for order in orders)

    done = activity(expected)
    assert done.trades > 0, f"{case.id}: no trade closed in the window"
    return done


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REPLAY_CASES, ids=[case.id for case in REPLAY_CASES])
def test_live_with_replay_feed_is_identical_to_the_backtest(
    case: Case, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    market = market_for(request, case.market)
    db = tmp_path / "replay.sqlite3"
    candles = run_replay(case, market, db)
    assert_session_matches_backtest(case, market, db, candles)


@pytest.mark.parametrize("case", VARIANT_CASES, ids=[case.id for case in VARIANT_CASES])
def test_long_look_back_and_detail_cells_are_identical(
    case: Case, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    market = market_for(request, case.market)
    db = tmp_path / "replay.sqlite3"
    candles = run_replay(case, market, db)
    assert candles.warmup_bars >= (151 if case.variant == "atr150" else 1)
    done = assert_session_matches_backtest(case, market, db, candles)
    if case.variant == "atr150":
        assert done.stop_moves > 0, f"{case.id}: the ATR trailing stop never moved"


@pytest.mark.parametrize("case", EXCHANGE_CASES, ids=[case.id for case in EXCHANGE_CASES])
def test_live_against_the_fake_exchange_is_identical_to_the_backtest(
    case: Case, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    market = market_for(request, case.market)
    db = tmp_path / "exchange.sqlite3"
    candles = run_against_exchange(case, market, db)
    assert_session_matches_backtest(case, market, db, candles)


def test_the_exchange_subset_covers_every_strategy_timing_and_market() -> None:
    assert {(case.strategy, case.timing) for case in EXCHANGE_CASES} == {
        (strategy, timing) for strategy in STRATEGIES for timing in TIMINGS
    }
    assert {(case.strategy, case.market) for case in EXCHANGE_CASES} == {
        (strategy, market) for strategy in STRATEGIES for market in MARKETS
    }
    assert {case.intrabar for case in EXCHANGE_CASES} == set(POLICIES)


@pytest.fixture(params=MARKETS)
def market(request: pytest.FixtureRequest) -> Market:
    return market_for(request, str(request.param))


def test_the_matrix_exercises_every_feature(market: Market) -> None:
    """Backtests of every cell (each proven equal to live above): shorts, partial exits,
    scale-ins, stop moves, tier changes and ambiguous bars all happen, and both the intrabar
    policy and the fill timing change the outcome somewhere."""
    totals: collections.Counter[str] = collections.Counter()
    outcomes: dict[tuple[str, str], set[tuple[KernelEvent, ...]]] = collections.defaultdict(set)
    by_timing: dict[tuple[str, str], set[tuple[KernelEvent, ...]]] = collections.defaultdict(set)
    by_strategy: dict[str, set[tuple[KernelEvent, ...]]] = collections.defaultdict(set)
    for case in REPLAY_CASES:
        if case.market != market.name:
            continue
        candles = case_candles(case, market)
        result = backtest(case, market, candles)
        done = activity(result)
        assert done.trades > 0, f"{case.id}: no trade closed in the window"
        totals.update(attrs.asdict(done))
        outcomes[(case.strategy, case.timing)].add(result.events)
        by_timing[(case.strategy, case.intrabar)].add(result.events)
        by_strategy[case.strategy].add(result.events)
    for feature in (
        "short_trades",
        "partial_exits",
        "scale_ins",
        "stop_moves",
        "tier_changes",
        "ambiguous_bars",
    ):
        assert totals[feature] > 0, f"{market.name}: no {feature} anywhere in the matrix"
    for strategy, streams in by_strategy.items():
        assert len(streams) > 1, f"{market.name}: {strategy} has one outcome in all 8 cells"
    assert any(len(streams) > 1 for streams in outcomes.values()), (
        f"{market.name}: the intrabar policy never changes an outcome"
    )
    assert any(len(streams) > 1 for streams in by_timing.values()), (
        f"{market.name}: the fill timing never changes an outcome"
    )
