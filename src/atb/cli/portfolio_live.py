"""`atb live STRATEGY --symbols A,B,C --paper-trading`: one paper account over several symbols.

The candles come from the exchange (one feed per symbol, one client) or, with `--replay`, from
a folder holding a file per symbol (or one file per symbol). Each symbol gets its own strategy
instance and market rules; the session is a live portfolio in the store (ADR 0017), resumed
like a single-symbol session (`--resume`, `--new-session`).
"""

from __future__ import annotations

import signal
from pathlib import Path

import attrs
import click
from rich.console import Console
from rich.table import Table

from atb.cli.candle_report import echo_candles_report
from atb.cli.live_store import discard_store
from atb.cli.progress import show_progress
from atb.cli.run_options import build_strategies, refuse_short_history, resolve_run_instrument
from atb.cli.stop_signals import stop_signals
from atb.data.binance import BinanceClient
from atb.data.cache import default_data_dir
from atb.data.exchange_rules import refresh_exchange_rules
from atb.data.feeds import ExchangeFeed, ReplayFeed
from atb.data.portfolio import load_portfolio, quote_asset_of, refuse_mixed_quotes
from atb.data.stop_token import StopFlag, StopRequested
from atb.data.times import utc_now
from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument
from atb.domain.timeframes import Timeframe
from atb.engines.live.engine import SessionStart, default_poll_interval
from atb.engines.live.health import HealthServer, HealthState
from atb.engines.live.log import JsonLog, SessionLog
from atb.engines.live.portfolio_engine import (
    PortfolioLiveEngine,
    PortfolioSettings,
    default_late_bar_timeout,
)
from atb.engines.live.text_log import TextLog
from atb.managers.lookback import history_bars
from atb.managers.run_config import RunConfiguration
from atb.persistence.portfolio_store import PortfolioStore
from atb.persistence.store import SessionStore
from atb.ports import CandleFeed
from atb.reporting import display
from atb.strategies.protocol import ModelBacked, Strategy

__all__ = ["PortfolioLiveOptions", "print_portfolio_live_summary", "run_portfolio_live"]


@attrs.frozen(kw_only=True)
class PortfolioLiveOptions:
    """What `atb live --symbols` was asked to run (options already checked)."""

    strategy_name: str
    symbols: tuple[str, ...]
    timeframe: Timeframe
    params: tuple[str, ...]
    config: RunConfiguration
    initial_balance: float
    model_dir: Path | None
    store_path: Path
    exchange_url: str | None
    poll_interval: float | None
    late_bar_timeout: float | None
    health_port: int
    replay: tuple[Path, ...]
    pace: float
    instruments_file: Path | None
    drop_outliers: bool
    log_format: str | None
    start: SessionStart
    allow_overlap: bool


def run_portfolio_live(options: PortfolioLiveOptions) -> None:
    """Run one live paper portfolio until stopped (or until the replay ends), then summarise."""
    timeframe = options.timeframe
    strategies = build_strategies(
        options.strategy_name,
        options.params,
        symbols=options.symbols,
        timeframe=str(timeframe),
        model_dir=options.model_dir,
    )
    first = strategies[min(strategies)]
    window = max(history_bars(strategy.warmup, options.config) for strategy in strategies.values())
    stop = click.get_current_context().with_resource(stop_signals())
    log_format = options.log_format
    if log_format is None:
        log_format = "text" if Console(stderr=True).is_terminal else "json"
    show_replay_progress = log_format == "text" and bool(options.replay) and not options.pace
    log: SessionLog = (
        JsonLog(strategy=first.name, symbols=list(strategies))
        if log_format == "json"
        else TextLog(bars=not show_replay_progress)
    )
    SessionStore.check_writable(options.store_path)
    if options.start is SessionStart.RESUME and not options.store_path.exists():
        raise AtbError(
            f"no live store at {options.store_path} to resume a session from (was it deleted "
            "or moved?); without --resume a new session starts"
        )
    feeds: dict[str, CandleFeed] = {}
    instruments: dict[str, tuple[Instrument, str]] = {}
    client: BinanceClient | None = None
    if options.replay:
        portfolio = load_portfolio(
            options.symbols,
            timeframe,
            data=[path.absolute() for path in options.replay],
            instruments_file=options.instruments_file,
            drop_outliers=options.drop_outliers,
        )
        for symbol in portfolio.symbols:
            candles = portfolio.candles[symbol]
            refuse_short_history(candles, strategies[symbol])
            echo_candles_report(candles, only="stdout")
            feed = ReplayFeed(candles, history_bars=window, bars_per_poll=1, sleep=stop.sleep)
            feeds[symbol] = feed
            resolved = portfolio.instruments[symbol]
            instruments[symbol] = (resolved.instrument, resolved.source)
        for warning in portfolio.warnings:
            click.echo(f"warning: {warning}", err=True)
    else:
        client = BinanceClient(options.exchange_url, stop=stop)
        try:
            instruments = _exchange_instruments(client, options)
        except StopRequested:
            client.close()
            log.write("stopped", portfolio=None)
            return
        except AtbError:
            client.close()
            raise
        feeds = {symbol: ExchangeFeed(client, symbol, timeframe) for symbol in instruments}
    settings = PortfolioSettings(
        strategy_name=first.name,
        parameters=dict(first.parameters),
        config=options.config,
        timeframe=timeframe,
        initial_balance=options.initial_balance,
        instruments=instruments,
        poll_interval=(
            options.poll_interval
            if options.poll_interval is not None
            else default_poll_interval(timeframe)
        ),
        late_bar_timeout=(
            options.late_bar_timeout
            if options.late_bar_timeout is not None
            else default_late_bar_timeout(timeframe)
        ),
        start=options.start,
        model_id=first.model_artifact.artifact_id if isinstance(first, ModelBacked) else None,
        overlap_allowed=options.allow_overlap,
        pace=options.pace,
    )
    _run(options, settings, feeds, strategies, stop, log, client, show_replay_progress)


