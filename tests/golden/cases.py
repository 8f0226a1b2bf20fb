"""The golden set: fixed runs whose outputs must not change unless an issue says so.

Each case is a backtest (strategies × policies × fill timings × detail timeframe, on the
synthetic DEMO market and the real BTCUSDT sample) or a live replay through a real SQLite
store. `run_case` reduces a run to a record of numbers: counts, the final equity, the ambiguous
bars, every metric, and sha256 digests of the full event stream (exact floats) and of the
equity curve's bytes. `expected.json` holds the records; `python -m tests.golden.record`
rewrites it after a change that is meant to move numbers (the closing note then says which and
why).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.feeds import ReplayFeed
from atb.data.instruments import default_instrument, instrument_for
from atb.data.loading import load_candles
from atb.data.portfolio import assemble_portfolio
from atb.domain.events import KernelEvent
from atb.domain.timeframes import parse_timeframe
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from atb.managers.lookback import history_bars
from atb.managers.performance_metrics import PerformanceMetrics
from atb.managers.run_config import RunConfiguration
from atb.persistence.mappers_events import event_to_dict
from atb.persistence.store import SessionStore
from atb.strategies.ml_training import train
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import StrategyContext, create_strategy
from tests.conftest import SAMPLE_CSV

EXPECTED = Path(__file__).with_name("expected.json")

TRAILING_PARTIALS = ("trailing=on", "partials=on", "risk.max_position=0.5")
SMA_ACTIVE = {"fast": 5, "slow": 20, "stop_loss": 0.02, "take_profit": 0.04, "allow_short": True}


@attrs.frozen
class Market:
    """A candle source and the window the golden runs trade."""

    symbol: str
    timeframe: str
    start: str
    end: str
    data_file: Path | None = None
    train_start: str | None = None
    """Start of ml_basic's training window (it ends at `start`)."""


MARKETS: Mapping[str, Market] = {
    "demo": Market("DEMO", "1h", "2024-03-01", "2024-05-01", train_start="2023-06-01"),
    "sample": Market(
        "BTCUSDT", "1h", "2024-03-01", "2024-05-01", SAMPLE_CSV, train_start="2023-06-01"
    ),
}


@attrs.frozen
class Case:
    """One golden run."""

    id: str
    strategy: str
    market: str
    params: Mapping[str, object] = attrs.field(factory=dict)
    config: Sequence[str] = ()
    live: bool = False
    close_at_end: bool = False


CASES: tuple[Case, ...] = (
    Case("sma-default-demo", "sma_cross", "demo"),
    Case("sma-active-demo", "sma_cross", "demo", SMA_ACTIVE, TRAILING_PARTIALS),
    Case(
        "sma-active-demo-close",
        "sma_cross",
        "demo",
        SMA_ACTIVE,
        (*TRAILING_PARTIALS, "fills.timing=close"),
    ),
    *(
        Case(
            f"sma-active-demo-{policy}",
            "sma_cross",
            "demo",
            SMA_ACTIVE,
            (*TRAILING_PARTIALS, f"fills.intrabar={policy}"),
        )
        for policy in ("optimistic", "nearest_extreme", "candle_direction")
    ),
    Case(
        "sma-atr-trailing-demo",
        "sma_cross",
        "demo",
        SMA_ACTIVE,
        ("trailing.atr_multiple=3", "trailing.atr_period=14", "trailing.activation_pct=0.002"),
    ),
    Case(
        "sma-time-exits-demo",
        "sma_cross",
        "demo",
        {"fast": 5, "slow": 20},
        ("time_exits.max_holding=12", "time_exits.weekend_flat=true"),
    ),
    Case(
        "sma-tiers-demo",
        "sma_cross",
        "demo",
        SMA_ACTIVE,
        (
            "risk.max_position=1.0",
            "risk.max_drawdown=0.08",
            "dynamic_risk.tiers=[[0.01, 0.8], [0.02, 0.6], [0.03, 0.4]]",
        ),
    ),
    Case(
        "sma-detail-demo",
        "sma_cross",
        "demo",
        SMA_ACTIVE,
        (*TRAILING_PARTIALS, "fills.detail_timeframe=5m"),
    ),
    Case("hold-partials-demo", "buy_and_hold", "demo", {}, TRAILING_PARTIALS),
    Case("hold-close-at-end-demo", "buy_and_hold", "demo", {}, (), close_at_end=True),
    Case("ml-demo", "ml_basic", "demo", {"allow_short": True}, TRAILING_PARTIALS),
    Case("sma-active-sample", "sma_cross", "sample", SMA_ACTIVE, TRAILING_PARTIALS),
    Case(
        "sma-atr-sample",
        "sma_cross",
        "sample",
        SMA_ACTIVE,
        ("trailing.atr_multiple=2", "trailing.atr_period=30", "partials=on"),
    ),
    Case("ml-sample", "ml_basic", "sample", {"allow_short": True}, TRAILING_PARTIALS),
    Case("live-sma-demo", "sma_cross", "demo", SMA_ACTIVE, TRAILING_PARTIALS, live=True),
    Case("live-ml-sample", "ml_basic", "sample", {}, TRAILING_PARTIALS, live=True),
)


def needs_sample(case: Case) -> bool:
    """True when the case reads the real BTCUSDT sample (skipped when it is absent)."""
    return MARKETS[case.market].data_file is not None


def _candles(market: Market, timeframe: str, warmup: int) -> ValidatedCandles:
    return load_candles(
        market.symbol,
        timeframe,
        market.start,
        market.end,
        warmup=warmup,
        data_file=market.data_file,
        allow_network=False,
    )


