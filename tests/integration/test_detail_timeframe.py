"""Lower-timeframe detail in the backtest: finer candles resolve the bars the intrabar policy
could only guess, the fast path stays identical to stepping every bar, and a bar whose finer
candles are inconsistent falls back to the intrabar policy (counted and said)."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.feeds import ReplayFeed
from atb.data.instruments import instrument_for
from atb.data.validation import validate_candles
from atb.domain.timeframes import parse_timeframe
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.parity import backtest_session, compare_session
from atb.managers.lookback import history_bars
from atb.persistence.store import SessionStore
from atb.results import BacktestResult
from atb.strategies.registry import create_strategy
from tests.support.candle_frames import make_candles

CONFIG = ["trailing=on", "partials=on", "risk.max_position=0.5", "risk.max_drawdown=None"]


def hourly_from(minutes: pd.DataFrame) -> pd.DataFrame:
    grouped = minutes.resample("1h")
    hours = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )
    return hours.dropna()


@pytest.fixture(scope="module")
def series() -> tuple[ValidatedCandles, ValidatedCandles]:
    minutes = make_candles(60 * 24 * 40, start="2024-01-01", timeframe="1m", seed=5)
    detail = validate_candles(minutes, source="synthetic minutes", timeframe="1m")
    hours = validate_candles(hourly_from(minutes), source="synthetic hours", timeframe="1h")
    return hours, detail


def run(
    hours: ValidatedCandles, detail: ValidatedCandles | None, *, fast: bool = True
) -> BacktestResult:
    strategy = create_strategy(
        "sma_cross",
        {"fast": 3, "slow": 12, "stop_loss": 0.003, "take_profit": 0.003, "allow_short": True},
    )
    return run_backtest(
        BacktestRequest(
            strategy=strategy,
            candles=hours,
            config=config_from_assignments(CONFIG),
            symbol="BTCUSDT",
            detail=detail,
            fast=fast,
        ),
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_detail_resolves_ambiguous_bars(series: tuple[ValidatedCandles, ValidatedCandles]) -> None:
    hours, detail = series
    guessed = run(hours, None)
    resolved = run(hours, detail)
    assert guessed.ambiguity.bars > 10
    # Only a minute holding both levels can stay ambiguous: far fewer than hours that do.
    assert resolved.ambiguity.bars < guessed.ambiguity.bars / 5
    assert resolved.trades != guessed.trades
    # Resting fills carry the minute they happened in, not the hour.
    minute_stamps = [
        leg.time
        for trade in resolved.trades
        for leg in trade.legs
        if leg.reason in ("stop loss", "take profit") and leg.time.minute != 0
    ]
    assert minute_stamps


def test_fast_path_with_detail_equals_stepping_every_bar(
    series: tuple[ValidatedCandles, ValidatedCandles],
) -> None:
    hours, detail = series
    assert run(hours, detail, fast=True) == run(hours, detail, fast=False)


def test_detail_outside_its_bar_falls_back_and_is_said(
    series: tuple[ValidatedCandles, ValidatedCandles],
) -> None:
    """One rule in both engines: a bar whose finer candles do not lie inside it is resolved by
    the intrabar policy, as a bar without detail is, and the run says how many there were."""
    hours, detail = series
    frame = detail.frame.copy()
    row = frame.index[90]
    frame.loc[row, "high"] = frame["high"].iloc[90] * 1.5
    broken = validate_candles(frame, source="broken minutes", timeframe="1m")
    result = run(hours, broken)
    assert "1 bar(s) had finer candles lying outside them" in " ".join(result.warnings)
    # Every other bar still uses its minutes: the run differs from one without any detail.
    assert result.events != run(hours, None).events


def test_parity_holds_with_detail_on(
    series: tuple[ValidatedCandles, ValidatedCandles], tmp_path: Path
) -> None:
    """A live (replay) session resolving bars on minute candles equals the backtest of the
    candles it recorded, detail included."""
    hours, detail = series
    strategy = create_strategy(
        "sma_cross",
        {"fast": 3, "slow": 12, "stop_loss": 0.003, "take_profit": 0.003, "allow_short": True},
    )
    config = config_from_assignments([*CONFIG, "fills.detail_timeframe=1m"])
    settings = LiveSettings(
        strategy_name="sma_cross",
        parameters=dict(strategy.parameters),
        config=config,
        symbol="BTCUSDT",
        timeframe=parse_timeframe("1h"),
        initial_balance=10_000.0,
        instrument=instrument_for("BTCUSDT"),
        poll_interval=0.0,
    )
    window = hours.select(None, "2024-01-20")
    with SessionStore.open(tmp_path / "detail.sqlite3") as store:
        engine = LiveEngine(
            store=store,
            feed=ReplayFeed(
                window, history_bars=history_bars(strategy.warmup, config), detail=detail
            ),
            strategy=strategy,
            settings=settings,
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
        )
        engine.run()
    with SessionStore.open(tmp_path / "detail.sqlite3", read_only=True) as store:
        assert len(store.detail_bars(1)) == 60 * len(store.processed_bars(1))
        report = compare_session(store)
        result = backtest_session(store, store.get_session(1))
    assert report.identical, report.divergences
    assert report.events > 50
    assert len(result.trades) > 10
