"""The search loop with real backtests and a real Optuna storage (SQLite files): one seed and
one number of workers give one set of trials, whether the trials run in this process or as Ray
tasks, and whether the search ran in one go or was interrupted and resumed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from atb.config import config_from_assignments
from atb.data.instruments import resolve_instrument
from atb.data.validation import validate_candles
from atb.domain.errors import ConfigError
from atb.engines.backtest import run_backtest
from atb.research.objective import parse_constraint, parse_objective
from atb.research.runners import Batch, RayRunner, SerialRunner
from atb.research.search import (
    SLOT,
    SamplerKind,
    SearchSettings,
    StudyTrial,
    best_trial,
    run_search,
)
from atb.research.selection_bias import assess_selection_bias
from atb.research.space import SearchSpace, parse_space
from atb.research.trials import TrialInputs, TrialOutcome, backtest_request, evaluate
from atb.strategies.registry import get_entry
from tests.support.candle_frames import make_candles

OBJECTIVE = parse_objective("sharpe")
CONSTRAINTS = (parse_constraint("n_trades>=3"),)


@pytest.fixture(scope="module")
def inputs() -> TrialInputs:
    candles = validate_candles(make_candles(1500, seed=5), source="synthetic", timeframe="1h")
    return TrialInputs(
        strategy="sma_cross",
        fixed={"stop_loss": 0.02},
        config=config_from_assignments(()),
        candles=candles,
        symbol="BTCUSDT",
        timeframe="1h",
        instrument=resolve_instrument("BTCUSDT", frame=candles.frame),
        initial_balance=10_000.0,
    )


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return parse_space(
        "sma_cross", get_entry("sma_cross").parameters, ["fast=2:30", "slow=10:120:5"]
    )


def _settings(
    path: Path, trials: int, seed: int = 11, sampler: SamplerKind = SamplerKind.TPE
) -> SearchSettings:
    return SearchSettings(
        trials=trials,
        seed=seed,
        sampler=sampler,
        study_name="test",
        storage=f"sqlite:///{path}",
        identity={"what": "sma_cross on synthetic candles", "seed": seed},
    )


def _search(
    space: SearchSpace, settings: SearchSettings, runner: SerialRunner | RayRunner
) -> list[StudyTrial]:
    return run_search(space, OBJECTIVE, constraints=CONSTRAINTS, settings=settings, runner=runner)


def _trials(found: list[StudyTrial]) -> list[tuple[int, dict[str, object], float | None, bool]]:
    return [(trial.slot, dict(trial.params), trial.value, trial.feasible) for trial in found]


def test_one_seed_gives_one_set_of_trials(
    inputs: TrialInputs, space: SearchSpace, tmp_path: Path
) -> None:
    first = _search(space, _settings(tmp_path / "a.db", 24), SerialRunner(inputs, workers=3))
    again = _search(space, _settings(tmp_path / "b.db", 24), SerialRunner(inputs, workers=3))
    other = _search(
        space, _settings(tmp_path / "c.db", 24, seed=12), SerialRunner(inputs, workers=3)
    )
    assert _trials(first) == _trials(again)
    assert _trials(first) != _trials(other)
    assert [trial.slot for trial in first] == list(range(24))
    failed = [trial for trial in first if trial.error is not None]
    assert all("must be smaller than slow" in str(trial.error) for trial in failed)
    best = best_trial(first, OBJECTIVE)
    assert best is not None
    assert best.feasible
    assert best.value == max(t.value for t in first if t.feasible and t.value is not None)
    # A trial is the backtest `atb backtest` runs with those parameters.
    result = run_backtest(backtest_request(inputs, best.params))
    assert result.metrics.as_dict() == dict(best.metrics)


class _Killed(BaseException):
    """Stands for the SIGKILL of a search process."""


class _DyingRunner(SerialRunner):
    """Runs `batches` batches, then dies while the next one runs (its trials asked)."""

    def __init__(self, inputs: TrialInputs, workers: int, batches: int) -> None:
        super().__init__(inputs, workers)
        self.batches = batches

    def run(self, batch: Batch, *, with_returns: bool = False) -> list[TrialOutcome]:
        if self.batches == 0:
            raise _Killed
        self.batches -= 1
        return super().run(batch, with_returns=with_returns)


def test_an_interrupted_search_resumes_as_if_it_never_stopped(
    inputs: TrialInputs, space: SearchSpace, tmp_path: Path
) -> None:
    clean = _search(space, _settings(tmp_path / "clean.db", 20), SerialRunner(inputs, workers=3))
    resumed_db = tmp_path / "resumed.db"
    for batches in (2, 0, 1):  # killed with its third, its fourth, then its sixth batch running
        with pytest.raises(_Killed):
            _search(space, _settings(resumed_db, 20), _DyingRunner(inputs, 3, batches))
    resumed = _search(space, _settings(resumed_db, 20), SerialRunner(inputs, workers=3))
    assert _trials(resumed) == _trials(clean)
    more = _search(space, _settings(resumed_db, 26), SerialRunner(inputs, workers=3))
    longer = _search(space, _settings(tmp_path / "long.db", 26), SerialRunner(inputs, workers=3))
    assert _trials(more) == _trials(longer)  # a resumed study may also be given more trials


def test_resuming_with_other_settings_is_refused(
    inputs: TrialInputs, space: SearchSpace, tmp_path: Path
) -> None:
    _search(space, _settings(tmp_path / "a.db", 3), SerialRunner(inputs))
    with pytest.raises(
        ConfigError, match=r"study .test. in sqlite:///.* was started with seed 11, now 12"
    ):
        _search(space, _settings(tmp_path / "a.db", 3, seed=12), SerialRunner(inputs))


def test_grid_and_random_samplers(inputs: TrialInputs, tmp_path: Path) -> None:
    small = parse_space(
        "sma_cross", get_entry("sma_cross").parameters, ["fast=2:4", "slow=20:30:10"]
    )
    grid = _search(
        small, _settings(tmp_path / "g.db", 6, sampler=SamplerKind.GRID), SerialRunner(inputs, 2)
    )
    assert sorted((t.params["fast"], t.params["slow"]) for t in grid) == [
        (2, 20), (2, 30), (3, 20), (3, 30), (4, 20), (4, 30)
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="--trials 7: the grid has only 6 points"):
        _search(
            small, _settings(tmp_path / "g2.db", 7, sampler=SamplerKind.GRID), SerialRunner(inputs)
        )
    first = _search(
        small, _settings(tmp_path / "r1.db", 5, sampler=SamplerKind.RANDOM), SerialRunner(inputs, 2)
    )
    again = _search(
        small, _settings(tmp_path / "r2.db", 5, sampler=SamplerKind.RANDOM), SerialRunner(inputs, 2)
    )
    assert _trials(first) == _trials(again)


@pytest.fixture(scope="module")
def ray_runner(inputs: TrialInputs) -> Iterator[RayRunner]:
    runner = RayRunner(inputs, workers=2)
    yield runner
    runner.close()


def test_ray_tasks_give_the_trials_of_a_plain_loop(
    inputs: TrialInputs, space: SearchSpace, ray_runner: RayRunner, tmp_path: Path
) -> None:
    on_ray = _search(space, _settings(tmp_path / "ray.db", 16), ray_runner)
    in_process = _search(space, _settings(tmp_path / "loop.db", 16), SerialRunner(inputs, 2))
    assert _trials(on_ray) == _trials(in_process)
    assert [dict(t.metrics) for t in on_ray] == [dict(t.metrics) for t in in_process]


def test_the_selection_bias_of_a_search(
    inputs: TrialInputs, space: SearchSpace, tmp_path: Path
) -> None:
    """The deflated Sharpe ratio is of the best trial's own returns, deflated by every feasible
    trial's Sharpe ratio; the PBO splits the window into 16 blocks (12,870 combinations)."""
    found = _search(space, _settings(tmp_path / "a.db", 18), SerialRunner(inputs, workers=3))
    bias = assess_selection_bias(found, OBJECTIVE, SerialRunner(inputs, workers=3))
    feasible = [trial for trial in found if trial.feasible]
    best = best_trial(found, OBJECTIVE)
    assert best is not None
    assert bias.notes == ()
    deflated, pbo = bias.deflated_sharpe, bias.pbo
    assert deflated is not None
    assert pbo is not None
    assert deflated.trials == pbo.trials == len(feasible)
    assert 0.0 <= deflated.value <= 1.0
    assert 0.0 <= pbo.pbo <= 1.0
    assert (pbo.partitions, pbo.combinations) == (16, 12870)
    returns = evaluate(inputs, best.slot, best.params, with_returns=True).returns
    assert returns is not None
    assert deflated.observations == returns.size == pbo.observations + pbo.dropped_rows
    assert deflated.sharpe == pytest.approx(float(returns.mean() / returns.std(ddof=1)), rel=1e-12)
    lonely = assess_selection_bias(found[:1], OBJECTIVE, SerialRunner(inputs))
    assert lonely.deflated_sharpe is None
    assert lonely.notes == ("fewer than two feasible trials: no selection to correct for",)


def test_a_kill_between_the_asks_of_a_batch_resumes_as_if_it_never_stopped(
    inputs: TrialInputs, space: SearchSpace, tmp_path: Path
) -> None:
    """Killed after slot 4 was asked and slot 5 queued, before slot 5 was asked: on the restart
    slot 5's waiting trial is older than slot 4's, queued again — each must still be proposed by
    its own slot's sampler."""
    clean = _search(space, _settings(tmp_path / "clean.db", 8), SerialRunner(inputs, workers=2))
    killed_db = tmp_path / "killed.db"
    _search(space, _settings(killed_db, 4), SerialRunner(inputs, workers=2))
    # The state the kill leaves, made the way the search makes it (enqueue with the slot, ask).
    study = optuna.load_study(study_name="test", storage=f"sqlite:///{killed_db}")
    study.enqueue_trial({}, user_attrs={SLOT: 4})
    assert study.ask().user_attrs[SLOT] == 4
    study.enqueue_trial({}, user_attrs={SLOT: 5})
    resumed = _search(space, _settings(killed_db, 8), SerialRunner(inputs, workers=2))
    assert _trials(resumed) == _trials(clean)
