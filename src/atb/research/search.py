"""The search loop of `atb optimize`: Optuna proposes, the runner backtests, Optuna learns.

Determinism and resumption (ADR 0018). Trials are asked in batches of the runner's size and
told in slot order once the whole batch has run, so what the sampler knows when it proposes a
trial is the same in every run. Each proposal comes from a sampler seeded from the search's seed
and the trial's *slot* (its place in the search: 0, 1, 2, …, kept as a user attribute), not from
a random state that lives in one process; so the same seed and number of workers give the same
trials, and a search killed half way and started again continues with exactly the trials the
uninterrupted run would have asked. On a restart, a trial left running by the killed process is
marked failed (interrupted) and asked again with its recorded parameters in its slot; the
missing slots of its batch are asked as they would have been.

The study lives in Optuna's storage (SQLite under the user data dir by default); its identity
(strategy, market, window, space, objective, constraints, seed, sampler, workers) is recorded
with it, and resuming it with anything else is refused in one line.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

import attrs
import optuna
import sqlalchemy.exc
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, Trial, TrialState

from atb.domain.errors import ConfigError
from atb.research.objective import Constraint, Objective, feasible
from atb.research.runners import TrialRunner
from atb.research.space import Choice, FloatRange, IntRange, SearchSpace
from atb.research.trials import TrialOutcome
from atb.strategies.parameters import ParamValue

__all__ = [
    "SamplerKind",
    "SearchSettings",
    "StudyTrial",
    "best_trial",
    "run_search",
    "study_importance",
    "study_trials",
]

SLOT = "slot"
METRICS = "metrics"
SECONDS = "seconds"
ERROR = "error"
INTERRUPTED = "interrupted"
IDENTITY = "atb_identity"

Progress: TypeAlias = Callable[[int, int, "StudyTrial | None"], None]
"""Called after each batch with (trials done, trials wanted, the best trial so far)."""


class SamplerKind(enum.Enum):
    """How trials are proposed."""

    TPE = "tpe"
    RANDOM = "random"
    GRID = "grid"


@attrs.frozen(slots=True, kw_only=True)
class SearchSettings:
    """How many trials, how they are proposed, and where the study is kept."""

    trials: int
    seed: int
    sampler: SamplerKind
    study_name: str
    storage: str
    identity: Mapping[str, object]
    """What the study is of (strategy, market, window, space, objective, …): recorded with the
    study and checked when it is resumed."""


@attrs.frozen(slots=True, kw_only=True)
class StudyTrial:
    """One finished trial as the study recorded it."""

    slot: int
    number: int
    params: Mapping[str, ParamValue]
    metrics: Mapping[str, float | int | None]
    value: float | None
    """The objective (None: undefined, or the trial failed)."""
    feasible: bool
    seconds: float
    error: str | None


def run_search(
    space: SearchSpace,
    objective: Objective,
    *,
    constraints: Sequence[Constraint],
    settings: SearchSettings,
    runner: TrialRunner,
    progress: Progress | None = None,
) -> list[StudyTrial]:
    """Run (or resume) the search until `settings.trials` trials have finished; every
    finished trial, in slot order."""
    if settings.trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {settings.trials}")
    if settings.sampler is SamplerKind.GRID and space.grid_size() < settings.trials:
        raise ConfigError(
            f"--trials {settings.trials}: the grid has only {space.grid_size()} points"
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=settings.study_name,
            storage=settings.storage,
            load_if_exists=True,
            direction=objective.direction.value,
        )
    except (ImportError, ValueError, RuntimeError, sqlalchemy.exc.SQLAlchemyError) as error:
        # The library's message may quote the URL: name the storage without its password.
        raise ConfigError(
            f"--storage {redact_storage(settings.storage)}: cannot open the study "
            f"({type(error).__name__})"
        ) from None
    _check_identity(study, settings)
    _mark_interrupted(study, space)
    batch_size = max(1, runner.workers)
    while True:
        finished = _finished(study)
        if len(finished) >= settings.trials:
            break
        # Slots finish batch by batch: the first one missing is in the batch to run now.
        missing = next(slot for slot in range(settings.trials + 1) if slot not in finished)
        first = missing - missing % batch_size
        last = min(first + batch_size, settings.trials)
        trials = _ask_batch(study, space, settings, first=first, last=last)
        outcomes = runner.run([(slot, trial.params) for slot, trial in trials])
        for (_slot, trial), outcome in zip(trials, outcomes, strict=True):
            _tell(study, trial, outcome, objective, constraints)
        if progress is not None:
            records = study_trials(study, objective, constraints)
            progress(len(records), settings.trials, best_trial(records, objective))
    return study_trials(study, objective, constraints)


def study_importance(settings: SearchSettings) -> dict[str, float]:
    """Optuna's parameter importance over the study's completed trials (PED-ANOVA: it needs
    no scikit-learn); empty when there are too few (fewer than two, or nothing varied)."""
    study = optuna.load_study(study_name=settings.study_name, storage=settings.storage)
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(completed) < 2:
        return {}
    try:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        importance = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):
        return {}
    return {name: float(value) for name, value in importance.items()}


def best_trial(trials: Sequence[StudyTrial], objective: Objective) -> StudyTrial | None:
    """The feasible trial with the best objective (ties: the earliest slot), or None."""
    best: StudyTrial | None = None
    for trial in trials:
        if not trial.feasible or trial.value is None:
            continue
        if best is None or best.value is None or objective.better(trial.value, best.value):
            best = trial
    return best


def study_trials(
    study: optuna.Study, objective: Objective, constraints: Sequence[Constraint]
) -> list[StudyTrial]:
    """Every finished trial of the study (interrupted ones left out), in slot order."""
    found: list[StudyTrial] = []
    for trial in _finished(study).values():
        metrics = _metrics(trial)
        value = trial.value if trial.state is TrialState.COMPLETE else None
        found.append(
            StudyTrial(
                slot=int(trial.user_attrs[SLOT]),
                number=trial.number,
                params=dict(trial.params),
                metrics=metrics,
                value=value,
                feasible=value is not None and feasible(constraints, metrics),
                seconds=float(trial.user_attrs.get(SECONDS, 0.0)),
                error=trial.user_attrs.get(ERROR),
            )
        )
    return sorted(found, key=lambda item: item.slot)


def _finished(study: optuna.Study) -> dict[int, FrozenTrial]:
    """Slot → its finished trial (an interrupted trial does not count)."""
    interrupted = set(study.user_attrs.get(INTERRUPTED, []))
    found: dict[int, FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False):
        if trial.state.is_finished() and trial.number not in interrupted:
            found[int(trial.user_attrs[SLOT])] = trial
    return found


def _mark_interrupted(study: optuna.Study, space: SearchSpace) -> None:
    """Trials a killed process left running: failed, listed as interrupted (they never count
    as finished), and their parameters queued to be asked again in the same slots."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return
    # Listed first: a kill during this repair never leaves a failed copy counted as finished.
    interrupted = list(study.user_attrs.get(INTERRUPTED, []))
    study.set_user_attr(INTERRUPTED, [*interrupted, *(trial.number for trial in running)])
    for trial in running:
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        # Whole parameters are kept (tells of its batch may have followed); a trial killed
        # while being proposed is proposed again — no tell can have followed in its batch.
        params = dict(trial.params) if set(trial.params) == set(space.names) else {}
        study.enqueue_trial(params, user_attrs={SLOT: int(trial.user_attrs[SLOT])})


