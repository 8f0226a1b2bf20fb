"""`atb check-strategy --symbols` and `atb train --symbols`: the strategy commands over a
portfolio's symbols, each on its own candles (a folder with a file per symbol, one file per
symbol, or the cache — the same sources as `atb backtest --symbols`).

`check-strategy` runs the bias check on every symbol and exits 1 if any fails; `train` fits one
model per symbol (a portfolio's `ml_basic` instances each load their own symbol's model).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
import click
from rich.console import Console
from rich.table import Table

from atb.cli.candle_report import echo_candles_report
from atb.cli.output_folder import OutputError
from atb.cli.progress import show_progress
from atb.data.candles import ValidatedCandles
from atb.data.portfolio import load_portfolio
from atb.domain.errors import StrategyError
from atb.strategies import StrategyContext, check_strategy, train
from atb.strategies.bias_check import BiasReport
from atb.strategies.protocol import Strategy

__all__ = ["PortfolioData", "check_portfolio_strategy", "load_symbols", "train_portfolio"]


@attrs.frozen(kw_only=True)
class PortfolioData:
    """Where the symbols' candles come from and which window."""

    symbols: tuple[str, ...]
    timeframe: str
    data: tuple[Path, ...]
    start: str | None
    end: str | None
    days: int | None
    drop_outliers: bool


def load_symbols(request: PortfolioData) -> Mapping[str, ValidatedCandles]:
    """Each symbol's candles in the window, in symbol order (reported like a backtest's)."""
    portfolio = load_portfolio(
        request.symbols,
        request.timeframe,
        data=[path.absolute() for path in request.data],
        start=request.start,
        end=request.end,
        days=request.days,
        drop_outliers=request.drop_outliers,
        allow_network=not request.data,
    )
    for symbol in portfolio.symbols:
        candles = portfolio.candles[symbol]
        if len(candles) == 0:
            raise StrategyError(f"{symbol}: no candles in the requested window")
        click.echo(f"data {symbol}: {candles.describe()}")
        echo_candles_report(candles)
    return portfolio.candles


def check_portfolio_strategy(
    request: PortfolioData,
    create: Callable[[StrategyContext], Strategy],
    *,
    name: str,
    model_dir: Path | None,
    samples: int,
    tolerances: tuple[float, float],
) -> bool:
    """Bias-check the strategy on every symbol; prints a table; True when all pass."""
    candles = load_symbols(request)
    reports: dict[str, tuple[BiasReport, float]] = {}
    for symbol, series in candles.items():
        context = StrategyContext(symbol, request.timeframe, model_dir)
        create(context)  # fail fast on parameters or a missing model
        started = time.perf_counter()

        def fresh(context: StrategyContext = context) -> Strategy:
            return create(context)

        with show_progress(f"checking {name} on {symbol}", unit=None):
            report = check_strategy(
                fresh,
                series.frame,
                samples=samples,
                rtol=tolerances[0],
                atol=tolerances[1],
            )
        reports[symbol] = (report, time.perf_counter() - started)
    table = Table(title=f"{name}: look-ahead and history-length bias, per symbol")
    for column in ("symbol", "result", "what was checked"):
        table.add_column(column, overflow="fold")
    for symbol, (report, elapsed) in reports.items():
        verdict = "PASS" if report.passed else "FAIL"
        table.add_row(symbol, verdict, f"{report.summary()} ({elapsed:.1f}s)")
    Console(highlight=False).print(table)
    failed = [symbol for symbol, (report, _) in reports.items() if not report.passed]
    for symbol in failed:
        for finding in reports[symbol][0].findings:
            click.echo(f"FAIL {symbol}: {finding.describe()}", err=True)
    return not failed


def train_portfolio(
    request: PortfolioData,
    values: Mapping[str, object],
    *,
    seed: int,
    folder: Path,
    what: str,
) -> None:
    """Train one ml_basic model per symbol and print each one's held-out metrics."""
    candles = load_symbols(request)
    table = Table(title=f"ml_basic {request.timeframe}: held-out metrics per symbol")
    for column in ("symbol", "bars", "direction", "always up", "r2 vs 0", "training window", "id"):
        table.add_column(column, overflow="fold")
    for symbol, series in candles.items():
        title = f"training ml_basic {symbol} {request.timeframe} on {len(series):,} bars"
        with show_progress(title, unit=None):
            try:
                artifact, metrics = train(
                    series.frame, symbol, request.timeframe, dict(values), seed=seed,
                    model_dir=folder,
                )  # fmt: skip
            except OSError as error:
                raise OutputError(
                    f"{what}: cannot save the model: {error.strerror or error}"
                ) from error
        table.add_row(
            symbol,
            f"{len(series):,}",
            f"{metrics.directional_accuracy:.2%}",
            f"{metrics.baseline_up_accuracy:.2%}",
            f"{metrics.r2_vs_zero:.4f}",
            f"{artifact.training_start:%Y-%m-%d %H:%M} → {artifact.training_end:%Y-%m-%d %H:%M}",
            artifact.artifact_id,
        )
    Console(highlight=False).print(table)
    click.echo(
        f"models saved in {folder}, one per symbol; backtests overlapping a symbol's training "
        "window are refused"
    )
