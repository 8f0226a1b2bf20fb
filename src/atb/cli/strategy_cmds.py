"""`atb strategies`, `atb check-strategy` and `atb train`: thin layers over `atb.strategies`.

Candles come from `atb.data.load_candles` (a file with `--data`, the synthetic `DEMO` market,
or the local cache/exchange). User errors raise `AtbError` subclasses, which `atb.cli.main`
turns into a one-line message and exit code 2; a failed bias check exits with code 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from atb.cli.candle_report import drop_outliers_option, echo_candles_report
from atb.cli.option_types import DATETIME, POSITIVE_DAYS, TIMEFRAME, BoundedPath, folder_path
from atb.cli.output_folder import OutputError, check_writable_folder
from atb.cli.portfolio_strategy_cmds import (
    PortfolioData,
    check_portfolio_strategy,
    train_portfolio,
)
from atb.cli.progress import show_progress
from atb.cli.symbols_option import parse_symbols
from atb.data.candles import ValidatedCandles
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.domain.errors import StrategyError
from atb.domain.timeframes import parse_timeframe
from atb.strategies import (
    StrategyContext,
    check_strategy,
    default_model_dir,
    get_entry,
    parse_params,
    train,
)
from atb.strategies.ml_model import TRAIN_PARAMETERS


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


_F = TypeVar("_F", bound=Callable[..., Any])


def _data_options(default_symbol: str | None) -> Callable[[_F], _F]:
    """The shared candle-selection options (same names as `atb backtest`)."""
    options = [
        click.option(
            "--symbol",
            default=default_symbol,
            show_default=default_symbol is not None,
            help="Symbol (DEMO = the built-in synthetic market).",
        ),
        click.option(
            "--symbols",
            "symbols_text",
            help="Several symbols of one quote currency, e.g. ETHBTC,LTCBTC (each on its own "
            "candles).",
        ),
        click.option(
            "--timeframe", type=TIMEFRAME, default="1h", show_default=True, help="Bar timeframe."
        ),
        click.option(
            "--data",
            "data_paths",
            type=BoundedPath(),
            multiple=True,
            help="Read candles from this CSV/Parquet file instead of the cache (with --symbols: "
            "a folder with a file per symbol, or one file per symbol).",
        ),
        click.option("--start", type=DATETIME, help="First bar time (UTC, inclusive)."),
        click.option("--end", type=DATETIME, help="End time (UTC, exclusive)."),
        click.option("--days", type=POSITIVE_DAYS, help="The N days ending at --end."),
        click.option(
            "--model-dir",
            type=folder_path(),
            help="Model directory (default: $ATB_MODEL_DIR or the user data dir).",
        ),
        drop_outliers_option,
    ]

    def attach(function: _F) -> _F:
        for option in reversed(options):
            function = option(function)
        return function

    return attach


def _load(
    symbol: str | None,
    *,
    timeframe: str,
    data_file: Path | None,
    start: str | None,
    end: str | None,
    days: int | None,
    drop_outliers: bool,
) -> tuple[ValidatedCandles, str | None, str]:
    """Candles plus the normalised symbol (None when only a file was given) and timeframe."""
    tf = str(parse_timeframe(timeframe))
    name = normalize_symbol(symbol) if symbol else None
    candles = load_candles(
        name or "FILE", tf, start, end, days=days, data_file=data_file, drop_outliers=drop_outliers
    )
    if len(candles) == 0:
        raise StrategyError(f"no candles in the requested window ({candles.describe()})")
    return candles, name, tf


def _one_file(data_paths: tuple[Path, ...]) -> Path | None:
    """The one `--data` file of a single-symbol command."""
    if len(data_paths) > 1 or any(path.is_dir() for path in data_paths):
        raise click.UsageError("--data: one file for one symbol (a folder goes with --symbols)")
    return data_paths[0] if data_paths else None


def _portfolio_data(
    symbols_text: str,
    timeframe: str,
    data_paths: tuple[Path, ...],
    start: str | None,
    end: str | None,
    days: int | None,
    drop_outliers: bool,
) -> PortfolioData:
    """The `--symbols` form of the candle options (its own symbols only: no --symbol)."""
    context = click.get_current_context()
    if context.get_parameter_source("symbol") is ParameterSource.COMMANDLINE:
        raise click.UsageError("use either --symbol or --symbols, not both")
    return PortfolioData(
        symbols=parse_symbols(symbols_text),
        timeframe=str(parse_timeframe(timeframe)),
        data=data_paths,
        start=start,
        end=end,
        days=days,
        drop_outliers=drop_outliers,
    )


@click.command("check-strategy")
@_data_options(default_symbol="DEMO")
@click.argument("name")
@click.option("--param", "params", multiple=True, help="Strategy parameter name=value.")
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Evenly spaced bars whose prefix and warm-up window are re-prepared.",
)
@click.option("--exact", is_flag=True, help="Demand bit-identical features (rtol = atol = 0).")
def check_strategy_command(
    *,
    name: str,
    params: tuple[str, ...],
    samples: int,
    exact: bool,
    symbol: str | None,
    symbols_text: str | None,
    timeframe: str,
    data_paths: tuple[Path, ...],
    start: str | None,
    end: str | None,
    days: int | None,
    model_dir: Path | None,
    drop_outliers: bool,
) -> None:
    """Prove a strategy has no look-ahead or history-length bias (exit 1 if it has).

    Features, signal mask and decisions at sampled bars must be the same computed on the full
    frame, on the frame ending at that bar, and on only `warmup` bars ending at it; decide()
    must return HOLD wherever signal_mask() is False.
    """  # fmt: skip
    entry = get_entry(name)
    values = parse_params(params, entry.parameters)
    rtol, atol = (0.0, 0.0) if exact else (1e-9, 1e-12)
    if symbols_text is not None:
        passed = check_portfolio_strategy(
            _portfolio_data(symbols_text, timeframe, data_paths, start, end, days, drop_outliers),
            lambda context: entry.create(values, context),
            name=name,
            model_dir=model_dir,
            samples=samples,
            tolerances=(rtol, atol),
        )
        if not passed:
            raise SystemExit(1)
        return
    candles, symbol_name, tf = _load(
        symbol,
        timeframe=timeframe,
        data_file=_one_file(data_paths),
        start=start,
        end=end,
        days=days,
        drop_outliers=drop_outliers,
    )
    context = StrategyContext(symbol_name, tf, model_dir)
    entry.create(values, context)  # fail fast on parameters or a missing model
    started = time.perf_counter()
    with show_progress(f"checking {name} for look-ahead and history bias", unit=None):
        report = check_strategy(
            lambda: entry.create(values, context),
            candles.frame,
            samples=samples,
            rtol=rtol,
            atol=atol,
        )
    elapsed = time.perf_counter() - started
    click.echo(f"data: {candles.describe()}")
    echo_candles_report(candles)
    if not report.passed:
        click.echo(f"FAIL {report.summary()}", err=True)
        for finding in report.findings[1:]:
            click.echo(f"  also: {finding.describe()}", err=True)
        raise SystemExit(1)
    click.echo(f"PASS {report.summary()} ({elapsed:.1f}s)")


@click.command("train")
@_data_options(default_symbol=None)
@click.argument("name")
@click.option("--param", "params", multiple=True, help="Training parameter name=value.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def train_command(
    *,
    name: str,
    params: tuple[str, ...],
    seed: int,
    symbol: str | None,
    symbols_text: str | None,
    timeframe: str,
    data_paths: tuple[Path, ...],
    start: str | None,
    end: str | None,
    days: int | None,
    model_dir: Path | None,
    drop_outliers: bool,
) -> None:
    """Train a model strategy (ml_basic) and save its artifact.

    Fits on the window's head, evaluates on its held-out tail and prints the metrics. The
    whole window is recorded as the training window: backtests overlapping it are refused.
    """
    if name != "ml_basic":
        raise StrategyError(f"only ml_basic can be trained, got {name!r}")
    if not symbol and not symbols_text:
        raise StrategyError(
            "atb train needs --symbol (the model is saved per symbol/timeframe) or --symbols"
        )
    values = parse_params(params, TRAIN_PARAMETERS)
    folder = model_dir or default_model_dir()
    what = f"--model-dir {model_dir}" if model_dir else f"the model folder {folder}"
    # Checked before the (possibly long) fit, which would otherwise be lost at the end.
    check_writable_folder(folder, what=what)
    if symbols_text is not None:
        request = _portfolio_data(
            symbols_text, timeframe, data_paths, start, end, days, drop_outliers
        )
        train_portfolio(request, values, seed=seed, folder=folder, what=what)
        return
    candles, symbol_name, tf = _load(
        symbol,
        timeframe=timeframe,
        data_file=_one_file(data_paths),
        start=start,
        end=end,
        days=days,
        drop_outliers=drop_outliers,
    )
    assert symbol_name is not None
    # The start line: what is being trained on, before the (possibly long) fit.
    click.echo(f"data: {candles.describe()}")
    echo_candles_report(candles)
    started = time.perf_counter()
    with show_progress(f"training ml_basic {symbol_name} {tf} on {len(candles):,} bars", unit=None):
        try:
            artifact, metrics = train(
                candles.frame, symbol_name, tf, values, seed=seed, model_dir=folder
            )
        except OSError as error:
            raise OutputError(
                f"{what}: cannot save the model: {error.strerror or error}"
            ) from error
    elapsed = time.perf_counter() - started
    table = Table(title=f"ml_basic {symbol_name} {tf}: held-out metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.as_dict().items():
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    _console().print(table)
    beats = metrics.directional_accuracy > metrics.baseline_up_accuracy
    click.echo(
        f"directional accuracy {metrics.directional_accuracy:.2%} vs always-up "
        f"{metrics.baseline_up_accuracy:.2%}: {'beats' if beats else 'does NOT beat'} the baseline"
    )
    mse_note = "beats" if metrics.mse < metrics.baseline_zero_mse else "does NOT beat"
    click.echo(
        f"mean squared error {mse_note} the zero-return baseline (r2 {metrics.r2_vs_zero:.4f})"
    )
    click.echo(
        f"training window {artifact.training_start.isoformat()} → "
        f"{artifact.training_end.isoformat()} (backtests overlapping it are refused)"
    )
    click.echo(f"artifact: {artifact.path} (id {artifact.artifact_id}, {elapsed:.2f}s)")
