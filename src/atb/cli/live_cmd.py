"""`atb live`: run a strategy on live closed candles (paper trading), and `status` / `stop`.

`atb live STRATEGY --symbol S --timeframe TF --paper-trading …` runs a session;
`atb live status` and `atb live stop` inspect and stop a running one.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from atb.cli.api_keys import read_keys
from atb.cli.candle_report import drop_outliers_option, echo_candles_report
from atb.cli.live_store import default_db, discard_store
from atb.cli.option_types import (
    EXCHANGE_URL,
    NON_NEGATIVE,
    POSITIVE,
    TIMEFRAME,
    BoundedPath,
    FiniteFloat,
    check_detail_timeframe,
    file_path,
)
from atb.cli.portfolio_live import PortfolioLiveOptions, run_portfolio_live
from atb.cli.progress import show_progress
from atb.cli.run_options import (
    build_config,
    build_strategy,
    instrument_options,
    refuse_short_history,
    resolve_run_instrument,
    strategy_options,
)
from atb.cli.stop_signals import stop_signals
from atb.cli.symbols_option import parse_symbols
from atb.data.binance import BinanceClient
from atb.data.cache import default_data_dir
from atb.data.exchange_rules import refresh_exchange_rules
from atb.data.feeds import ExchangeFeed, ReplayFeed
from atb.data.instruments import InstrumentOverrides
from atb.data.loading import load_candles
from atb.data.stop_token import StopRequested
from atb.data.symbols import normalize_symbol
from atb.data.times import utc_now
from atb.domain.errors import AtbError
from atb.domain.timeframes import parse_timeframe
from atb.engines.live.engine import (
    LiveEngine,
    LiveSettings,
    SessionStart,
    default_poll_interval,
)
from atb.engines.live.health import HealthServer, HealthState
from atb.engines.live.log import JsonLog, SessionLog
from atb.engines.live.text_log import TextLog
from atb.engines.session_result import session_result
from atb.managers.lookback import history_bars
from atb.persistence.liveness import LivenessVerdict, judge, writer_holder
from atb.persistence.lock import lock_holder
from atb.persistence.order_journal import StoreJournal
from atb.persistence.portfolio_store import PortfolioStore
from atb.persistence.store import SessionStore
from atb.persistence.store_file import store_bytes
from atb.ports import CandleFeed
from atb.reporting import display
from atb.reporting.summary import print_summary
from atb.strategies.protocol import ModelBacked


class _LiveGroup(click.Group):
    """`atb live STRATEGY …` runs a session; `atb live status|stop` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("live", cls=_LiveGroup)
def live() -> None:
    """Run STRATEGY live on closed candles (paper trading), or inspect/stop a session.

    \b
    atb live ml_basic --symbol BTCUSDT --timeframe 1h --paper-trading
    atb live status
    atb live stop
    """