def _exchange_instruments(
    client: BinanceClient, options: PortfolioLiveOptions
) -> dict[str, tuple[Instrument, str]]:
    """Each symbol's current exchange rules (refreshed into the cache), one quote currency."""
    found: dict[str, tuple[Instrument, str]] = {}
    quotes: dict[str, str] = {}
    for symbol in sorted(options.symbols):
        refresh_exchange_rules(client, default_data_dir(), symbol, fetched_at=utc_now())
        resolved = resolve_run_instrument(
            symbol,
            None,
            tick_size=None,
            lot_step=None,
            min_notional=None,
            instruments_file=options.instruments_file,
        )
        for warning in resolved.warnings:
            click.echo(f"warning: {symbol}: {warning}", err=True)
        quotes[symbol] = quote_asset_of(symbol, resolved)
        found[symbol] = (resolved.instrument, resolved.source)
    refuse_mixed_quotes(quotes)
    return found


def _run(
    options: PortfolioLiveOptions,
    settings: PortfolioSettings,
    feeds: dict[str, CandleFeed],
    strategies: dict[str, Strategy],
    stop: StopFlag,
    log: SessionLog,
    client: BinanceClient | None,
    show_replay_progress: bool,
) -> None:
    health = HealthState()
    fresh_store = not options.store_path.exists()
    try:
        server = HealthServer(health, options.health_port)
    except AtbError:
        if client is not None:
            client.close()
        raise
    try:
        store = SessionStore.open(options.store_path)
    except AtbError:
        server.stop()
        if client is not None:
            client.close()
        raise
    engine = PortfolioLiveEngine(
        store=store,
        feeds=feeds,
        strategies=strategies,
        settings=settings,
        stop=stop,
        log=log,
        health=health,
    )
    server.start()
    # `atb live stop --flatten` refuses a portfolio; a SIGUSR1 sent some other way is answered
    # with a log line instead of the signal's default (ending the process mid-bar).
    previous_usr1 = signal.signal(
        signal.SIGUSR1,
        lambda _signum, _frame: log.write(
            "flatten_refused", reason="a portfolio cannot be flattened yet; it keeps running"
        ),
    )
    try:
        try:
            portfolio = engine.open_session()
        except StopRequested:
            pass
        else:
            log.write(
                "health", url=f"http://127.0.0.1:{server.port}/health", portfolio=portfolio.id
            )
        if show_replay_progress:
            title = f"replay {settings.strategy_name} {len(feeds)} symbols {settings.timeframe}"
            with show_progress(title, total=None, unit="bar times") as progress:
                engine.on_step = lambda _time: progress.advance()
                engine.run()
        else:
            engine.run()
        if engine.portfolio is not None:
            print_portfolio_live_summary(store, engine.portfolio.id, Console())
    except AtbError as error:
        log.write("fatal", error=str(error))
        if fresh_store and engine.portfolio is None:
            store.close()
            discard_store(options.store_path)
        raise
    finally:
        signal.signal(signal.SIGUSR1, previous_usr1)
        server.stop()
        if client is not None:
            client.close()
        store.close()


def print_portfolio_live_summary(store: SessionStore, portfolio_id: int, console: Console) -> None:
    """The closing summary of a live portfolio, from what it stored: its account and, per
    symbol, the bars, trades and realized PnL."""
    portfolios = PortfolioStore(store)
    portfolio = portfolios.get(portfolio_id)
    steps = portfolios.steps(portfolio_id)
    if not steps:
        console.print(f"Live portfolio {portfolio_id} (paper): no bar time processed yet")
        return
    last = steps[-1]
    change = last.equity / portfolio.initial_balance - 1.0
    places = display.money_decimals(portfolio.initial_balance)
    console.print(
        f"Live portfolio {portfolio_id} (paper), {len(portfolio.symbols)} symbols, "
        f"{len(steps)} bar times to {display.when(last.time)}: equity "
        f"{display.money(last.equity, places)} ({display.pct(change)}), cash "
        f"{display.money(last.cash, places)}"
    )
    table = Table()
    for column in ("symbol", "session", "bars", "trades", "realized PnL", "open"):
        table.add_column(column)
    for symbol in portfolio.symbols:
        session_id = portfolio.members[symbol]
        trades = store.trades(session_id)
        pnl = 0.0
        for trade in trades:
            pnl += trade.pnl
        state = store.load_state(session_id)
        position = None if state is None else state[0].position
        table.add_row(
            symbol,
            str(session_id),
            display.count(len(store.processed_bars(session_id))),
            display.count(len(trades)),
            display.money(pnl, places),
            "-"
            if position is None
            else f"{position.side.value} {display.price(position.quantity)}",
        )
    console.print(table)
