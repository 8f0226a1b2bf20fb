"""`atb backtest STRATEGY --symbols A,B,C`: one account trading several symbols.

The candles come from `--data` (one folder holding a file per symbol, or one file per symbol) or
from the candle cache; each symbol gets its own strategy instance and its own market rules (from
`--instruments`, the exchange's cached metadata, or inferred from its data with a warning). The
run writes the same four files as a single-symbol backtest, in the portfolio's layout
(docs/results-portfolio.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from atb.cli.candle_report import echo_candles_report
from atb.cli.output_folder import RunOutput, write_results
from atb.cli.progress import show_progress
from atb.cli.run_options import build_strategies, refuse_short_history
from atb.data.portfolio import PortfolioCandles, load_portfolio
from atb.domain.errors import DataError
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from atb.managers.lookback import history_bars
from atb.managers.run_config import RunConfiguration
from atb.reporting.portfolio_summary import print_portfolio_summary

__all__ = ["execute_portfolio_backtest", "run_portfolio_backtest_command"]


def run_portfolio_backtest_command(
    *,
    strategy_name: str,
    symbols: Sequence[str],
    timeframe: str,
    params: Sequence[str],
    config: RunConfiguration,
    data: Sequence[Path],
    start: str | None,
    end: str | None,
    days: int | None,
    exchange_url: str | None,
    instruments_file: Path | None,
    model_dir: Path | None,
    initial_balance: float,
    close_at_end: bool,
    allow_overlap: bool,
    drop_outliers: bool,
    output: RunOutput,
) -> None:
    """Load, run, write and summarise one portfolio backtest (options already checked)."""
    strategies = build_strategies(
        strategy_name,
        params,
        symbols=symbols,
        timeframe=timeframe,
        model_dir=model_dir,
    )
    warmup = max(history_bars(strategy.warmup, config) for strategy in strategies.values())
    portfolio = load_portfolio(
        symbols,
        timeframe,
        data=[path.absolute() for path in data],
        start=start,
        end=end,
        days=days,
        warmup=warmup,
        instruments_file=instruments_file,
        drop_outliers=drop_outliers,
        exchange_url=exchange_url,
        allow_network=not data,
    )
    for symbol in portfolio.symbols:
        candles = portfolio.candles[symbol]
        echo_candles_report(candles)
        if len(candles) - candles.warmup_bars <= 0:
            raise DataError(f"{symbol}: no bars in the requested window ({candles.describe()})")
        refuse_short_history(candles, strategies[symbol])
    for warning in portfolio.warnings:
        click.echo(f"warning: {warning}", err=True)
    request = PortfolioRequest(
        strategies=strategies,
        candles=portfolio,
        config=config,
        initial_balance=initial_balance,
        close_at_end=close_at_end,
        overlap_allowed=allow_overlap,
        drop_outliers=drop_outliers,
    )
    execute_portfolio_backtest(request, output)


def execute_portfolio_backtest(request: PortfolioRequest, output: RunOutput) -> None:
    """Run a checked request with a progress display, write its files (to the output folder,
    or a new one under results/) and print its summary."""
    portfolio = request.candles
    strategy_name = request.strategies[portfolio.symbols[0]].name
    console = Console()
    timeframe = str(portfolio.candles[portfolio.symbols[0]].timeframe)
    title = f"backtest {strategy_name} {len(portfolio.symbols)} symbols {timeframe}"
    with show_progress(title, total=len(portfolio.times), unit="bar times") as progress:
        result = run_portfolio_backtest(request, progress=progress.update)
        progress.stage("writing the report", total=None)
        target = output.folder or _default_folder(strategy_name, portfolio, timeframe)
        files = write_results(result, target, output)
    print_portfolio_summary(result, files, console)


def _default_folder(strategy: str, portfolio: PortfolioCandles, timeframe: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    count = len(portfolio.symbols)
    name = f"{strategy}_{count}-symbols_{portfolio.quote_asset}_{timeframe}_{stamp}"
    return Path("results") / name
