"""Walk-forward validation: optimise in sample, trade the choice out of sample, fold after fold.

The window is cut into folds aligned to its end: fold k's *test* (out-of-sample) window is the
k-th of `folds` consecutive windows of `test_days` that end where the window ends; its *train*
(in-sample) window is the `train_days` just before its test window (rolling), or everything
from the first fold's train start (`anchored`). For each fold:

1. a strategy with a model (`StrategyEntry.trainer`, e.g. `ml_basic`) gets a model fitted on
   the fold's train window only, saved in the fold's own folder — it never sees a test bar;
2. the search (`run_search`, its own study per fold) runs on the train window;
3. the best feasible trial's parameters are backtested on the test window, starting with the
   equity the previous fold ended with and closing what is open at its end (ADR 0019).

The stitched out-of-sample equity is then computed a second way, as one backtest that switches
parameters (and models) at the fold boundaries (`atb.engines.backtest.schedule`); both must be
identical bar by bar, or nothing is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import numpy as np

from atb.domain.errors import AtbError, ConfigError, DataError
from atb.domain.timestamps import from_ns
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.backtest.schedule import ScheduleRequest, ScheduleResult, Segment, run_schedule
from atb.research.objective import Constraint, Objective
from atb.research.runners import TrialRunner
from atb.research.search import Progress, SearchSettings, StudyTrial, best_trial, run_search
from atb.research.space import SearchSpace
from atb.research.trials import TrialInputs
from atb.results import BacktestResult
from atb.strategies.ml_artifact import ModelArtifact
from atb.strategies.protocol import Strategy
from atb.strategies.registry import ModelTrainer, StrategyContext, create_strategy

__all__ = [
    "Fold",
    "FoldModel",
    "FoldOutcome",
    "WalkForward",
    "WalkForwardResult",
    "plan_folds",
    "run_walk_forward",
]

FoldProgress = Callable[[int, int, int], None]
"""Called with (fold number, trials done in it, trials wanted in it) as a fold's search runs."""


@attrs.frozen(slots=True, kw_only=True)
class WalkForward:
    """How the window is cut: `folds` test windows of `test_days`, each after `train_days` of
    training (or after everything before it, `anchored`)."""

    folds: int
    train_days: int
    test_days: int
    anchored: bool = False

    @property
    def span(self) -> timedelta:
        """The time the folds need: the first train window and every test window."""
        return timedelta(days=self.train_days + self.folds * self.test_days)


@attrs.frozen(slots=True, kw_only=True)
class Fold:
    """One fold's windows, UTC, each `[start, end)`."""

    number: int
    """1, 2, … in time order."""
    train_start: datetime
    train_end: datetime
    test_start: datetime
    test_end: datetime


@attrs.frozen(slots=True, kw_only=True)
class FoldModel:
    """The model a fold trained on its train window (kept with the fold)."""

    artifact: ModelArtifact
    folder: Path


@attrs.frozen(kw_only=True)
class FoldOutcome:
    """One fold: its search, the parameters chosen, and their out-of-sample backtest."""

    fold: Fold
    settings: SearchSettings
    inputs: TrialInputs
    """What the fold's trials ran on (its train window, its model)."""
    trials: tuple[StudyTrial, ...]
    best: StudyTrial
    model: FoldModel | None
    out_of_sample: BacktestResult
    out_of_sample_value: float | None
    """The objective on the test window (None when undefined there, e.g. no trade)."""
    seconds: float
    """Wall time of the fold (training, search and out-of-sample backtest)."""

    @property
    def in_sample_value(self) -> float:
        """The best trial's objective on the train window."""
        assert self.best.value is not None
        return self.best.value

    @property
    def degradation(self) -> float | None:
        """Out-of-sample minus in-sample objective (negative: worse out of sample, for an
        objective maximised)."""
        if self.out_of_sample_value is None:
            return None
        return self.out_of_sample_value - self.in_sample_value


@attrs.frozen(kw_only=True)
class WalkForwardResult:
    """Every fold and the stitched out-of-sample run."""

    walk: WalkForward
    folds: tuple[FoldOutcome, ...]
    stitched: ScheduleResult
    """One backtest over the test windows, parameters switched at the fold boundaries; equal,
    bar by bar, to the folds' out-of-sample backtests chained by balance."""


