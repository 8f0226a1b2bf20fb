"""`atb backtest`: run a strategy over history and write the summary, JSON/CSV and report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from atb.cli.progress import show_progress
from atb.cli.run_options import build_config, build_strategy, strategy_options
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.data.timeframes import parse_timeframe
from atb.domain.errors import DataError, StrategyError
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.reporting.files import write_result_files
from atb.reporting.summary import print_summary
from atb.strategies.ml_artifact import training_window_overlaps
from atb.strategies.protocol import ModelBacked


@click.command("backtest")
@click.argument("strategy_name", metavar="STRATEGY")
@click.option("--symbol", required=True, help="Trading pair, e.g. BTCUSDT, or DEMO (synthetic).")
@click.option("--timeframe", required=True, help="Bar length: 1m 5m 15m 1h 4h 1d …")
@click.option("--days", type=int, help="The N days ending at --end (default end: now).")
@click.option("--start", help="Window start (ISO date/time, UTC).")
@click.option("--end", help="Window end, exclusive (ISO date/time, UTC; default now).")
@click.option(
    "--data",
    "data_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read candles from this CSV/Parquet file instead of the cache.",
)
@click.option("--exchange-url", help="Binance-compatible REST base URL for missing data.")
@strategy_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (default: a new folder under ./results/).",
)
@click.option("--close-at-end", is_flag=True, help="Close a position still open at the end.")
@click.option(
    "--allow-overlap", is_flag=True, help="Run even if the window overlaps model training."
)
@click.option(
    "--detail-timeframe",
    help="Resolve stops and targets on finer candles inside each bar, e.g. 1m "
    "(same as --set fills.detail_timeframe=1m).",
)
@click.option(
    "--detail-data",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File with the finer candles (default: the cache, DEMO or the exchange).",
)
def backtest(
    strategy_name: str,
    symbol: str,
    timeframe: str,
    days: int | None,
    start: str | None,
    end: str | None,
    data_file: Path | None,
    exchange_url: str | None,
    params: tuple[str, ...],
    assignments: tuple[str, ...],
    config_file: Path | None,
    initial_balance: float,
    model_dir: Path | None,
    out_dir: Path | None,
    close_at_end: bool,
    allow_overlap: bool,
    detail_timeframe: str | None,
    detail_data: Path | None,
) -> None:
    """Backtest STRATEGY on SYMBOL/TIMEFRAME candles.

    \b
    Examples:
      atb backtest sma_cross --symbol DEMO --timeframe 1h --days 90
      atb backtest ml_basic --symbol BTCUSDT --timeframe 1h --days 30 --end 2025-01-20 \\
          --data BTCUSDT_1h.csv
    """
    if days is not None and start is not None:
        raise click.UsageError("use either --days or --start, not both")
    symbol = normalize_symbol(symbol)
    if detail_timeframe is not None:
        assignments = (*assignments, f"fills.detail_timeframe={detail_timeframe}")
    config = build_config(config_file, assignments)
    strategy = build_strategy(
        strategy_name, params, symbol=symbol, timeframe=timeframe, model_dir=model_dir
    )
    candles = load_candles(
        symbol,
        timeframe,
        start,
        end,
        days=days,
        warmup=strategy.warmup,
        data_file=data_file,
        exchange_url=exchange_url,
    )
    if len(candles) - candles.warmup_bars <= 0:
        raise DataError(f"no bars in the requested window ({candles.describe()})")
    window_start = candles.index[candles.warmup_bars].to_pydatetime()
    window_end = candles.index[-1].to_pydatetime()
    if isinstance(strategy, ModelBacked):
        artifact = strategy.model_artifact
        if training_window_overlaps(artifact, window_start, window_end) and not allow_overlap:
            raise StrategyError(
                f"the backtest window {window_start:%Y-%m-%d} → {window_end:%Y-%m-%d} overlaps "
                f"model {artifact.artifact_id}'s training window "
                f"{artifact.training_start:%Y-%m-%d} → {artifact.training_end:%Y-%m-%d}; "
                "pick a later window or pass --allow-overlap"
            )
    detail = None
    if config.fills.detail_timeframe is not None:
        detail = load_candles(
            symbol,
            config.fills.detail_timeframe,
            window_start,
            candles.index[-1] + parse_timeframe(timeframe).pandas_offset,
            data_file=detail_data,
            exchange_url=exchange_url,
        )
    console = Console()
    request = BacktestRequest(
        strategy=strategy,
        candles=candles,
        config=config,
        symbol=symbol,
        initial_balance=initial_balance,
        close_at_end=close_at_end,
        overlap_allowed=allow_overlap,
        detail=detail,
    )
    bars = len(candles) - candles.warmup_bars
    with show_progress(f"backtest {strategy.name} {symbol} {timeframe}", total=bars) as progress:
        result = run_backtest(request, progress=progress.update)
        progress.stage("writing the report", total=None)
        folder = out_dir or _default_folder(strategy.name, symbol, timeframe)
        files = write_result_files(result, folder)
    print_summary(result, files, console)


def _default_folder(strategy: str, symbol: str, timeframe: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{strategy}_{symbol}_{timeframe}_{stamp}"