@live.command("run")
@click.argument("strategy_name", metavar="STRATEGY")
@click.option("--symbol", help="Trading pair, e.g. BTCUSDT.")
@click.option(
    "--symbols",
    "symbols_text",
    help="A portfolio: several pairs in one paper account, e.g. ETHBTC,LTCBTC,XMRBTC.",
)
@click.option("--timeframe", type=TIMEFRAME, default="1h", show_default=True, help="Bar length.")
@click.option("--paper-trading", is_flag=True, help="Simulate fills (no orders are sent).")
@click.option(
    "--live-trading",
    is_flag=True,
    help="Send real orders to the exchange (keys from ATB_API_KEY/ATB_API_SECRET or --key-file).",
)
@click.option(
    "--validate-only",
    is_flag=True,
    help="Paper fills, but every market order first goes to the exchange's test-order endpoint "
    "(checks the rules and the key; needs the keys like --live-trading).",
)
@click.option(
    "--key-file",
    type=file_path(),
    help="TOML file with api_key and secret, readable only by you (instead of the environment).",
)
@click.option(
    "--max-order-value",
    type=FiniteFloat(minimum=0.0, minimum_open=True),
    help="Rail (quote currency): refuse any buy worth more, before it is sent.",
)
@click.option(
    "--max-daily-loss",
    type=FiniteFloat(minimum=0.0, minimum_open=True),
    help="Rail (quote currency): when equity falls this much below the UTC day's opening "
    "equity, close the position and stop.",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Start even if the account holds what the session cannot explain; the difference is "
    "left outside the session and recorded.",
)
@strategy_options
@instrument_options
@click.option("--db", type=file_path(), help="SQLite store path.")
@click.option(
    "--exchange-url",
    type=EXCHANGE_URL,
    help="Binance-compatible REST base URL (or ATB_BINANCE_URL).",
)
@click.option(
    "--poll-interval", type=POSITIVE, help="Seconds between polls (default by timeframe)."
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Health endpoint port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--replay",
    "replay_files",
    type=BoundedPath(),
    multiple=True,
    help="Dry run: replay candles from this file instead of polling the exchange (with "
    "--symbols: a folder with a file per symbol, or one file per symbol).",
)
@click.option(
    "--late-bar-timeout",
    type=NON_NEGATIVE,
    help="With --symbols: seconds a bar time waits for a symbol whose bar is late before it is "
    "stepped without it (default: 1/20 of the bar, 10 s to 5 min).",
)
@click.option("--pace", type=NON_NEGATIVE, default=0.0, help="Seconds between replayed bars.")
@click.option(
    "--detail-timeframe",
    type=TIMEFRAME,
    help="Resolve stops and targets on finer candles (e.g. 1m); = --set fills.detail_timeframe.",
)
@click.option(
    "--max-store-mb",
    type=FiniteFloat(minimum=0.1),
    help="Cap the store file; reaching it stops the engine cleanly (like a full disk).",
)
@drop_outliers_option
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="stderr log: `text`, one line per closed bar, or `json`, one object per event "
    "(default: text on a terminal, json otherwise).",
)
@click.option(
    "--resume",
    "must_resume",
    is_flag=True,
    help="Resume the active session of this strategy, symbol and timeframe; refuse if the "
    "store holds none (default: resume one if there is one, else start a new session).",
)
@click.option(
    "--new-session",
    is_flag=True,
    help="End the active session of this strategy, symbol and timeframe and start a new one.",
)
@click.option(
    "--allow-overlap",
    is_flag=True,
    help="Start a session even if its bars overlap the model's training window.",
)
def run(
    strategy_name: str,
    symbol: str | None,
    symbols_text: str | None,
    timeframe: str,
    paper_trading: bool,
    live_trading: bool,
    validate_only: bool,
    key_file: Path | None,
    max_order_value: float | None,
    max_daily_loss: float | None,
    adopt: bool,
    params: tuple[str, ...],
    assignments: tuple[str, ...],
    config_file: Path | None,
    initial_balance: float,
    model_dir: Path | None,
    db: Path | None,
    exchange_url: str | None,
    poll_interval: float | None,
    health_port: int,
    replay_files: tuple[Path, ...],
    late_bar_timeout: float | None,
    pace: float,
    max_store_mb: float | None,
    detail_timeframe: str | None,
    tick_size: float | None,
    lot_step: float | None,
    min_notional: float | None,
    instruments_file: Path | None,
    drop_outliers: bool,
    log_format: str | None,
    must_resume: bool,
    new_session: bool,
    allow_overlap: bool,
) -> None:
    """Run a live session: paper trading, real orders (--live-trading), or paper fills of
    orders the exchange checked (--validate-only)."""
    if paper_trading + live_trading + validate_only != 1:
        raise click.UsageError(
            "pass --paper-trading to simulate fills, --live-trading to send real orders, or "
            "--validate-only to simulate fills of orders the exchange has checked (exactly one)"
        )
    if (symbol is None) == (symbols_text is None):
        raise click.UsageError("name the market with --symbol S, or a portfolio with --symbols")
    if must_resume and new_session:
        raise click.UsageError("use either --resume or --new-session, not both")
    if symbols_text is not None:
        _refuse_beside_symbols(
            {
                "--live-trading": live_trading,
                "--validate-only": validate_only,
                "--key-file": key_file is not None,
                "--max-order-value": max_order_value is not None,
                "--max-daily-loss": max_daily_loss is not None,
                "--adopt": adopt,
                "--detail-timeframe": detail_timeframe is not None,
                "--tick-size": tick_size is not None,
                "--lot-step": lot_step is not None,
                "--min-notional": min_notional is not None,
                "--max-store-mb": max_store_mb is not None,
            }
        )
        if drop_outliers and not replay_files:
            raise click.UsageError(
                "--drop-outliers needs --replay (live bars are not screened yet)"
            )
        run_portfolio_live(
            PortfolioLiveOptions(
                strategy_name=strategy_name,
                symbols=parse_symbols(symbols_text),
                timeframe=parse_timeframe(timeframe),
                params=params,
                config=build_config(config_file, assignments),
                initial_balance=initial_balance,
                model_dir=model_dir,
                store_path=db or default_db(),
                exchange_url=exchange_url,
                poll_interval=poll_interval,
                late_bar_timeout=late_bar_timeout,
                health_port=health_port,
                replay=replay_files,
                pace=pace,
                instruments_file=instruments_file,
                drop_outliers=drop_outliers,
                log_format=log_format,
                start=_session_start(must_resume, new_session),
                allow_overlap=allow_overlap,
            )
        )
        return
    assert symbol is not None
    if late_bar_timeout is not None:
        raise click.UsageError("--late-bar-timeout belongs to a portfolio (--symbols)")
    if len(replay_files) > 1:
        raise click.UsageError("--replay: one file for one --symbol (several go with --symbols)")
    replay_file = replay_files[0] if replay_files else None
    if replay_file is not None and replay_file.is_dir():
        raise click.UsageError(
            f"--replay {replay_file} is a folder: give one file (a folder goes with --symbols)"
        )
    with_exchange = live_trading or validate_only
    if with_exchange and replay_file is not None:
        raise click.UsageError("--live-trading and --validate-only use an exchange: no --replay")
    if key_file is not None and not with_exchange:
        raise click.UsageError("--key-file belongs to --live-trading or --validate-only")
    if (adopt or max_order_value is not None) and not live_trading:
        raise click.UsageError("--adopt and --max-order-value belong to --live-trading")
    # The keys first: a session without them is refused before anything is contacted.
    keys = read_keys(key_file) if with_exchange else None
    if drop_outliers and replay_file is None:
        raise click.UsageError("--drop-outliers needs --replay (live bars are not screened yet)")
    start = _session_start(must_resume, new_session)
    symbol = normalize_symbol(symbol)
    tf = parse_timeframe(timeframe)
    if detail_timeframe is not None:
        assignments = (*assignments, f"fills.detail_timeframe={detail_timeframe}")
    config = build_config(config_file, assignments)
    check_detail_timeframe(
        config.fills.detail_timeframe,
        tf,
        option="--detail-timeframe" if detail_timeframe else "fills.detail_timeframe",
    )
    strategy = build_strategy(
        strategy_name, params, symbol=symbol, timeframe=str(tf), model_dir=model_dir
    )
    model_id = strategy.model_artifact.artifact_id if isinstance(strategy, ModelBacked) else None
    # From here SIGINT/SIGTERM end the session cleanly, whatever it is doing (live.md,
    # "Stopping"); the handlers stay until the command has closed the store.
    stop = click.get_current_context().with_resource(stop_signals())
    health = HealthState()
    if log_format is None:
        log_format = "text" if Console(stderr=True).is_terminal else "json"
    # An unpaced replay goes faster than anyone can read: a progress display instead of a
    # line per bar. JSON is for machines: every event, never a progress display.
    show_replay_progress = log_format == "text" and replay_file is not None and not pace
    log: SessionLog = (
        JsonLog(symbol=symbol, strategy=strategy.name)
        if log_format == "json"
        else TextLog(bars=not show_replay_progress)
    )
    # Read the replay file (or set up the exchange client) before touching the store, so a
    # bad --replay path leaves no empty store behind.
    store_path = db or default_db()
    SessionStore.check_writable(store_path)
    if start is SessionStart.RESUME and not store_path.exists():
        raise AtbError(
            f"no live store at {store_path} to resume a session from (was it deleted or "
            "moved?); without --resume a new session starts"
        )
    feed: CandleFeed
    client: BinanceClient | None = None
    replay: ReplayFeed | None = None
    rules = InstrumentOverrides(tick_size, lot_step, min_notional)
    if replay_file is not None:
        candles = load_candles(symbol, tf, data_file=replay_file, drop_outliers=drop_outliers)
        refuse_short_history(candles, strategy)
        # stderr carries the log; the data report stays off it.
        echo_candles_report(candles, only="stdout")
        window = history_bars(strategy.warmup, config)
        feed = replay = ReplayFeed(
            candles, history_bars=window, bars_per_poll=1, pace=pace, sleep=stop.sleep
        )
        frame = candles.frame
    else:
        client = BinanceClient(exchange_url, stop=stop)
        feed = ExchangeFeed(client, symbol, tf)
        frame = None
        if not rules.complete:
            # The session trades by the exchange's current rules: refresh the cached copy.
            try:
                refresh_exchange_rules(client, default_data_dir(), symbol, fetched_at=utc_now())
            except StopRequested:
                client.close()
                log.write("stopped", session=None)  # stopped before anything was written
                return
            except AtbError:
                client.close()
                raise
    instrument = resolve_run_instrument(
        symbol,
        frame,
        tick_size=tick_size,
        lot_step=lot_step,
        min_notional=min_notional,
        instruments_file=instruments_file,
    )
    for warning in instrument.warnings:
        click.echo(f"warning: {warning}", err=True)
    settings = LiveSettings(
        strategy_name=strategy.name,
        parameters=dict(strategy.parameters),
        config=config,
        symbol=symbol,
        timeframe=tf,
        initial_balance=initial_balance,
        instrument=instrument.instrument,
        instrument_source=instrument.source,
        poll_interval=poll_interval if poll_interval is not None else default_poll_interval(tf),
        model_id=model_id,
        start=start,
        overlap_allowed=allow_overlap,
        max_daily_loss=max_daily_loss,
    )
    exchange = None
    if keys is not None:
        # ccxt (~1 s to import) only for a session that trades or validates on the exchange.
        from atb.cli.live_trading import exchange_access

        try:
            exchange = exchange_access(
                exchange_url,
                keys,
                instrument.instrument,
                adopt=adopt,
                wait=stop.wait,
                max_order_value=max_order_value,
                validate_only=validate_only,
            )
        except AtbError:
            if client is not None:
                client.close()
            raise
    max_bytes = None if max_store_mb is None else int(max_store_mb * 1_000_000)
    fresh_store = not store_path.exists()
    try:
        # Bound before the store opens: a port in use leaves no store behind.
        server = HealthServer(health, health_port)
    except AtbError:
        if client is not None:
            client.close()
        raise
    try:
        store = SessionStore.open(store_path, max_bytes=max_bytes)
    except AtbError:
        server.stop()
        if client is not None:
            client.close()
        raise
    engine = LiveEngine(
        store=store,
        feed=feed,
        strategy=strategy,
        settings=settings,
        stop=stop,
        log=log,
        health=health,
        exchange=exchange,
    )
    server.start()
    # `atb live stop --flatten` asks with SIGUSR1: the handler only sets a flag.
    previous_usr1 = signal.signal(
        signal.SIGUSR1, lambda _signum, _frame: engine.request_flatten(FLATTEN_BY_REQUEST)
    )
    try:
        try:
            session = engine.open_session()
        except StopRequested:
            pass  # stopped while fetching the warm-up history: run() logs the stop
        else:
            log.write("health", url=f"http://127.0.0.1:{server.port}/health", session=session.id)
        if replay is not None and show_replay_progress:
            left = sum(
                1 for bar in replay.bars if engine.last_time is None or bar.time > engine.last_time
            )
            with show_progress(f"replay {strategy.name} {symbol} {tf}", total=left) as progress:
                engine.on_bar = lambda _bar: progress.advance()
                engine.run()
        else:
            engine.run()
        if engine.session is not None:
            _print_summary(store, engine.session.id)
    except AtbError as error:
        log.write("fatal", error=str(error))
        if fresh_store and engine.session is None:
            # Refused before a session began (overlap, instrument, …): the store this command
            # created holds nothing, so it goes too — a refusal leaves the disk as it was.
            store.close()
            discard_store(store_path)
        raise
    finally:
        signal.signal(signal.SIGUSR1, previous_usr1)
        server.stop()
        if client is not None:
            client.close()
        store.close()


