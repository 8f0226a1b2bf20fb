"""`atb optimize`: search a strategy's parameters with Optuna, trials run as Ray tasks.

    atb optimize sma_cross --symbol BTCUSDT --timeframe 1h --data BTCUSDT_1h.csv \\
        --param fast=5:50 --param slow=20:200:10 --param stop_loss=0.01:0.05 \\
        --trials 200 --objective sharpe --constraint 'n_trades>=30' --seed 7

The candles are loaded once (with the warm-up the widest parameters need) and put into Ray's
object store; every trial is the backtest `atb backtest --param …` runs. The study is kept in
SQLite under the user data dir (`--storage URL` for another database), named after what it
searches, so the same command run again resumes it. The output folder holds `study.json`,
`trials.csv`, `report.html` and the best trial's backtest (`best/`, which `atb backtest --rerun`
repeats).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click
from rich.console import Console

from atb.cli.candle_report import drop_outliers_option, echo_candles_report
from atb.cli.option_types import (
    DATETIME,
    EXCHANGE_URL,
    POSITIVE_DAYS,
    TIMEFRAME,
    file_path,
    folder_path,
)
from atb.cli.output_folder import (
    EQUITY_FORMAT_OPTION,
    check_output_folder,
    check_writable_folder,
)
from atb.cli.progress import ProgressReport, show_progress
from atb.cli.run_options import (
    build_config,
    instrument_options,
    resolve_run_instrument,
)
from atb.cli.walk_forward_run import (
    candles_window,
    fold_progress,
    model_root,
    print_walk_forward_summary,
    refuse_fixed_model,
    walk_forward_settings,
)
from atb.config import config_to_dict
from atb.data.cache import default_data_dir
from atb.data.candles import ValidatedCandles
from atb.data.loading import load_candles
from atb.data.symbols import normalize_symbol
from atb.domain.errors import DataError, StrategyError
from atb.managers.lookback import history_bars
from atb.reporting.result_files import EquityFormat
from atb.research.objective import parse_constraint, parse_objective
from atb.research.space import FloatRange, IntRange, SearchSpace, parse_space
from atb.strategies.parameters import ParamValue
from atb.strategies.registry import StrategyContext, get_entry

if TYPE_CHECKING:
    from atb.research.search import Progress, StudyTrial
    from atb.research.study_files import StudyReport
    from atb.research.walk_forward import WalkForward

__all__ = ["optimize"]

SAMPLERS = ("tpe", "random", "grid")
"""`--sampler` values (`atb.research.search.SamplerKind`; named here so that `atb --help` does not
import Optuna)."""


@click.command("optimize")
@click.argument("strategy_name", metavar="STRATEGY")
@click.option("--symbol", required=True, help="Trading pair, e.g. BTCUSDT, or DEMO (synthetic).")
@click.option("--timeframe", type=TIMEFRAME, required=True, help="Bar length: 1m 5m 1h 4h 1d …")
@click.option("--days", type=POSITIVE_DAYS, help="The N days ending at --end (default end: now).")
@click.option("--start", type=DATETIME, help="Window start (ISO date/time, UTC).")
@click.option("--end", type=DATETIME, help="Window end, exclusive (ISO date/time, UTC).")
@click.option("--data", "data_file", type=file_path(), help="Read candles from this file.")
@click.option(
    "--exchange-url", type=EXCHANGE_URL, help="Binance-compatible REST base URL for missing data."
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=RANGE",
    help="A searched parameter (fast=5:50, slow=20:200:10, stop_loss=0.005:0.1:log, "
    "allow_short=true,false) or a fixed one (fast=10); repeatable.",
)
@click.option("--trials", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--objective",
    default="sharpe",
    show_default=True,
    help="A metric (max: or min: prefix for the direction) or an expression of metrics, e.g. "
    "'total_return / max_drawdown'.",
)
@click.option(
    "--constraint",
    "constraint_texts",
    multiple=True,
    help="A condition every counted trial meets, e.g. 'n_trades>=30' (repeatable).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--sampler",
    type=click.Choice(SAMPLERS),
    default="tpe",
    show_default=True,
    help="How trials are proposed.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Trials run at once (default: the CPUs of this machine).",
)
@click.option(
    "--ray-address",
    help="Run the trials on an existing Ray cluster (e.g. 127.0.0.1:6379) instead of a local "
    "instance.",
)
@click.option("--storage", help="Optuna storage URL (default: SQLite under the user data dir).")
@click.option("--study", "study_name", help="Study name (default: derived from the search).")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Config override (repeatable), e.g. --set costs.slippage=0.",
)
@click.option("--config", "config_file", type=file_path(), help="TOML file of config overrides.")
@click.option("--initial-balance", type=click.FloatRange(min=0, min_open=True), default=10_000.0)
@click.option("--model-dir", type=folder_path(), help="Where trained models live.")
@instrument_options
@click.option("--out", "out_dir", type=folder_path(), help="Output folder (must not exist yet).")
@click.option("--force", is_flag=True, help="Replace an existing --out folder of an earlier run.")
@EQUITY_FORMAT_OPTION
@click.option(
    "--allow-overlap", is_flag=True, help="Run even if the window overlaps model training."
)
@click.option(
    "--walk-forward",
    "walk_forward",
    type=click.IntRange(min=1),
    metavar="FOLDS",
    help="Validate out of sample: search each of FOLDS train windows, trade the best "
    "parameters on the test window after it, stitch the test windows.",
)
@click.option("--train", "train_days", type=POSITIVE_DAYS, help="Days of each train window.")
@click.option("--test", "test_days", type=POSITIVE_DAYS, help="Days of each test window.")
@click.option("--anchored", is_flag=True, help="Train windows all start at the first one's start.")
@drop_outliers_option
def optimize(
    strategy_name: str,
    symbol: str,
    timeframe: str,
    days: int | None,
    start: str | None,
    end: str | None,
    data_file: Path | None,
    exchange_url: str | None,
    params: tuple[str, ...],
    trials: int,
    objective: str,
    constraint_texts: tuple[str, ...],
    seed: int,
    sampler: str,
    workers: int | None,
    ray_address: str | None,
    storage: str | None,
    study_name: str | None,
    assignments: tuple[str, ...],
    config_file: Path | None,
    initial_balance: float,
    model_dir: Path | None,
    tick_size: float | None,
    lot_step: float | None,
    min_notional: float | None,
    instruments_file: Path | None,
    out_dir: Path | None,
    force: bool,
    equity_format: str,
    allow_overlap: bool,
    walk_forward: int | None,
    train_days: int | None,
    test_days: int | None,
    anchored: bool,
    drop_outliers: bool,
) -> None:
    """Search STRATEGY's parameters for the best objective; trials run on Ray.

    With --walk-forward, search each fold's train window and trade its best parameters on the
    test window after it (a strategy with a model is retrained on every train window)."""
    # The search's libraries load with the command, not with every `atb` invocation.
    from atb.research.runners import RayRunner, available_cpus
    from atb.research.search import SamplerKind, SearchSettings, run_search, study_importance
    from atb.research.selection_bias import assess_selection_bias
    from atb.research.study_files import StudyReport, write_study_files
    from atb.research.trials import TrialInputs
    from atb.research.walk_forward import plan_folds, run_walk_forward
    from atb.research.walk_forward_files import WalkForwardReport, write_walk_forward_files

    # Everything a user can get wrong is checked before Ray starts or anything is written.
    walk = walk_forward_settings(walk_forward, train_days, test_days, anchored)
    entry = get_entry(strategy_name)
    space = parse_space(strategy_name, entry.parameters, params)
    if walk is not None:
        refuse_fixed_model(entry, space)
    goal = parse_objective(objective)
    constraints = tuple(parse_constraint(text) for text in constraint_texts)
    kind = SamplerKind(sampler)
    if kind is SamplerKind.GRID:
        space.grid()  # refuses a dimension without a finite set of values
    config = build_config(config_file, assignments)
    symbol = normalize_symbol(symbol)
    folder, overwrite, what = _output(out_dir, force, strategy_name, symbol, timeframe, walk)

    def load(warmup: int) -> ValidatedCandles:
        return load_candles(
            symbol,
            timeframe,
            start,
            end,
            days=days,
            warmup=warmup,
            data_file=None if data_file is None else data_file.absolute(),
            exchange_url=exchange_url,
            drop_outliers=drop_outliers,
        )

    worker_count = workers or available_cpus()
    identity: dict[str, object] = {
        "strategy": strategy_name,
        "symbol": symbol,
        "timeframe": timeframe,
        "params": sorted(params),
        "objective": goal.text,
        "constraints": [constraint.text for constraint in constraints],
        "seed": seed,
        "sampler": kind.value,
        "workers": worker_count,
        "config": config_to_dict(config),
        "initial_balance": initial_balance,
    }
    context = StrategyContext(symbol, timeframe, model_dir)
    fold_models = None
    with contextlib.ExitStack() as stack:
        if walk is not None:
            identity["walk_forward"] = attrs.asdict(walk)
            # Named after the window's candles (their warm-up is only known once the strategy can
            # be built, which for a strategy with a model needs fold 1's model).
            window = load(0)
            identity["window"] = window.fingerprint()
            study_name = study_name or _study_name(identity)
            fold_models = model_root(model_dir, study_name)
            if entry.trainer is not None:
                check_writable_folder(fold_models, what=f"the fold models' folder {fold_models}")
            planned = plan_folds(walk, *candles_window(window))
            if entry.trainer is not None:
                # Building the strategy (for its warm-up) needs a model: fold 1's, fitted here in a
                # scratch folder (nothing is kept before every check has passed); the walk-forward
                # fits it again, to the same bytes, in the fold's own folder.
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="atb-warmup-"))
                training = window.select(planned[0].train_start, planned[0].train_end)
                entry.trainer(training.frame, symbol, timeframe, Path(scratch), seed)
                context = StrategyContext(symbol, timeframe, Path(scratch))
        needed = _widest_warmup(space, lambda values: entry.create(values, context).warmup)
    warmup = history_bars(needed, config)
    candles = load(warmup)
    echo_candles_report(candles)
    if len(candles) - candles.warmup_bars <= 0:
        raise DataError(f"no bars in the requested window ({candles.describe()})")
    if len(candles) < needed:
        raise DataError(
            f"{candles.describe()}: {strategy_name} needs {needed} bars of history before its "
            f"first decision with the widest parameters searched, and the candles hold only "
            f"{len(candles)} (warm-up included); widen the window (--start, --days)"
        )
    instrument = resolve_run_instrument(
        symbol,
        candles.frame,
        tick_size=tick_size,
        lot_step=lot_step,
        min_notional=min_notional,
        instruments_file=instruments_file,
    )
    inputs = TrialInputs(
        strategy=strategy_name,
        fixed=dict(space.fixed),
        config=config,
        candles=candles,
        symbol=symbol,
        timeframe=timeframe,
        instrument=instrument,
        initial_balance=initial_balance,
        model_dir=model_dir,
        data_file=None if data_file is None else data_file.absolute(),
        drop_outliers=drop_outliers,
        overlap_allowed=allow_overlap,
    )
    folds = None if walk is None else plan_folds(walk, *candles_window(candles))
    identity["candles"] = candles.fingerprint()
    # Ray first: an address nothing answers at is refused before the study is created.
    runner = RayRunner(inputs, workers=worker_count, address=ray_address)
    started = time.monotonic()
    title = f"optimize {strategy_name} {symbol} {timeframe}"
    try:
        settings = SearchSettings(
            trials=trials,
            seed=seed,
            sampler=kind,
            study_name=_study_name(identity) if study_name is None else study_name,
            storage=storage or _default_storage(),
            identity=identity,
        )
        if walk is not None and folds is not None:
            title = f"walk-forward {strategy_name} {symbol} {timeframe}"
            with show_progress(title, total=walk.folds * trials, unit="trials") as progress:
                result = run_walk_forward(
                    folds,
                    walk,
                    template=inputs,
                    space=space,
                    objective=goal,
                    constraints=constraints,
                    search=settings,
                    runner=runner,
                    warmup=warmup,
                    trainer=entry.trainer,
                    model_root=fold_models,
                    progress=fold_progress(progress, title, walk.folds, trials, started),
                )
                progress.stage("writing the walk-forward", total=None)
                walk_report = WalkForwardReport(
                    result=result,
                    space=space,
                    objective=goal,
                    constraints=constraints,
                    workers=worker_count,
                    seconds=time.monotonic() - started,
                    ray_address=ray_address,
                )
                written = write_walk_forward_files(
                    walk_report,
                    folder,
                    overwrite=overwrite,
                    what=what,
                    equity_format=EquityFormat(equity_format),
                )
            print_walk_forward_summary(walk_report, written, Console())
            return
        with show_progress(title, total=trials, unit="trials") as progress:
            records = run_search(
                space,
                goal,
                constraints=constraints,
                settings=settings,
                runner=runner,
                progress=_reporter(progress, title, goal.text, started),
            )
            progress.stage("deflated Sharpe ratio and PBO: every trial's returns", total=None)
            bias = assess_selection_bias(records, goal, runner)
            progress.stage("writing the study", total=None)
            report = StudyReport(
                settings=settings,
                space=space,
                objective=goal,
                constraints=constraints,
                trials=tuple(records),
                inputs=inputs,
                seconds=time.monotonic() - started,
                workers=worker_count,
                ray_address=ray_address,
                importance=study_importance(settings),
                selection_bias=bias,
            )
            files = write_study_files(
                report,
                folder,
                overwrite=overwrite,
                what=what,
                equity_format=EquityFormat(equity_format),
            )
    finally:
        runner.close()
    _print_summary(report, files.directory, Console())


def _widest_warmup(space: SearchSpace, warmup_of: Callable[[dict[str, ParamValue]], int]) -> int:
    """The history (bars) the widest parameters need: the largest warm-up over the defaults,
    every range's low and high end alone, and all low or all high ends together (combinations
    the strategy refuses, such as fast ≥ slow, are skipped); every choice is tried alone."""
    trials: list[dict[str, ParamValue]] = [{}]
    low: dict[str, ParamValue] = {}
    high: dict[str, ParamValue] = {}
    for dimension in space.dimensions:
        ends: tuple[ParamValue, ...]
        if isinstance(dimension, IntRange | FloatRange):
            ends = (dimension.low, dimension.high)
            low[dimension.name], high[dimension.name] = ends
        else:
            ends = dimension.values
        trials.extend({dimension.name: value} for value in ends)
    trials.extend([low, high])
    found = 0
    for values in trials:
        try:
            found = max(found, warmup_of({**space.fixed, **values}))
        except StrategyError:
            continue
    return found


def _reporter(progress: ProgressReport, title: str, objective: str, started: float) -> Progress:
    def report(done: int, total: int, best: StudyTrial | None) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        shown = "-" if best is None or best.value is None else f"{best.value:.4g}"
        progress.describe(f"{title} · best {objective} {shown} · {rate:.1f} trials/s")
        progress.update(done, total)

    return report


def _study_name(identity: dict[str, object]) -> str:
    """Named after what it searches (the same command resumes it; another starts anew)."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    prefix = "wf-" if "walk_forward" in identity else ""
    return (
        f"{prefix}{identity['strategy']}-{identity['symbol']}-{identity['timeframe']}-{digest[:10]}"
    )