def _strategy(case: Case, model_dir: Path) -> Strategy:
    market = MARKETS[case.market]
    if case.strategy == "ml_basic":
        assert market.train_start is not None
        training = load_candles(
            market.symbol,
            market.timeframe,
            market.train_start,
            market.start,
            data_file=market.data_file,
            allow_network=False,
        )
        train(training.frame, market.symbol, market.timeframe, model_dir=model_dir)
    context = StrategyContext(market.symbol, market.timeframe, model_dir)
    return create_strategy(case.strategy, dict(case.params), context)


def _digest(payload: object) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _events_digest(events: Sequence[KernelEvent]) -> str:
    return _digest([event_to_dict(event) for event in events])


def _metrics(metrics: PerformanceMetrics) -> dict[str, object]:
    return {key: repr(value) for key, value in metrics.as_dict().items()}


def run_case(case: Case, model_dir: Path, store_dir: Path) -> dict[str, object]:
    """Run one golden case and reduce it to its record."""
    market = MARKETS[case.market]
    strategy = _strategy(case, model_dir)
    config = config_from_assignments(case.config)
    if case.live:
        return _run_live(case, market, strategy, config, store_dir)
    candles = _candles(market, market.timeframe, strategy.warmup)
    detail = None
    detail_timeframe = config.fills.detail_timeframe
    if detail_timeframe is not None:
        tf = parse_timeframe(market.timeframe)
        detail = load_candles(
            market.symbol,
            detail_timeframe,
            candles.index[candles.warmup_bars],
            candles.index[-1] + tf.timedelta,
            data_file=None,
            allow_network=False,
        )
    result = run_backtest(
        BacktestRequest(
            strategy=strategy,
            candles=candles,
            config=config,
            symbol=market.symbol,
            close_at_end=case.close_at_end,
            overlap_allowed=isinstance(strategy, ModelBacked),
            detail=detail,
        )
    )
    curve = result.equity
    return {
        "trades": len(result.trades),
        "events": len(result.events),
        "final_equity": repr(float(curve.equity[-1])),
        "ambiguous_bars": result.ambiguity.bars,
        "open_position": result.open_position is not None,
        "events_sha256": _events_digest(result.events),
        "equity_sha256": hashlib.sha256(
            np.ascontiguousarray(curve.equity).tobytes()
            + np.ascontiguousarray(curve.exposure).tobytes()
        ).hexdigest(),
        "metrics": _metrics(result.metrics),
    }


def run_case_as_portfolio(case: Case, model_dir: Path) -> dict[str, object]:
    """Run one golden backtest case as a one-symbol portfolio and reduce it to the same record
    (the portfolio's event stream without its symbols)."""
    market = MARKETS[case.market]
    strategy = _strategy(case, model_dir)
    config = config_from_assignments(case.config)
    candles = _candles(market, market.timeframe, strategy.warmup)
    instrument = default_instrument(market.symbol, candles.frame)
    result = run_portfolio_backtest(
        PortfolioRequest(
            strategies={market.symbol: strategy},
            candles=assemble_portfolio({market.symbol: candles}, {market.symbol: instrument}),
            config=config,
            close_at_end=case.close_at_end,
            overlap_allowed=isinstance(strategy, ModelBacked),
        )
    )
    curve = result.equity
    part = result.part(market.symbol)
    events = [event for _symbol, event in result.events]
    return {
        "trades": len(result.trades),
        "events": len(events),
        "final_equity": repr(float(curve.equity[-1])),
        "ambiguous_bars": result.ambiguity.bars,
        "open_position": part.open_position is not None,
        "events_sha256": _events_digest(events),
        "equity_sha256": hashlib.sha256(
            np.ascontiguousarray(curve.equity).tobytes()
            + np.ascontiguousarray(curve.exposure).tobytes()
        ).hexdigest(),
        "metrics": _metrics(result.metrics),
    }


def _run_live(
    case: Case,
    market: Market,
    strategy: Strategy,
    config: RunConfiguration,
    store_dir: Path,
) -> dict[str, object]:
    history = history_bars(strategy.warmup, config)
    candles = _candles(market, market.timeframe, history)
    tf = parse_timeframe(market.timeframe)
    settings = LiveSettings(
        strategy_name=strategy.name,
        parameters=dict(strategy.parameters),
        config=config,
        symbol=market.symbol,
        timeframe=tf,
        initial_balance=10_000.0,
        instrument=instrument_for(market.symbol),
        poll_interval=0.0,
        model_id=strategy.model_artifact.artifact_id if isinstance(strategy, ModelBacked) else None,
    )
    path = store_dir / f"{case.id}.sqlite3"
    with SessionStore.open(path) as store:
        engine = LiveEngine(
            store=store,
            feed=ReplayFeed(candles, history_bars=candles.warmup_bars),
            strategy=strategy,
            settings=settings,
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
        )
        session = engine.open_session()
        engine.run()
        events = store.events(session.id)
        equity = [point.equity for point in store.equity(session.id)]
        trades = store.trades(session.id)
    return {
        "trades": len(trades),
        "events": len(events),
        "final_equity": repr(equity[-1]),
        "bars": len(equity),
        "events_sha256": _events_digest(events),
        "equity_sha256": _digest([repr(value) for value in equity]),
    }


def first_bar(market: str) -> pd.Timestamp:
    """The first traded bar of a market's window (documentation aid for the record file)."""
    return pd.Timestamp(MARKETS[market].start, tz="UTC")