FLATTEN_BY_REQUEST = "flatten: atb live stop --flatten"


def _refuse_beside_symbols(given: dict[str, bool]) -> None:
    """A portfolio runs paper trading with each symbol's rules from --instruments, the exchange
    or its data: the options it lacks are usage errors."""
    present = [option for option, value in given.items() if value]
    if present:
        raise click.UsageError(
            f"{present[0]} does not apply to a portfolio (--symbols): it runs paper trading, "
            "with each symbol's rules from --instruments, the exchange or its data"
        )


def _session_start(must_resume: bool, new_session: bool) -> SessionStart:
    """`--resume` insists on resuming, `--new-session` ends the active one, else either."""
    if must_resume:
        return SessionStart.RESUME
    return SessionStart.NEW if new_session else SessionStart.AUTO


def _print_summary(store: SessionStore, session_id: int) -> None:
    """The closing summary of the session, from what it stored (the same as `atb backtest`)."""
    session = store.get_session(session_id)
    real = StoreJournal(store, session.id).baseline() is not None
    mode = "live trading" if real else "paper"
    heading = f"Live session {session.id} ({mode}):"
    if not store.equity(session.id):
        click.echo(f"{heading}: no closed bar processed yet")
        return
    print_summary(session_result(store, session), heading=heading)


