"""`atb parity`: prove a live (paper) session did exactly what the backtest does on its candles."""

from __future__ import annotations

import io
import json
import sys
import tempfile
import threading
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from atb.cli.candle_report import drop_outliers_option, echo_candles_report
from atb.cli.live_store import default_db
from atb.cli.option_types import TIMEFRAME, BoundedPath, check_detail_timeframe, file_path
from atb.cli.portfolio_parity import (
    PortfolioParityOptions,
    refuse_rules_options,
    replay_portfolio_parity,
)
from atb.cli.progress import ProgressReport, show_progress
from atb.cli.run_options import (
    build_config,
    build_strategy,
    instrument_options,
    refuse_short_history,
    resolve_run_instrument,
    strategy_options,
)
from atb.cli.symbols_option import parse_symbols
from atb.data.feeds import ReplayFeed
from atb.data.instruments import InstrumentOverrides
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.domain.errors import AtbError
from atb.domain.timeframes import parse_timeframe
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.engines.parity import ParityReport, compare_session
from atb.engines.portfolio.parity import compare_portfolio
from atb.managers.lookback import history_bars
from atb.persistence.store import SessionStore
from atb.strategies.protocol import ModelBacked


@click.command("parity")
@click.option(
    "--session", "session_id", type=click.IntRange(min=1), help="Session id (default: the latest)."
)
@click.option(
    "--portfolio",
    "portfolio_id",
    type=click.IntRange(min=1),
    help="A live portfolio's id (instead of a session).",
)
@click.option("--db", type=file_path(), help="SQLite store path.")
@click.option(
    "--data",
    "data_paths",
    type=BoundedPath(),
    multiple=True,
    help="Instead of a stored session: replay this file through the live engine, then compare "
    "(with --symbols: a folder with a file per symbol, or one file per symbol).",
)
@click.option("--strategy", "strategy_name", help="With --data: the strategy to run.")
@click.option("--symbol", help="With --data: the symbol.")
@click.option("--symbols", "symbols_text", help="With --data: a portfolio's symbols, A,B,C.")
@click.option("--timeframe", type=TIMEFRAME, help="With --data: the timeframe.")
@strategy_options
@instrument_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@drop_outliers_option
@click.option(
    "--allow-overlap",
    is_flag=True,
    help="Compare even if the bars overlap the model's training window.",
)
def parity(
    session_id: int | None,
    portfolio_id: int | None,
    db: Path | None,
    data_paths: tuple[Path, ...],
    strategy_name: str | None,
    symbol: str | None,
    symbols_text: str | None,
    timeframe: str | None,
    params: tuple[str, ...],
    assignments: tuple[str, ...],
    config_file: Path | None,
    initial_balance: float,
    model_dir: Path | None,
    as_json: bool,
    tick_size: float | None,
    lot_step: float | None,
    min_notional: float | None,
    instruments_file: Path | None,
    drop_outliers: bool,
    allow_overlap: bool,
) -> None:
    """Diff a live session against the backtest of the very candles it consumed.

    Exit code 0 only when every event and every bar's equity are identical.
    """
    if drop_outliers and not data_paths:
        raise click.UsageError("--drop-outliers needs --data (a stored session's bars are fixed)")
    if session_id is not None and portfolio_id is not None:
        raise click.UsageError("compare either a --session or a --portfolio, not both")
    if symbols_text is not None:
        if not (data_paths and strategy_name and timeframe) or symbol is not None:
            raise click.UsageError(
                "--symbols needs --data, --strategy and --timeframe (and no --symbol)"
            )
        refuse_rules_options(tick_size, lot_step, min_notional)
        report = replay_portfolio_parity(
            PortfolioParityOptions(
                data=data_paths,
                strategy_name=strategy_name,
                symbols=parse_symbols(symbols_text),
                timeframe=parse_timeframe(timeframe),
                params=params,
                config=build_config(config_file, assignments),
                initial_balance=initial_balance,
                model_dir=model_dir,
                instruments_file=instruments_file,
                drop_outliers=drop_outliers,
                overlap_allowed=allow_overlap,
            )
        )
        _print(report, as_json)
        sys.exit(0 if report.identical else 1)
    if len(data_paths) > 1 or any(path.is_dir() for path in data_paths):
        raise click.UsageError("--data: one file for one --symbol (a folder goes with --symbols)")
    data_file = data_paths[0] if data_paths else None
    if data_file is not None:
        if not (strategy_name and symbol and timeframe):
            raise click.UsageError("--data needs --strategy, --symbol and --timeframe")
        with (
            tempfile.TemporaryDirectory(prefix="atb-parity-") as folder,
            show_progress(f"replay {strategy_name} {symbol} {timeframe}") as progress,
        ):
            store_path = Path(folder) / "replay.sqlite3"
            _replay(
                data_file,
                store_path,
                strategy_name=strategy_name,
                symbol=symbol,
                timeframe=timeframe,
                params=params,
                assignments=assignments,
                config_file=config_file,
                initial_balance=initial_balance,
                model_dir=model_dir,
                rules=InstrumentOverrides(tick_size, lot_step, min_notional),
                instruments_file=instruments_file,
                drop_outliers=drop_outliers,
                overlap_allowed=allow_overlap,
                progress=progress,
            )
            progress.stage("comparing with the backtest")
            with SessionStore.open(store_path, read_only=True) as store:
                report = compare_session(
                    store, None, model_dir=model_dir, overlap_allowed=allow_overlap
                )
    else:
        path = db or default_db()
        if not path.exists():
            raise AtbError(f"no live store at {path}")
        with (
            SessionStore.open(path, read_only=True) as store,
            show_progress("comparing the session with its backtest", unit=None),
        ):
            latest = store.latest_session() if session_id is None else None
            if portfolio_id is None and latest is not None:
                # The newest session is a portfolio's member: the portfolio is what ran.
                portfolio_id = latest.portfolio_id
            if portfolio_id is not None:
                report = compare_portfolio(
                    store, portfolio_id, model_dir=model_dir, overlap_allowed=allow_overlap
                )
            else:
                report = compare_session(
                    store, session_id, model_dir=model_dir, overlap_allowed=allow_overlap
                )
    _print(report, as_json)
    sys.exit(0 if report.identical else 1)


