"""`atb parity --symbols A,B,C --data DIR`: replay a portfolio's candles through the live
portfolio engine into a scratch store, then compare it with the portfolio backtest of what it
stored (`atb.engines.portfolio.parity`)."""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path

import attrs
import click

from atb.cli.candle_report import echo_candles_report
from atb.cli.progress import show_progress
from atb.cli.run_options import build_strategies, refuse_short_history
from atb.data.feeds import ReplayFeed
from atb.data.portfolio import load_portfolio
from atb.domain.instruments import Instrument
from atb.domain.timeframes import Timeframe
from atb.engines.live.log import JsonLog
from atb.engines.live.portfolio_engine import PortfolioLiveEngine, PortfolioSettings
from atb.engines.parity import ParityReport
from atb.engines.portfolio.parity import compare_portfolio
from atb.managers.lookback import history_bars
from atb.managers.run_config import RunConfiguration
from atb.persistence.store import SessionStore
from atb.ports import CandleFeed
from atb.strategies.protocol import ModelBacked

__all__ = ["PortfolioParityOptions", "refuse_rules_options", "replay_portfolio_parity"]


@attrs.frozen(kw_only=True)
class PortfolioParityOptions:
    """What to replay and compare."""

    data: tuple[Path, ...]
    strategy_name: str
    symbols: tuple[str, ...]
    timeframe: Timeframe
    params: tuple[str, ...]
    config: RunConfiguration
    initial_balance: float
    model_dir: Path | None
    instruments_file: Path | None
    drop_outliers: bool
    overlap_allowed: bool


def refuse_rules_options(
    tick_size: float | None, lot_step: float | None, min_notional: float | None
) -> None:
    """A portfolio takes each symbol's rules from --instruments (or the cache, or its data):
    one --tick-size cannot serve every symbol."""
    for option, value in (
        ("--tick-size", tick_size),
        ("--lot-step", lot_step),
        ("--min-notional", min_notional),
    ):
        if value is not None:
            raise click.UsageError(
                f"{option} does not apply to --symbols: give each symbol's rules in --instruments"
            )


def replay_portfolio_parity(options: PortfolioParityOptions) -> ParityReport:
    """Replay the candles through the live portfolio engine, then compare (see module)."""
    strategies = build_strategies(
        options.strategy_name,
        options.params,
        symbols=options.symbols,
        timeframe=str(options.timeframe),
        model_dir=options.model_dir,
    )
    first = strategies[min(strategies)]
    window = max(history_bars(strategy.warmup, options.config) for strategy in strategies.values())
    portfolio = load_portfolio(
        options.symbols,
        options.timeframe,
        data=[path.absolute() for path in options.data],
        instruments_file=options.instruments_file,
        drop_outliers=options.drop_outliers,
    )
    feeds: dict[str, CandleFeed] = {}
    instruments: dict[str, tuple[Instrument, str]] = {}
    bars = 0
    for symbol in portfolio.symbols:
        candles = portfolio.candles[symbol]
        refuse_short_history(candles, strategies[symbol])
        echo_candles_report(candles, only="stderr")  # stdout is the report
        feed = ReplayFeed(candles, history_bars=window)
        feeds[symbol] = feed
        bars = max(bars, len(feed.bars) - feed.history_bars)
        resolved = portfolio.instruments[symbol]
        instruments[symbol] = (resolved.instrument, resolved.source)
        for warning in resolved.warnings:
            click.echo(f"warning: {symbol}: {warning}", err=True)
    settings = PortfolioSettings(
        strategy_name=first.name,
        parameters=dict(first.parameters),
        config=options.config,
        timeframe=options.timeframe,
        initial_balance=options.initial_balance,
        instruments=instruments,
        poll_interval=0.0,
        # A replay answers every feed at once: no bar is ever late.
        late_bar_timeout=0.0,
        model_id=first.model_artifact.artifact_id if isinstance(first, ModelBacked) else None,
        overlap_allowed=options.overlap_allowed,
    )
    title = f"replay {first.name} {len(feeds)} symbols {options.timeframe}"
    with (
        tempfile.TemporaryDirectory(prefix="atb-parity-") as folder,
        show_progress(title, total=len(portfolio.times), unit="bar times") as progress,
    ):
        store_path = Path(folder) / "replay.sqlite3"
        with SessionStore.open(store_path) as store:
            engine = PortfolioLiveEngine(
                store=store,
                feeds=feeds,
                strategies=strategies,
                settings=settings,
                stop=threading.Event(),
                log=JsonLog(io.StringIO()),
                on_step=lambda _time: progress.advance(),
            )
            engine.run()
        progress.stage("comparing with the backtest")
        with SessionStore.open(store_path, read_only=True) as store:
            return compare_portfolio(
                store, None, model_dir=options.model_dir, overlap_allowed=options.overlap_allowed
            )