@live.command("status")
@click.option("--db", type=file_path(), help="SQLite store path.")
def status(db: Path | None) -> None:
    """Show the sessions in the store: running, stopped or crashed, and their figures."""
    path = db or default_db()
    if not path.exists():
        raise AtbError(f"no live store at {path} (start one with `atb live … --paper-trading`)")
    holder = writer_holder(path)
    with SessionStore.open(path, read_only=True) as store:
        sessions = store.list_sessions()
        table = Table(title=f"live sessions in {path}")
        columns = ("id", "strategy", "symbol", "tf", "status", "last bar", "equity", "return")
        for column in (*columns, "max dd", "sharpe", "trades"):
            # Wide enough for `running (pid 4194304)` on one line.
            table.add_column(column, min_width=_STATUS_WIDTH if column == "status" else None)
        for session in sessions:
            verdict = judge(
                status=session.status,
                writer_pid=session.writer_pid,
                stopped_at=session.stopped_at,
                holder=holder,
            )
            figures = ["-"] * 5
            if session.portfolio_id is None and store.equity(session.id):
                # The same metrics `atb backtest` reports, from the session's own records.
                metrics = session_result(store, session).metrics
                figures = [
                    display.money(metrics.final_equity),
                    display.pct(metrics.total_return),
                    display.pct(metrics.max_drawdown),
                    display.ratio(metrics.sharpe),
                    display.count(metrics.n_trades),
                ]
            table.add_row(
                str(session.id),
                session.strategy,
                session.symbol
                if session.portfolio_id is None
                else f"{session.symbol} (portfolio {session.portfolio_id})",
                session.timeframe,
                _liveness_text(verdict),
                str(session.last_bar_time or "-"),
                *figures,
            )
        Console().print(table)
        _print_portfolios(store, holder)


