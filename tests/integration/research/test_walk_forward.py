"""Walk-forward validation with real backtests, real model training and a real Optuna storage.

Each fold's model is fitted on its train window only (read back from the artifact on disk);
each fold's out-of-sample backtest starts with the equity the previous one ended with; and the
stitched out-of-sample equity is, bar for bar, a backtest that switches parameters and models
at the fold boundaries, built here independently of the walk-forward's own check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import numpy as np
import pytest

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.instruments import resolve_instrument
from atb.data.loading import load_candles
from atb.domain.errors import AtbError, DataError, StrategyError
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.backtest.schedule import ScheduleRequest, Segment, run_schedule
from atb.research.objective import parse_constraint, parse_objective
from atb.research.runners import SerialRunner
from atb.research.search import SamplerKind, SearchSettings
from atb.research.space import parse_space
from atb.research.trials import TrialInputs
from atb.research.walk_forward import (
    WalkForward,
    WalkForwardResult,
    plan_folds,
    run_walk_forward,
)
from atb.strategies.ml_artifact import artifact_paths, load_artifact
from atb.strategies.registry import StrategyContext, create_strategy, get_entry

CONFIG = config_from_assignments(())
OBJECTIVE = parse_objective("sharpe")
WARMUP = 120
WALK = WalkForward(folds=3, train_days=90, test_days=30)
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 7, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def candles() -> ValidatedCandles:
    return load_candles("DEMO", "1h", START, END, warmup=WARMUP)


def _template(candles: ValidatedCandles, strategy: str) -> TrialInputs:
    return TrialInputs(
        strategy=strategy,
        fixed={},
        config=CONFIG,
        candles=candles,
        symbol="DEMO",
        timeframe="1h",
        instrument=resolve_instrument("DEMO", frame=candles.frame),
        initial_balance=10_000.0,
    )


def _settings(tmp_path: Path, name: str) -> SearchSettings:
    return SearchSettings(
        trials=4,
        seed=3,
        sampler=SamplerKind.TPE,
        study_name=name,
        storage=f"sqlite:///{tmp_path / 'studies.db'}",
        identity={"what": name},
    )


def _ml_walk_forward(candles: ValidatedCandles, tmp_path: Path) -> WalkForwardResult:
    entry = get_entry("ml_basic")
    space = parse_space(
        "ml_basic", entry.parameters, ["threshold=0.0001:0.003:log", "stop_loss=0.01:0.05"]
    )
    template = _template(candles, "ml_basic")
    return run_walk_forward(
        plan_folds(WALK, START, END),
        WALK,
        template=template,
        space=space,
        objective=OBJECTIVE,
        constraints=(),
        search=_settings(tmp_path, "ml"),
        runner=SerialRunner(template, workers=2),
        warmup=WARMUP,
        trainer=entry.trainer,
        model_root=tmp_path / "models",
    )


def test_folds_are_aligned_to_the_window_end_rolling_or_anchored() -> None:
    rolling = plan_folds(WALK, START, END)
    assert [(fold.test_start, fold.test_end) for fold in rolling] == [
        (datetime(2024, 4, 2, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)),
        (datetime(2024, 5, 2, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)),
        (datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)),
    ]
    assert [fold.train_start for fold in rolling] == [
        datetime(2024, 1, 3, tzinfo=UTC),
        datetime(2024, 2, 2, tzinfo=UTC),
        datetime(2024, 3, 3, tzinfo=UTC),
    ]
    assert all(fold.train_end == fold.test_start for fold in rolling)
    anchored = plan_folds(
        WalkForward(folds=3, train_days=90, test_days=30, anchored=True), START, END
    )
    assert {fold.train_start for fold in anchored} == {datetime(2024, 1, 3, tzinfo=UTC)}
    assert [fold.test_start for fold in anchored] == [fold.test_start for fold in rolling]
    with pytest.raises(AtbError, match=r"needs 181 days of candles, the window holds 179\.0"):
        plan_folds(
            WalkForward(folds=3, train_days=91, test_days=30),
            START,
            datetime(2024, 6, 28, tzinfo=UTC),
        )


def test_ml_basic_is_retrained_per_fold_and_the_stitched_equity_is_a_switching_backtest(
    candles: ValidatedCandles, tmp_path: Path
) -> None:
    result = _ml_walk_forward(candles, tmp_path)
    assert [outcome.fold.number for outcome in result.folds] == [1, 2, 3]
    segments = []
    balance = 10_000.0
    for outcome in result.folds:
        fold = outcome.fold
        # The artifact on disk: fitted on the fold's train window, ending before its test.
        json_path, _weights = artifact_paths(
            tmp_path / "models" / f"fold-{fold.number}", "DEMO", "1h"
        )
        artifact = load_artifact(json_path, symbol="DEMO", timeframe="1h")
        assert artifact.artifact_id == outcome.out_of_sample.strategy.model_id
        assert artifact.training_start >= fold.train_start
        assert artifact.training_end < fold.test_start
        assert artifact.training_end == fold.test_start - timedelta(hours=1)  # its last bar
        assert outcome.out_of_sample.initial_balance == balance
        balance = float(outcome.out_of_sample.equity.equity[-1])
        strategy = create_strategy(
            "ml_basic",
            dict(outcome.best.params),
            StrategyContext("DEMO", "1h", json_path.parent),
        )
        segments.append(Segment(start=fold.test_start, strategy=strategy))
    models = {outcome.out_of_sample.strategy.model_id for outcome in result.folds}
    assert len(models) == 3
    switching = run_schedule(
        ScheduleRequest(
            candles=candles.select(result.folds[0].fold.test_start, END, warmup=WARMUP),
            segments=tuple(segments),
            config=CONFIG,
            symbol="DEMO",
            instrument=resolve_instrument("DEMO", frame=candles.frame),
        )
    )
    stitched = np.concatenate([outcome.out_of_sample.equity.equity for outcome in result.folds])
    np.testing.assert_array_equal(switching.equity.equity, stitched)
    np.testing.assert_array_equal(switching.equity.equity, result.stitched.equity.equity)
    assert switching.equity.equity[-1] == balance
    assert len(switching.trades) == sum(len(o.out_of_sample.trades) for o in result.folds)
    # In sample the model is judged on its own training window; out of sample never.
    assert all(outcome.inputs.overlap_allowed for outcome in result.folds)
    assert not any(outcome.out_of_sample.strategy.overlap_allowed for outcome in result.folds)


def test_a_fold_model_on_its_test_window_is_refused_by_the_engine(
    candles: ValidatedCandles, tmp_path: Path
) -> None:
    fold = plan_folds(WALK, START, END)[0]
    entry = get_entry("ml_basic")
    assert entry.trainer is not None
    leaked = candles.select(fold.train_start, fold.test_end)
    entry.trainer(leaked.frame, "DEMO", "1h", tmp_path, 0)
    strategy = create_strategy("ml_basic", {}, StrategyContext("DEMO", "1h", tmp_path))
    with pytest.raises(StrategyError, match="overlaps model"):
        run_backtest(
            BacktestRequest(
                strategy=strategy,
                candles=candles.select(fold.test_start, fold.test_end, warmup=WARMUP),
                config=CONFIG,
                symbol="DEMO",
            )
        )


def test_a_walk_forward_run_again_resumes_its_studies_to_the_same_result(
    candles: ValidatedCandles, tmp_path: Path
) -> None:
    entry = get_entry("sma_cross")
    space = parse_space("sma_cross", entry.parameters, ["fast=3:20", "slow=20:80:5"])
    template = _template(candles, "sma_cross")
    constraints = (parse_constraint("n_trades>=2"),)
    walk = WalkForward(folds=2, train_days=60, test_days=45, anchored=True)
    runs = [
        run_walk_forward(
            plan_folds(walk, START, END),
            walk,
            template=template,
            space=space,
            objective=OBJECTIVE,
            constraints=constraints,
            search=_settings(tmp_path, "sma"),
            runner=SerialRunner(template, workers=2),
            warmup=WARMUP,
        )
        for _ in range(2)
    ]
    first, again = runs
    assert [o.settings.study_name for o in first.folds] == ["sma-fold1", "sma-fold2"]
    assert [dict(o.best.params) for o in first.folds] == [dict(o.best.params) for o in again.folds]
    np.testing.assert_array_equal(first.stitched.equity.equity, again.stitched.equity.equity)
    assert (
        first.folds[0].inputs.candles.index[first.folds[0].inputs.candles.warmup_bars]
        == (first.folds[1].inputs.candles.index[first.folds[1].inputs.candles.warmup_bars])
    )  # anchored: both train windows start at the first one's start
    for outcome in first.folds:
        assert outcome.degradation == pytest.approx(
            (outcome.out_of_sample_value or 0.0) - outcome.in_sample_value
        )


def test_a_test_window_without_bars_names_its_fold(
    candles: ValidatedCandles, tmp_path: Path
) -> None:
    walk = WalkForward(folds=2, train_days=60, test_days=30)
    folds = plan_folds(walk, START, END)
    frame = candles.frame
    hole = (frame.index >= folds[1].test_start) & (frame.index < folds[1].test_end)
    holed = attrs.evolve(candles, frame=frame[~hole])
    entry = get_entry("sma_cross")
    template = _template(holed, "sma_cross")
    with pytest.raises(DataError, match=r"fold 2 \(test 2024-06-01 → 2024-07-01\): .*no bars"):
        run_walk_forward(
            folds,
            walk,
            template=template,
            space=parse_space("sma_cross", entry.parameters, ["fast=3:20", "slow=30:60:10"]),
            objective=OBJECTIVE,
            constraints=(),
            search=attrs.evolve(_settings(tmp_path, "holed"), trials=2),
            runner=SerialRunner(template, workers=2),
            warmup=WARMUP,
        )


def test_a_model_folder_that_cannot_be_written_is_one_line(
    candles: ValidatedCandles, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    entry = get_entry("ml_basic")
    template = _template(candles, "ml_basic")
    with pytest.raises(AtbError, match=r"fold 1: cannot save its model in .*a-file/fold-1"):
        run_walk_forward(
            plan_folds(WALK, START, END),
            WALK,
            template=template,
            space=parse_space("ml_basic", entry.parameters, ["threshold=0.0001:0.003:log"]),
            objective=OBJECTIVE,
            constraints=(),
            search=_settings(tmp_path, "blocked"),
            runner=SerialRunner(template),
            warmup=WARMUP,
            trainer=entry.trainer,
            model_root=blocked,
        )