class StitchMismatchError(AtbError):
    """The folds' out-of-sample backtests and the parameter-switching backtest disagree (never
    expected: they are the same trades)."""


def plan_folds(walk: WalkForward, start: datetime, end: datetime) -> tuple[Fold, ...]:
    """The folds of `walk`, aligned to `end` (the window's end, exclusive); `ConfigError` when
    the window `[start, end)` is shorter than the folds need."""
    if walk.folds < 1 or walk.train_days < 1 or walk.test_days < 1:
        raise ConfigError("--walk-forward, --train and --test must each be at least 1")
    if end - start < walk.span:
        raise ConfigError(
            f"--walk-forward {walk.folds} --train {walk.train_days} --test {walk.test_days} "
            f"needs {walk.span.days} days of candles, the window holds "
            f"{(end - start) / timedelta(days=1):.1f} ({start:%Y-%m-%d} → {end:%Y-%m-%d}); "
            "widen the window (--start, --days) or ask for fewer or shorter folds"
        )
    test = timedelta(days=walk.test_days)
    first_train = end - walk.span
    folds = []
    for index in range(walk.folds):
        test_start = end - (walk.folds - index) * test
        folds.append(
            Fold(
                number=index + 1,
                train_start=first_train
                if walk.anchored
                else test_start - timedelta(days=walk.train_days),
                train_end=test_start,
                test_start=test_start,
                test_end=test_start + test,
            )
        )
    return tuple(folds)


def run_walk_forward(
    folds: Sequence[Fold],
    walk: WalkForward,
    *,
    template: TrialInputs,
    space: SearchSpace,
    objective: Objective,
    constraints: Sequence[Constraint],
    search: SearchSettings,
    runner: TrialRunner,
    warmup: int,
    trainer: ModelTrainer | None = None,
    model_root: Path | None = None,
    progress: FoldProgress | None = None,
) -> WalkForwardResult:
    """Search, choose and trade each fold (module docstring); `template` holds the candles of
    the whole window (with `warmup` bars before it) and everything else the trials share;
    `search` names the study (each fold's is `NAME-foldK`) and its identity."""
    if trainer is not None and model_root is None:
        raise ValueError("a strategy with a model needs a folder for the folds' models")
    outcomes: list[FoldOutcome] = []
    balance = template.initial_balance
    for fold in folds:
        started = time.monotonic()
        model = None
        inputs = attrs.evolve(
            template,
            candles=template.candles.select(fold.train_start, fold.train_end, warmup=warmup),
        )
        if trainer is not None:
            assert model_root is not None
            model = _train(trainer, template, fold, model_root / f"fold-{fold.number}", search.seed)
            # In sample, the model is judged on its own training window: that is what the
            # out-of-sample test is there to expose.
            inputs = attrs.evolve(inputs, model_dir=model.folder, overlap_allowed=True)
        runner.load(inputs)
        settings = _fold_settings(search, fold, model)
        trials = run_search(
            space,
            objective,
            constraints=constraints,
            settings=settings,
            runner=runner,
            progress=None if progress is None else _fold_progress(progress, fold.number),
        )
        best = best_trial(trials, objective)
        if best is None:
            raise AtbError(
                f"fold {fold.number} (train {fold.train_start:%Y-%m-%d} → "
                f"{fold.train_end:%Y-%m-%d}): no feasible trial (every trial failed or broke a "
                "constraint), so there are no parameters to test out of sample; loosen "
                "--constraint or widen --train"
            )
        strategy = _strategy(template, best, model)
        try:
            out_of_sample = run_backtest(
                BacktestRequest(
                    strategy=strategy,
                    candles=template.candles.select(fold.test_start, fold.test_end, warmup=warmup),
                    config=template.config,
                    symbol=template.symbol,
                    initial_balance=balance,
                    close_at_end=True,
                    # A fold's own model never overlaps its test window: the engine checks it.
                    overlap_allowed=template.overlap_allowed and model is None,
                    instrument=template.instrument,
                    data_file=template.data_file,
                    drop_outliers=template.drop_outliers,
                )
            )
        except DataError as error:  # e.g. a test window inside a gap of the data
            raise DataError(
                f"fold {fold.number} (test {fold.test_start:%Y-%m-%d} → "
                f"{fold.test_end:%Y-%m-%d}): {error}"
            ) from error
        balance = float(out_of_sample.equity.equity[-1])
        outcomes.append(
            FoldOutcome(
                fold=fold,
                settings=settings,
                inputs=inputs,
                trials=tuple(trials),
                best=best,
                model=model,
                out_of_sample=out_of_sample,
                out_of_sample_value=objective.value(out_of_sample.metrics.as_dict()),
                seconds=time.monotonic() - started,
            )
        )
    stitched = _stitch(template, outcomes, warmup)
    return WalkForwardResult(walk=walk, folds=tuple(outcomes), stitched=stitched)


