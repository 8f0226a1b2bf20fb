"""The overlap-with-training rule lives in the runs, not in the CLI: `run_backtest`, a new live
session and `compare_session` (so `atb parity`) refuse bars of the model's own training window
unless the caller allows it."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import attrs
import pytest

from atb.data.candles import ValidatedCandles
from atb.data.feeds import ReplayFeed
from atb.data.instruments import instrument_for
from atb.data.loading import load_candles
from atb.domain.errors import StrategyError
from atb.domain.timeframes import parse_timeframe
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.parity import compare_session
from atb.managers.lookback import history_bars
from atb.managers.run_config import RunConfiguration
from atb.persistence.store import SessionStore
from atb.strategies.ml_training import train
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import StrategyContext, create_strategy

TRAIN = ("2024-01-01", "2024-04-01")
"""The model's training window; the runs below start inside it (2024-03-15)."""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    frame = load_candles("DEMO", "1h", *TRAIN, allow_network=False).frame
    train(frame, "DEMO", "1h", model_dir=directory)
    return directory


def _strategy(model_dir: Path) -> Strategy:
    return create_strategy("ml_basic", {}, StrategyContext("DEMO", "1h", model_dir))


def _candles(strategy: Strategy, warmup: int | None = None) -> ValidatedCandles:
    return load_candles(
        "DEMO",
        "1h",
        "2024-03-15",
        "2024-04-15",
        warmup=strategy.warmup if warmup is None else warmup,
        allow_network=False,
    )


def test_a_library_backtest_refuses_the_training_window(model_dir: Path) -> None:
    strategy = _strategy(model_dir)
    request = BacktestRequest(
        strategy=strategy,
        candles=_candles(strategy),
        config=RunConfiguration.default(),
        symbol="DEMO",
    )
    with pytest.raises(StrategyError) as refused:
        run_backtest(request)
    assert str(refused.value).startswith("the backtest window 2024-03-15 → 2024-04-14 overlaps")
    assert "--allow-overlap" in str(refused.value)
    assert "\n" not in str(refused.value)

    allowed = run_backtest(attrs.evolve(request, overlap_allowed=True))
    assert "the backtest window overlaps the model's training window (allowed)" in (
        allowed.warnings
    )
    assert allowed.strategy.overlap_allowed


def _engine(store: SessionStore, strategy: Strategy, *, allowed: bool) -> LiveEngine:
    config = RunConfiguration.default()
    candles = _candles(strategy, history_bars(strategy.warmup, config))
    assert isinstance(strategy, ModelBacked)
    settings = LiveSettings(
        strategy_name=strategy.name,
        parameters=dict(strategy.parameters),
        config=config,
        symbol="DEMO",
        timeframe=parse_timeframe("1h"),
        initial_balance=10_000.0,
        instrument=instrument_for("DEMO"),
        poll_interval=0.0,
        model_id=strategy.model_artifact.artifact_id,
        overlap_allowed=allowed,
    )
    return LiveEngine(
        store=store,
        feed=ReplayFeed(candles, history_bars=candles.warmup_bars),
        strategy=strategy,
        settings=settings,
        stop=threading.Event(),
        log=JsonLog(io.StringIO()),
    )


def test_a_live_replay_over_the_training_window_refuses_and_creates_no_session(
    model_dir: Path, tmp_path: Path
) -> None:
    with SessionStore.open(tmp_path / "live.sqlite3") as store:
        engine = _engine(store, _strategy(model_dir), allowed=False)
        with pytest.raises(StrategyError, match=r"^the live session window 2024-03-15 onwards "):
            engine.open_session()
        assert store.list_sessions() == []


def test_parity_of_an_overlapping_session_needs_the_same_permission(
    model_dir: Path, tmp_path: Path
) -> None:
    with SessionStore.open(tmp_path / "live.sqlite3") as store:
        engine = _engine(store, _strategy(model_dir), allowed=True)
        engine.open_session()
        engine.run()
        with pytest.raises(StrategyError, match="overlaps model"):
            compare_session(store, model_dir=model_dir)
        report = compare_session(store, model_dir=model_dir, overlap_allowed=True)
    assert report.identical
    assert report.bars == 744  # 2024-03-15 → 2024-04-15, hourly