_STATUS_WIDTH = len("running (pid 4194304)")


def _liveness_text(verdict: LivenessVerdict) -> str:
    """`running (pid 4242)`, `stopped (ended)`, `stopped (resumable)`, `crashed (…)`."""
    return f"{verdict.state.value} ({verdict.detail})"


def _print_portfolios(store: SessionStore, holder: int | None) -> None:
    """The store's live portfolios: one account each, its members listed above."""
    portfolios = PortfolioStore(store).list_portfolios()
    if not portfolios:
        return
    table = Table(title="live portfolios")
    for column in ("id", "strategy", "symbols", "tf", "status", "last bar", "equity", "return"):
        table.add_column(column, min_width=_STATUS_WIDTH if column == "status" else None)
    for portfolio in portfolios:
        verdict = judge(
            status=portfolio.status,
            writer_pid=portfolio.writer_pid,
            stopped_at=portfolio.stopped_at,
            holder=holder,
        )
        steps = PortfolioStore(store).steps(portfolio.id)
        equity = steps[-1].equity if steps else None
        table.add_row(
            str(portfolio.id),
            portfolio.strategy,
            ",".join(portfolio.symbols),
            portfolio.timeframe,
            _liveness_text(verdict),
            str(portfolio.last_bar_time or "-"),
            "-"
            if equity is None
            else display.money(equity, display.money_decimals(portfolio.initial_balance)),
            "-" if equity is None else display.pct(equity / portfolio.initial_balance - 1.0),
        )
    Console().print(table)