def _default_storage() -> str:
    folder = default_data_dir() / "optimize"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'studies.sqlite3'}"


def _output(
    out_dir: Path | None,
    force: bool,
    strategy: str,
    symbol: str,
    timeframe: str,
    walk: WalkForward | None,
) -> tuple[Path, bool, str]:
    from atb.research import study_files, walk_forward_files

    entries = study_files.ENTRIES if walk is None else walk_forward_files.ENTRIES
    if out_dir is not None:
        what = f"--out {out_dir}"
        return out_dir, check_output_folder(out_dir, force=force, what=what, entries=entries), what
    if force:
        raise click.UsageError("--force needs --out (a default output folder is always new)")
    what = "the output folder under ./results"
    check_writable_folder(Path("results"), what=what)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = "optimize" if walk is None else "walkforward"
    return Path("results") / f"{kind}_{strategy}_{symbol}_{timeframe}_{stamp}", False, what


def _print_summary(report: StudyReport, folder: Path, console: Console) -> None:
    from atb.research.search import best_trial

    best = best_trial(report.trials, report.objective)
    console.print(
        f"{len(report.trials)} trials of {report.settings.study_name} in "
        f"{report.seconds:.1f} s on {report.workers} worker(s)"
    )
    if best is None:
        console.print("no feasible trial: every trial failed or broke a constraint")
    else:
        values = ", ".join(f"{name}={value}" for name, value in best.params.items())
        console.print(
            f"best {report.objective.text} {best.value:.6g} (trial {best.slot}): {values}"
        )
    bias = report.selection_bias
    if bias is not None and bias.deflated_sharpe is not None and bias.pbo is not None:
        console.print(
            f"deflated Sharpe ratio {bias.deflated_sharpe.value:.3f} (given "
            f"{bias.deflated_sharpe.trials} trials), probability of backtest overfitting "
            f"{bias.pbo.pbo:.3f}"
        )
    elif bias is not None:
        for note in bias.notes:
            console.print(note)
    console.print(f"Files: {folder} (study.json, trials.csv, report.html, best/)")