def _ask_batch(
    study: optuna.Study,
    space: SearchSpace,
    settings: SearchSettings,
    *,
    first: int,
    last: int,
) -> list[tuple[int, Trial]]:
    """The trials of slots first … last−1: those queued again after an interruption, then
    new ones, each proposed by a sampler seeded for its slot."""
    batch: dict[int, Trial] = {}
    # `ask` takes the oldest waiting trial: each is proposed by the sampler of *its* slot, in
    # the order Optuna hands them out (a slot enqueued before a kill is older than a trial
    # queued again on the restart).
    for slot in _queued_slots(study):
        if first <= slot < last:
            batch[slot] = _ask(study, space, settings, slot)
    points = _grid_points(space, settings.seed) if settings.sampler is SamplerKind.GRID else []
    finished = _finished(study)  # read once: asking adds no finished trial
    for slot in range(first, last):
        if slot in batch or slot in finished:
            continue
        # Enqueued first, so the trial holds its slot from the moment it exists (a kill right
        # after the ask leaves no trial without one). A grid is walked in one seeded order:
        # slot k is point k, however often resumed.
        study.enqueue_trial(points[slot] if points else {}, user_attrs={SLOT: slot})
        batch[slot] = _ask(study, space, settings, slot)
    return sorted(batch.items())


