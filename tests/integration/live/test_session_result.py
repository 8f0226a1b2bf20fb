"""`session_result`: a live session's own store, summarised as `atb backtest` summarises a run.

A replayed session with trailing stops, partial exits, scale-ins and shorts is turned into a
`BacktestResult` from its stored trades, equity and events, and compared with the backtest of
the very same candles: every metric, trade and equity value is equal.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import attrs
import pytest
from rich.console import Console

from atb.config import config_from_assignments
from atb.data.feeds import ReplayFeed
from atb.data.instruments import instrument_for
from atb.data.validation import validate_candles
from atb.domain.errors import AtbError
from atb.domain.timeframes import parse_timeframe
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.parity import backtest_session
from atb.engines.session_result import session_result
from atb.persistence.store import SessionStore
from atb.reporting.summary import render_summary
from atb.results import AmbiguityInfo
from atb.strategies.registry import create_strategy
from tests.support.candle_frames import make_candles

PARAMS = {"fast": 5, "slow": 20, "stop_loss": 0.01, "allow_short": True}
CONFIG = ["trailing=on", "partials=on", "risk.max_position=0.5"]


def replay_session(db: Path, bars: int = 700) -> None:
    candles = validate_candles(
        make_candles(bars, start="2024-03-01", seed=11), source="test frame", timeframe="1h"
    )
    strategy = create_strategy("sma_cross", PARAMS)
    settings = LiveSettings(
        strategy_name="sma_cross",
        parameters=dict(strategy.parameters),
        config=config_from_assignments(CONFIG),
        symbol="BTCUSDT",
        timeframe=parse_timeframe("1h"),
        initial_balance=10_000.0,
        instrument=instrument_for("BTCUSDT"),
        poll_interval=0.0,
    )
    with SessionStore.open(db) as store:
        LiveEngine(
            store=store,
            feed=ReplayFeed(candles, history_bars=101),
            strategy=strategy,
            settings=settings,
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
        ).run()


def test_a_stored_session_has_the_metrics_of_the_backtest_of_its_candles(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    replay_session(db)
    with SessionStore.open(db, read_only=True) as store:
        session = store.get_session(1)
        live = session_result(store, session)
        backtest = backtest_session(store, session)

    assert live.metrics == backtest.metrics
    assert live.metrics.n_trades > 5
    assert live.metrics.partial_exits_taken > 0
    assert live.metrics.scale_ins_taken > 0
    assert live.metrics.short_trades > 0
    assert live.trades == backtest.trades
    assert live.events == backtest.events
    assert live.equity == backtest.equity
    # The same open position, as the live engine's `LivePosition` and the backtest's
    # `ActiveTrade`: compared through what the summary shows of it.
    assert live.open_position is not None
    assert backtest.open_position is not None
    for name in ("mark_price", "mark_time", "unrealized_pnl", "net_pnl"):
        assert getattr(live.open_position, name) == getattr(backtest.open_position, name)
    for name in ("side", "quantity", "entry_price", "entry_time", "stop_loss"):
        assert getattr(live.open_position.position, name) == getattr(
            backtest.open_position.position, name
        )
    assert attrs.evolve(live.data, source="") == attrs.evolve(backtest.data, source="")
    assert live.config == backtest.config
    # The ambiguity band is stored bar by bar (schema v6): the same as the backtest's.
    assert live.ambiguity == backtest.ambiguity


def test_the_summary_of_a_session_names_it_and_says_what_is_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    replay_session(db)
    with SessionStore.open(db, read_only=True) as store:
        result = session_result(store, store.get_session(1))
    # As a session recorded before the store kept the band: two ambiguous bars, no band.
    unknown = AmbiguityInfo(bars=2, pessimistic_pnl=math.nan, optimistic_pnl=math.nan)
    ambiguous = attrs.evolve(result, ambiguity=unknown)
    console = Console(file=io.StringIO(), width=120)
    console.print(render_summary(ambiguous, plain=True, heading="Live session 1 (paper):"))
    assert isinstance(console.file, io.StringIO)
    text = console.file.getvalue()
    assert text.startswith("Live session 1 (paper): sma_cross on BTCUSDT 1h")
    assert "Ambiguous bars: 2 · PnL range not recorded" in text
    assert f"data: live session 1 ({db})" in text


def test_a_session_without_a_processed_bar_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "empty.sqlite3"
    with SessionStore.open(db) as store:
        session = store.create_session(
            strategy="sma_cross",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=10_000.0,
        )
        with pytest.raises(AtbError, match="has not processed any bar yet"):
            session_result(store, session)
