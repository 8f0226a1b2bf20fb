"""The walk-forward half of `atb optimize` (`--walk-forward FOLDS --train DAYS --test DAYS`).

Heavy modules (Optuna, plotly) are imported by the functions that need them, as in
`atb.cli.optimize_cmd`, so that `atb --help` does not pay for them.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from atb.data.candles import ValidatedCandles
from atb.domain.errors import ConfigError
from atb.research.space import SearchSpace
from atb.strategies.ml_artifact import default_model_dir
from atb.strategies.registry import StrategyEntry

if TYPE_CHECKING:
    from atb.cli.progress import ProgressReport
    from atb.research.walk_forward import FoldProgress, WalkForward
    from atb.research.walk_forward_files import WalkForwardReport

__all__ = [
    "candles_window",
    "fold_progress",
    "model_root",
    "print_walk_forward_summary",
    "walk_forward_settings",
]


def walk_forward_settings(
    folds: int | None, train_days: int | None, test_days: int | None, anchored: bool
) -> WalkForward | None:
    """The walk-forward asked for on the command line, or None; a usage error when its options
    come without `--walk-forward`, or it without `--train` and `--test`."""
    if folds is None:
        given = [
            name
            for name, value in (("--train", train_days), ("--test", test_days))
            if value is not None
        ] + (["--anchored"] if anchored else [])
        if given:
            raise click.UsageError(f"{', '.join(given)}: only with --walk-forward FOLDS")
        return None
    if train_days is None or test_days is None:
        raise click.UsageError("--walk-forward needs --train DAYS and --test DAYS")
    from atb.research.walk_forward import WalkForward

    return WalkForward(folds=folds, train_days=train_days, test_days=test_days, anchored=anchored)


def refuse_fixed_model(entry: StrategyEntry, space: SearchSpace) -> None:
    """A walk-forward trains a model strategy's model per fold: a given model is refused."""
    if entry.trainer is not None and "model" in {*space.fixed, *space.names}:
        raise ConfigError(
            f"--param model: a walk-forward trains {entry.name}'s model on each fold's train "
            "window; leave model unset"
        )


def candles_window(candles: ValidatedCandles) -> tuple[datetime, datetime]:
    """The window the candles cover: first bar after the warm-up → the last bar's close."""
    assert candles.timeframe is not None
    start = candles.index[candles.warmup_bars].to_pydatetime()
    end = candles.index[-1].to_pydatetime() + candles.timeframe.timedelta
    return start, end


def model_root(model_dir: Path | None, study_name: str) -> Path:
    """Where a walk-forward's fold models live (one folder per fold under it); they are also
    copied into the output folder."""
    return (model_dir or default_model_dir()) / "walk-forward" / study_name


def fold_progress(
    progress: ProgressReport, title: str, folds: int, trials: int, started: float
) -> FoldProgress:
    """Report a fold's search on the whole run's bar (trials done over every fold)."""

    def report(number: int, done: int, total: int) -> None:
        overall = (number - 1) * trials + done
        rate = overall / max(time.monotonic() - started, 1e-9)
        progress.describe(f"{title} · fold {number}/{folds} · {rate:.1f} trials/s")
        progress.update(overall, folds * trials)

    return report


def print_walk_forward_summary(report: WalkForwardReport, folder: Path, console: Console) -> None:
    """The fold table, the stitched out-of-sample result and where the files are."""
    result = report.result
    objective = report.objective
    table = Table(title=f"walk-forward: {objective.text} in and out of sample")
    table.add_column("fold", justify="right")
    table.add_column("test window")
    table.add_column("parameters")
    for name in ("in sample", "out of sample", "change"):
        table.add_column(name, justify="right")
    for outcome in result.folds:
        fold = outcome.fold
        table.add_row(
            str(fold.number),
            f"{fold.test_start:%Y-%m-%d} → {fold.test_end:%Y-%m-%d}",
            ", ".join(f"{name}={_short(value)}" for name, value in outcome.best.params.items()),
            f"{outcome.in_sample_value:.4g}",
            "-" if outcome.out_of_sample_value is None else f"{outcome.out_of_sample_value:.4g}",
            "-" if outcome.degradation is None else f"{outcome.degradation:+.4g}",
        )
    console.print(table)
    stitched = result.stitched
    value = objective.value(stitched.metrics.as_dict())
    shown = "-" if value is None else f"{value:.4g}"
    console.print(
        f"out of sample, stitched: {objective.text} {shown}, total return "
        f"{stitched.metrics.total_return:.2%}, {len(stitched.trades)} trades, final equity "
        f"{float(stitched.equity.equity[-1]):,.2f} (identical to the parameter-switching backtest)"
    )
    console.print(
        f"{len(result.folds)} folds × {result.folds[0].settings.trials} trials in "
        f"{report.seconds:.1f} s on {report.workers} worker(s)"
    )
    console.print(
        f"Files: {folder} (walk_forward.json, folds.csv, oos_equity.csv, report.html, folds/)"
    )


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