@live.command("stop")
@click.option("--db", type=file_path(), help="SQLite store path.")
@click.option(
    "--timeout",
    type=POSITIVE,
    help="Give up after this many seconds (default: wait until the process has stopped).",
)
@click.option(
    "--flatten",
    is_flag=True,
    help="Close the open position first (at market; a real session cancels its protective "
    "orders and sells), then stop.",
)
def stop_command(db: Path | None, timeout: float | None, flatten: bool) -> None:
    """Ask the process running a session on this store to stop (SIGTERM) and wait for it.

    A session stops within a second in any state; with --flatten it first closes its position
    (within one poll interval). The command waits until the process has released the store,
    saying so every 10 s, unless --timeout gives up first (exit 1).
    """
    path = db or default_db()
    holder = lock_holder(path)
    if holder is None:
        raise AtbError(f"no live process holds {path}")
    if flatten:
        _refuse_flatten_of_a_portfolio(path, holder)
    os.kill(holder, signal.SIGUSR1 if flatten else signal.SIGTERM)
    started = time.monotonic()
    told = started
    while lock_holder(path) is not None:
        now = time.monotonic()
        if timeout is not None and now - started >= timeout:
            click.echo(
                f"process {holder} did not stop within {timeout:g} s; it still holds {path}",
                err=True,
            )
            sys.exit(1)
        if now - told >= 10.0:
            click.echo(f"waiting for process {holder} to stop ({now - started:.0f} s)", err=True)
            told = now
        time.sleep(0.05)
    click.echo(f"stopped process {holder}")


def _refuse_flatten_of_a_portfolio(path: Path, holder: int) -> None:
    """A live portfolio cannot be flattened yet: say so before signalling its process."""
    with SessionStore.open(path, read_only=True) as store:
        running = [
            portfolio
            for portfolio in PortfolioStore(store).list_portfolios()
            if portfolio.active and portfolio.writer_pid == holder
        ]
    if running:
        raise AtbError(
            f"process {holder} runs portfolio {running[0].id}: --flatten does not apply to a "
            "portfolio yet; stop it without --flatten (its positions stay open in the store)"
        )


@live.command("prune")
@click.option("--db", type=file_path(), help="SQLite store path.")
@click.option(
    "--session",
    "session_ids",
    type=click.IntRange(min=1),
    multiple=True,
    help="A stopped session to delete (repeatable).",
)
@click.option(
    "--portfolio",
    "portfolio_ids",
    type=click.IntRange(min=1),
    multiple=True,
    help="A stopped portfolio to delete, with its member sessions (repeatable).",
)
@click.option("--all-stopped", is_flag=True, help="Delete every stopped session and portfolio.")
def prune_command(
    db: Path | None,
    session_ids: tuple[int, ...],
    portfolio_ids: tuple[int, ...],
    all_stopped: bool,
) -> None:
    """Delete stopped sessions and portfolios and give their space back (active ones are never
    pruned; a portfolio goes whole, with its member sessions)."""
    if not session_ids and not portfolio_ids and not all_stopped:
        raise click.UsageError(
            "name sessions with --session ID or portfolios with --portfolio ID, or pass "
            "--all-stopped"
        )
    path = db or default_db()
    if not path.exists():
        raise AtbError(f"no live store at {path}")
    with SessionStore.open(path) as store:
        portfolios = PortfolioStore(store)
        before = store_bytes(store.path)
        sessions = list(session_ids)
        chosen_portfolios = list(portfolio_ids)
        if all_stopped:
            sessions = [
                s.id for s in store.list_sessions() if not s.active and s.portfolio_id is None
            ]
            chosen_portfolios = [p.id for p in portfolios.list_portfolios() if not p.active]
        # Refuse an unknown, active or member session, or an active portfolio, before any change.
        for session_id in sessions:
            session = store.get_session(session_id)
            if session.active:
                raise AtbError(
                    f"session {session_id} in {store.path} is active; end it first (start a "
                    "new one with --new-session): an active session is never pruned"
                )
            if session.portfolio_id is not None:
                raise AtbError(
                    f"session {session_id} is the {session.symbol} member of portfolio "
                    f"{session.portfolio_id}: prune the portfolio whole (--portfolio "
                    f"{session.portfolio_id})"
                )
        for portfolio_id in chosen_portfolios:
            if portfolios.get(portfolio_id).active:
                raise AtbError(
                    f"portfolio {portfolio_id} in {store.path} is active; end it first (start "
                    "a new one with --new-session): an active portfolio is never pruned"
                )
        for session_id in sessions:
            store.delete_session(session_id)
        for portfolio_id in chosen_portfolios:
            portfolios.delete(portfolio_id)
        store.compact()
        after = store_bytes(store.path)
    removed = ", ".join(str(session_id) for session_id in sessions) or "none"
    message = f"pruned session(s) {removed}"
    if chosen_portfolios:
        message += f" and portfolio(s) {', '.join(str(i) for i in chosen_portfolios)}"
    click.echo(f"{message}: {path} went from {before:,} to {after:,} bytes")
