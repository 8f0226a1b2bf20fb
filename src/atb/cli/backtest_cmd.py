"""`atb backtest`: run a strategy over history and write the summary, JSON/CSV and report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from atb.cli.candle_report import drop_outliers_option, echo_candles_report
from atb.cli.heap import return_freed_memory
from atb.cli.option_types import (
    DATETIME,
    EXCHANGE_URL,
    POSITIVE_DAYS,
    TIMEFRAME,
    BoundedPath,
    check_detail_timeframe,
    file_path,
    folder_path,
)
from atb.cli.output_folder import EQUITY_FORMAT_OPTION, RunOutput, write_results
from atb.cli.progress import show_progress
from atb.cli.rerun import rerun_request
from atb.cli.run_options import (
    build_config,
    build_strategy,
    instrument_options,
    refuse_short_history,
    resolve_run_instrument,
    strategy_options,
)
from atb.cli.symbols_option import parse_symbols
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.domain.errors import DataError
from atb.domain.timeframes import parse_timeframe
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.managers.lookback import history_bars
from atb.reporting.result_files import EquityFormat
from atb.reporting.run_record import is_portfolio_result
from atb.reporting.summary import print_summary


@click.command("backtest")
@click.argument("strategy_name", metavar="STRATEGY", required=False)
@click.option("--symbol", help="Trading pair, e.g. BTCUSDT, or DEMO (synthetic).")
@click.option(
    "--symbols",
    "symbols_text",
    metavar="A,B,…",
    help="Several pairs traded from one account (a portfolio), e.g. ETHBTC,LTCBTC,XMRBTC; "
    "one quote currency.",
)
@click.option("--timeframe", type=TIMEFRAME, help="Bar length: 1m 5m 15m 1h 4h 1d … Required.")
@click.option("--days", type=POSITIVE_DAYS, help="The N days ending at --end (default end: now).")
@click.option("--start", type=DATETIME, help="Window start (ISO date/time, UTC).")
@click.option(
    "--end", type=DATETIME, help="Window end, exclusive (ISO date/time, UTC; default now)."
)
@click.option(
    "--data",
    "data_paths",
    type=BoundedPath(),
    multiple=True,
    help="Read candles from this CSV/Parquet file instead of the cache; with --symbols, a "
    "folder holding one file per symbol, or one file per symbol (repeat --data).",
)
@click.option(
    "--exchange-url", type=EXCHANGE_URL, help="Binance-compatible REST base URL for missing data."
)
@strategy_options
@instrument_options
@click.option(
    "--out",
    "out_dir",
    type=folder_path(),
    help="Output folder (default: a new folder under ./results/); must not exist yet.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing --out folder of an earlier run (written beside it, then swapped in).",
)
@EQUITY_FORMAT_OPTION
@click.option("--close-at-end", is_flag=True, help="Close a position still open at the end.")
@click.option(
    "--allow-overlap", is_flag=True, help="Run even if the window overlaps model training."
)
@click.option(
    "--detail-timeframe",
    type=TIMEFRAME,
    help="Resolve stops and targets on finer candles inside each bar, e.g. 1m "
    "(same as --set fills.detail_timeframe=1m).",
)
@click.option(
    "--detail-data",
    type=file_path(),
    help="File with the finer candles (default: the cache, DEMO or the exchange).",
)
@click.option(
    "--rerun",
    "rerun_file",
    type=file_path(),
    help="Repeat the run a result.json records (same strategy, parameters, config, rules, "
    "candles and model, checked by fingerprint); takes only --out, --force, --equity-format, "
    "--model-dir, --exchange-url.",
)
@click.pass_context
@drop_outliers_option
def backtest(
    ctx: click.Context,
    strategy_name: str | None,
    symbol: str | None,
    symbols_text: str | None,
    timeframe: str | None,
    days: int | None,
    start: str | None,
    end: str | None,
    data_paths: tuple[Path, ...],
    exchange_url: str | None,
    params: tuple[str, ...],
    assignments: tuple[str, ...],
    config_file: Path | None,
    initial_balance: float,
    model_dir: Path | None,
    out_dir: Path | None,
    force: bool,
    equity_format: str,
    close_at_end: bool,
    allow_overlap: bool,
    detail_timeframe: str | None,
    detail_data: Path | None,
    tick_size: float | None,
    lot_step: float | None,
    min_notional: float | None,
    instruments_file: Path | None,
    rerun_file: Path | None,
    drop_outliers: bool,
) -> None:
    """Backtest STRATEGY on SYMBOL/TIMEFRAME candles (or on several SYMBOLS from one account).

    \b
    Examples:
      atb backtest sma_cross --symbol DEMO --timeframe 1h --days 90
      atb backtest ml_basic --symbol BTCUSDT --timeframe 1h --days 30 --end 2025-01-20 \\
          --data BTCUSDT_1h.csv
      atb backtest sma_cross --symbols ETHBTC,LTCBTC,XMRBTC --timeframe 5m --data portfolio/
      atb backtest --rerun results/ml_basic_BTCUSDT_1h_…/result.json
    """
    if rerun_file is not None:
        _refuse_options_beside_rerun(ctx)
        output = RunOutput.checked(out_dir, force=force, equity_format=EquityFormat(equity_format))
        if is_portfolio_result(rerun_file):
            # The portfolio modules are imported only by a portfolio's run (~0.1 s).
            from atb.cli.portfolio_backtest import execute_portfolio_backtest
            from atb.cli.portfolio_rerun import portfolio_rerun_request

            portfolio = portfolio_rerun_request(
                rerun_file, model_dir=model_dir, exchange_url=exchange_url
            )
            execute_portfolio_backtest(portfolio, output)
            return
        request = rerun_request(rerun_file, model_dir=model_dir, exchange_url=exchange_url)
        _execute(request, output)
        return
    if symbol is not None and symbols_text is not None:
        raise click.UsageError("use either --symbol or --symbols, not both")
    if strategy_name is None or (symbol or symbols_text) is None or timeframe is None:
        missing = [
            name
            for name, value in (
                ("STRATEGY", strategy_name),
                ("--symbol (or --symbols)", symbol or symbols_text),
                ("--timeframe", timeframe),
            )
            if value is None
        ]
        raise click.UsageError(f"missing {', '.join(missing)} (or use --rerun result.json)")
    if days is not None and start is not None:
        raise click.UsageError("use either --days or --start, not both")
    if symbols_text is not None:
        from atb.cli.portfolio_backtest import run_portfolio_backtest_command

        _refuse_single_symbol_options(ctx)
        symbols = parse_symbols(symbols_text)
        output = RunOutput.checked(out_dir, force=force, equity_format=EquityFormat(equity_format))
        run_portfolio_backtest_command(
            strategy_name=strategy_name,
            symbols=symbols,
            timeframe=timeframe,
            params=params,
            config=build_config(config_file, assignments),
            data=data_paths,
            start=start,
            end=end,
            days=days,
            exchange_url=exchange_url,
            instruments_file=instruments_file,
            model_dir=model_dir,
            initial_balance=initial_balance,
            close_at_end=close_at_end,
            allow_overlap=allow_overlap,
            drop_outliers=drop_outliers,
            output=output,
        )
        return
    assert symbol is not None
    symbol = normalize_symbol(symbol)
    data_file = _single_data_file(data_paths)
    # Refused before any data is loaded: a folder the run could not write is known now.
    output = RunOutput.checked(out_dir, force=force, equity_format=EquityFormat(equity_format))
    # Absolute paths, so the run's record names files a later --rerun finds from anywhere.
    data_file = None if data_file is None else data_file.absolute()
    detail_data = None if detail_data is None else detail_data.absolute()
    if detail_timeframe is not None:
        assignments = (*assignments, f"fills.detail_timeframe={detail_timeframe}")
    config = build_config(config_file, assignments)
    check_detail_timeframe(
        config.fills.detail_timeframe,
        timeframe,
        option="--detail-timeframe" if detail_timeframe else "fills.detail_timeframe",
    )
    strategy = build_strategy(
        strategy_name, params, symbol=symbol, timeframe=timeframe, model_dir=model_dir
    )
    candles = load_candles(
        symbol,
        timeframe,
        start,
        end,
        days=days,
        warmup=history_bars(strategy.warmup, config),
        data_file=data_file,
        exchange_url=exchange_url,
        drop_outliers=drop_outliers,
    )
    echo_candles_report(candles)
    if len(candles) - candles.warmup_bars <= 0:
        raise DataError(f"no bars in the requested window ({candles.describe()})")
    refuse_short_history(candles, strategy)
    instrument = resolve_run_instrument(
        symbol,
        candles.frame,
        tick_size=tick_size,
        lot_step=lot_step,
        min_notional=min_notional,
        instruments_file=instruments_file,
    )
    window_start = candles.index[candles.warmup_bars].to_pydatetime()
    detail = None
    if config.fills.detail_timeframe is not None:
        detail = load_candles(
            symbol,
            config.fills.detail_timeframe,
            window_start,
            candles.index[-1] + parse_timeframe(timeframe).timedelta,
            data_file=detail_data,
            exchange_url=exchange_url,
            drop_outliers=drop_outliers,
        )
    request = BacktestRequest(
        strategy=strategy,
        candles=candles,
        config=config,
        symbol=symbol,
        initial_balance=initial_balance,
        close_at_end=close_at_end,
        overlap_allowed=allow_overlap,
        detail=detail,
        instrument=instrument,
        data_file=data_file,
        detail_file=detail_data,
        drop_outliers=drop_outliers,
    )
    _execute(request, output)


def _execute(request: BacktestRequest, output: RunOutput) -> None:
    """Run the backtest with a progress display, write its files, print its summary."""
    console = Console()
    strategy, symbol, timeframe = request.strategy, request.symbol, request.candles.timeframe
    candles = request.candles
    bars = len(candles) - candles.warmup_bars
    with show_progress(f"backtest {strategy.name} {symbol} {timeframe}", total=bars) as progress:
        return_freed_memory()  # the reader's buffers, before the run allocates its own
        result = run_backtest(request, progress=progress.update)
        return_freed_memory()  # the run's temporaries, before the files are written
        progress.stage("writing the report", total=None)
        folder = output.folder or _default_folder(strategy.name, symbol, str(timeframe))
        files = write_results(result, folder, output)
    print_summary(result, files, console)


_PORTFOLIO_REFUSES = {
    "tick_size": "--tick-size",
    "lot_step": "--lot-step",
    "min_notional": "--min-notional",
    "detail_timeframe": "--detail-timeframe",
    "detail_data": "--detail-data",
}


def _refuse_single_symbol_options(ctx: click.Context) -> None:
    """Options that describe one market cannot apply to every symbol of a portfolio."""
    for name, option in _PORTFOLIO_REFUSES.items():
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError(
                f"{option} describes one market; with --symbols give each symbol's rules in "
                "--instruments (finer candles are not supported for a portfolio yet)"
            )


def _single_data_file(paths: tuple[Path, ...]) -> Path | None:
    """The one candle file of a single-symbol run (a folder or several files need --symbols)."""
    if not paths:
        return None
    if len(paths) > 1:
        raise click.UsageError("several --data files need --symbols (one file per symbol)")
    if paths[0].is_dir():
        raise click.UsageError(f"--data {paths[0]}: a folder of candle files needs --symbols")
    return paths[0]


_RERUN_OPTIONS = frozenset(
    {"rerun_file", "out_dir", "force", "equity_format", "model_dir", "exchange_url"}
)


def _refuse_options_beside_rerun(ctx: click.Context) -> None:
    """`--rerun` takes every input from the file: any other run option is a usage error."""
    given = [
        parameter.opts[0] if isinstance(parameter, click.Option) else "STRATEGY"
        for parameter in ctx.command.params
        if parameter.name not in _RERUN_OPTIONS
        and ctx.get_parameter_source(parameter.name) is not click.core.ParameterSource.DEFAULT
    ]
    if given:
        raise click.UsageError(
            f"--rerun takes its inputs from the result file; drop {', '.join(given)}"
        )


def _default_folder(strategy: str, symbol: str, timeframe: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{strategy}_{symbol}_{timeframe}_{stamp}"