def _train(
    trainer: ModelTrainer, template: TrialInputs, fold: Fold, folder: Path, seed: int
) -> FoldModel:
    """Fit the fold's model on its train window alone (no warm-up rows from before it, no bar
    of its test window)."""
    training = template.candles.select(fold.train_start, fold.train_end)
    try:
        artifact = trainer(training.frame, template.symbol, template.timeframe, folder, seed)
    except OSError as error:
        raise AtbError(
            f"fold {fold.number}: cannot save its model in {folder}: {error.strerror or error}"
        ) from error
    if artifact.training_end >= fold.test_start:
        raise AtbError(
            f"fold {fold.number}: the model's training window ends "
            f"{artifact.training_end.isoformat()}, not before its test window "
            f"({fold.test_start.isoformat()})"
        )
    return FoldModel(artifact=artifact, folder=folder)


def _fold_settings(search: SearchSettings, fold: Fold, model: FoldModel | None) -> SearchSettings:
    identity = {
        **search.identity,
        "fold": fold.number,
        "train": [fold.train_start.isoformat(), fold.train_end.isoformat()],
        "test": [fold.test_start.isoformat(), fold.test_end.isoformat()],
        "model": None if model is None else model.artifact.artifact_id,
    }
    return attrs.evolve(
        search, study_name=f"{search.study_name}-fold{fold.number}", identity=identity
    )


def _fold_progress(progress: FoldProgress, number: int) -> Progress:
    def report(done: int, total: int, _best: StudyTrial | None) -> None:
        progress(number, done, total)

    return report


def _strategy(template: TrialInputs, best: StudyTrial, model: FoldModel | None) -> Strategy:
    model_dir = template.model_dir if model is None else model.folder
    context = StrategyContext(template.symbol, template.timeframe, model_dir)
    return create_strategy(template.strategy, {**template.fixed, **best.params}, context)


def _stitch(template: TrialInputs, outcomes: Sequence[FoldOutcome], warmup: int) -> ScheduleResult:
    """The parameter-switching backtest over every test window, checked against the folds'
    out-of-sample backtests chained by balance."""
    first, last = outcomes[0].fold, outcomes[-1].fold
    segments = tuple(
        Segment(
            start=from_ns(int(outcome.out_of_sample.equity.times_ns[0])),
            strategy=_strategy(template, outcome.best, outcome.model),
        )
        for outcome in outcomes
    )
    stitched = run_schedule(
        ScheduleRequest(
            candles=template.candles.select(first.test_start, last.test_end, warmup=warmup),
            segments=segments,
            config=template.config,
            symbol=template.symbol,
            initial_balance=template.initial_balance,
            instrument=template.instrument,
            overlap_allowed=template.overlap_allowed and outcomes[0].model is None,
        )
    )
    times = np.concatenate([outcome.out_of_sample.equity.times_ns for outcome in outcomes])
    equity = np.concatenate([outcome.out_of_sample.equity.equity for outcome in outcomes])
    if not (
        np.array_equal(times, stitched.equity.times_ns)
        and np.array_equal(equity, stitched.equity.equity)
    ):
        raise StitchMismatchError(
            "the folds' out-of-sample backtests and the parameter-switching backtest disagree"
        )
    return stitched