def _ask(study: optuna.Study, space: SearchSpace, settings: SearchSettings, slot: int) -> Trial:
    """Ask the oldest waiting trial, which must be `slot`'s, with `slot`'s sampler."""
    study.sampler = _sampler(settings, space, slot)
    trial = study.ask()
    if int(trial.user_attrs[SLOT]) != slot:
        raise RuntimeError(f"asked for slot {slot}, Optuna gave slot {trial.user_attrs[SLOT]}")
    _suggest(trial, space)
    return trial


def _grid_points(space: SearchSpace, seed: int) -> list[dict[str, ParamValue]]:
    """Every point of the grid, in an order shuffled by the seed (a prefix of it is a random
    subset; all of it is the whole grid)."""
    grid = space.grid()
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    random.Random(seed).shuffle(points)
    return points


def _queued_slots(study: optuna.Study) -> list[int]:
    """The slots of the waiting trials, oldest trial first (the order `ask` takes them in)."""
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return [int(trial.user_attrs[SLOT]) for trial in sorted(waiting, key=lambda t: t.number)]


def _suggest(trial: Trial, space: SearchSpace) -> dict[str, ParamValue]:
    """The trial's value of every dimension (fixed ones are the inputs' business)."""
    values: dict[str, ParamValue] = {}
    for dimension in space.dimensions:
        if isinstance(dimension, IntRange):
            values[dimension.name] = trial.suggest_int(
                dimension.name,
                dimension.low,
                dimension.high,
                step=dimension.step,
                log=dimension.log,
            )
        elif isinstance(dimension, FloatRange):
            values[dimension.name] = trial.suggest_float(
                dimension.name,
                dimension.low,
                dimension.high,
                step=dimension.step,
                log=dimension.log,
            )
        elif isinstance(dimension, Choice):
            values[dimension.name] = trial.suggest_categorical(dimension.name, dimension.values)
    return values


def _sampler(settings: SearchSettings, space: SearchSpace, slot: int) -> BaseSampler:
    seed = _slot_seed(settings.seed, slot)
    if settings.sampler is SamplerKind.RANDOM:
        return RandomSampler(seed=seed)
    return TPESampler(seed=seed)


def _slot_seed(seed: int, slot: int) -> int:
    """A 32-bit seed for one slot, from the search's seed (stable across Python runs)."""
    digest = hashlib.sha256(f"{seed}:{slot}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _tell(
    study: optuna.Study,
    trial: Trial,
    outcome: TrialOutcome,
    objective: Objective,
    constraints: Sequence[Constraint],
) -> None:
    trial.set_user_attr(SECONDS, outcome.seconds)
    if outcome.error is not None:
        trial.set_user_attr(ERROR, outcome.error)
        study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_user_attr(METRICS, _jsonable(outcome.metrics))
    for constraint in constraints:
        # ≤ 0 is feasible: TPE learns to avoid the regions that break a constraint.
        trial.set_constraint(constraint.text, constraint.violation(outcome.metrics))
    value = objective.value(outcome.metrics)
    if value is None:
        trial.set_user_attr(ERROR, f"objective {objective.text} is undefined for this trial")
        study.tell(trial, state=TrialState.FAIL)
        return
    study.tell(trial, value)


def _metrics(trial: FrozenTrial) -> dict[str, float | int | None]:
    stored = trial.user_attrs.get(METRICS, {})
    return {str(key): value for key, value in stored.items()}


def _jsonable(metrics: Mapping[str, float | int | None]) -> dict[str, float | int | None]:
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in metrics.items()
    }


def redact_storage(url: str) -> str:
    """A storage URL without its password (`postgresql://user:***@host/db`)."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def _check_identity(study: optuna.Study, settings: SearchSettings) -> None:
    """Record the study's identity when it is new; refuse to resume it as something else."""
    given = json.loads(json.dumps(dict(settings.identity), default=str))
    stored = study.user_attrs.get(IDENTITY)
    if stored is None:
        study.set_user_attr(IDENTITY, given)
        return
    for key in sorted({*stored, *given}):
        if stored.get(key) != given.get(key):
            raise ConfigError(
                f"study {settings.study_name!r} in {redact_storage(settings.storage)} was "
                f"started with {key} "
                f"{stored.get(key)!r}, now {given.get(key)!r}; use another --study name, or "
                "the same settings to resume it"
            )