def _replay(
    data_file: Path,
    store_path: Path,
    *,
    strategy_name: str,
    symbol: str,
    timeframe: str,
    params: tuple[str, ...],
    assignments: tuple[str, ...],
    config_file: Path | None,
    initial_balance: float,
    model_dir: Path | None,
    rules: InstrumentOverrides,
    instruments_file: Path | None,
    drop_outliers: bool,
    overlap_allowed: bool,
    progress: ProgressReport,
) -> None:
    symbol = normalize_symbol(symbol)
    tf = parse_timeframe(timeframe)
    strategy = build_strategy(
        strategy_name, params, symbol=symbol, timeframe=str(tf), model_dir=model_dir
    )
    candles = load_candles(symbol, tf, data_file=data_file, drop_outliers=drop_outliers)
    refuse_short_history(candles, strategy)
    echo_candles_report(candles, only="stderr")  # stdout is the report (JSON with --json)
    instrument = resolve_run_instrument(
        symbol,
        candles.frame,
        tick_size=rules.tick_size,
        lot_step=rules.lot_step,
        min_notional=rules.min_notional,
        instruments_file=instruments_file,
    )
    for warning in instrument.warnings:
        click.echo(f"warning: {warning}", err=True)
    config = build_config(config_file, assignments)
    check_detail_timeframe(config.fills.detail_timeframe, tf, option="fills.detail_timeframe")
    settings = LiveSettings(
        strategy_name=strategy.name,
        parameters=dict(strategy.parameters),
        config=config,
        symbol=symbol,
        timeframe=tf,
        initial_balance=initial_balance,
        instrument=instrument.instrument,
        instrument_source=instrument.source,
        poll_interval=0.0,
        model_id=strategy.model_artifact.artifact_id if isinstance(strategy, ModelBacked) else None,
        overlap_allowed=overlap_allowed,
    )
    feed = ReplayFeed(candles, history_bars=history_bars(strategy.warmup, settings.config))
    progress.update(0, total=len(feed.bars) - feed.history_bars)
    with SessionStore.open(store_path) as store:
        engine = LiveEngine(
            store=store,
            feed=feed,
            strategy=strategy,
            settings=settings,
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
            on_bar=lambda _bar: progress.advance(),
        )
        engine.run()


def _print(report: ParityReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    console = Console()
    if report.fills is not None:
        _print_real(report, console)
        return
    if report.identical:
        console.print(
            f"identical: {report.subject}, {report.bars} bars compared after "
            f"{report.warmup_bars} warm-up bars, {report.events} events match the backtest "
            "exactly"
        )
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        return
    console.print(
        f"DIFFERENT: {report.subject}: {report.total_divergences} divergence(s) "
        f"over {report.bars} bars and {report.events} live events; the first ones:"
    )
    table = Table()
    for column in ("stream", "#", "bar time", "live", "backtest"):
        table.add_column(column, overflow="fold")
    for divergence in report.divergences:
        table.add_row(
            divergence.stream,
            str(divergence.index),
            "" if divergence.time is None else divergence.time.isoformat(),
            divergence.live,
            divergence.backtest,
        )
    console.print(table)


def _print_real(report: ParityReport, console: Console) -> None:
    """A session that traded on an exchange: its decisions, then its fills' quality."""
    quality = report.fills
    assert quality is not None
    if report.identical:
        console.print(
            f"decisions identical: {report.subject}, {report.events} decisions over "
            f"{report.bars} bars match the backtest of the same candles"
        )
    else:
        console.print(
            f"decisions DIFFERENT: {report.subject}: {report.total_divergences} "
            "divergence(s); the first ones:"
        )
        for divergence in report.divergences:
            console.print(
                f"  {divergence.time}: live {divergence.live} | backtest {divergence.backtest}"
            )
    table = Table(title=f"fill quality: {quality.paired} real fills beside the simulated ones")
    for column in ("deviation", "count", "median", "p90", "min", "max"):
        table.add_column(column)
    rows = (
        ("price, bps against you", quality.price_bps),
        ("fee difference (quote)", quality.fee),
        ("market order delay (s)", quality.delay_s),
    )
    for name, spread in rows:
        if spread is None:
            table.add_row(name, "0", "-", "-", "-", "-")
            continue
        table.add_row(
            name,
            str(spread.count),
            # `+ 0.0` shows a negative zero as 0.
            *(
                f"{value + 0.0:.4g}"
                for value in (spread.median, spread.p90, spread.low, spread.high)
            ),
        )
    console.print(table)
    if quality.unpaired:
        console.print(f"{quality.unpaired} fill(s) had no counterpart on the other side")
    if quality.suggested_slippage is not None:
        console.print(
            f"suggested: --set costs.slippage={quality.suggested_slippage:.6f} (the median "
            "taker fill's deviation)"
        )
