"""The live fast path: `features_now` must equal the last row of `features`, and the bias check
proves it (or names the bar where it does not)."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest

from atb.data.loading import load_candles
from atb.domain.bars import Bar
from atb.strategies import DefinedStrategy, StrategyDefinition, check_strategy
from atb.strategies.breakout import Breakout
from atb.strategies.buy_and_hold import BuyAndHold
from atb.strategies.definition import IncrementalDefinition
from atb.strategies.ml_artifact import artifact_paths, load_artifact
from atb.strategies.ml_basic import MlBasic
from atb.strategies.ml_features import FEATURE_WARMUP
from atb.strategies.recent_bars import RecentBars
from atb.strategies.rsi_mean_reversion import RsiMeanReversion
from atb.strategies.sma_cross import SmaCross


def _frame() -> pd.DataFrame:
    return load_candles("DEMO", "1h", "2025-01-01", "2025-03-01", allow_network=False).frame


INCREMENTAL = (
    SmaCross(fast=5, slow=20),
    RsiMeanReversion(window=6, oversold=35.0, overbought=65.0),
    Breakout(window=12, exit_window=5),
    BuyAndHold(),
)


@pytest.mark.parametrize("strategy", INCREMENTAL, ids=lambda strategy: type(strategy).__name__)
def test_features_now_equals_the_last_row_bit_for_bit(strategy: IncrementalDefinition) -> None:
    frame = _frame()
    assert isinstance(strategy, StrategyDefinition)
    features = strategy.features(frame)
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    acted = 0
    for end in (*range(3, 40), 100, *range(500, 1400, 7), len(frame) - 1):
        recent = RecentBars.of_frame_rows(columns, end, frame.index[end].to_pydatetime())
        now = strategy.features_now(recent)
        assert set(now) == set(features.columns)
        for name in features.columns:
            expected = float(features[name].iloc[end])
            assert float(now[name]) == expected or (np.isnan(now[name]) and np.isnan(expected))
        acted += bool(now.get("may_act", 0.0))
    assert acted > 0 or not len(features.columns)


@pytest.mark.parametrize("strategy", INCREMENTAL, ids=lambda strategy: type(strategy).__name__)
def test_the_bias_check_proves_each_features_now_exactly(strategy: StrategyDefinition) -> None:
    report = check_strategy(lambda: DefinedStrategy(strategy), _frame(), rtol=0.0, atol=0.0)
    assert report.passed, report.summary()


def test_prepare_recent_decides_like_the_frame() -> None:
    frame = _frame()
    bullish = SmaCross(fast=5, slow=20).features(frame)["cross"].to_numpy() > 0
    end = int(np.flatnonzero(bullish)[3])
    on_frame = DefinedStrategy(SmaCross(fast=5, slow=20))
    on_frame.prepare(frame.iloc[: end + 1])
    incremental = DefinedStrategy(SmaCross(fast=5, slow=20))
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    time = frame.index[end].to_pydatetime()
    assert incremental.prepare_recent(RecentBars.of_frame_rows(columns, end, time)) is not None
    bar = Bar(time, *(float(frame[c].iloc[end]) for c in ("open", "high", "low", "close")))
    assert incremental.decide(end, bar, None) == on_frame.decide(end, bar, None)
    assert incremental.decide(end, bar, None).is_entry


@attrs.frozen
class _OffByOne(SmaCross):
    """A features_now that reads one bar too early — the bias check must catch it."""

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        shifted = attrs.evolve(bars, close=bars.close[:-1])
        return super().features_now(shifted)


def test_the_bias_check_catches_a_features_now_that_disagrees() -> None:
    report = check_strategy(lambda: DefinedStrategy(_OffByOne(fast=5, slow=20)), _frame())
    assert not report.passed
    first = report.findings[0]
    assert first.kind == "incremental"
    assert first.feature in {"feature 'fast_sma'", "feature 'slow_sma'"}


def test_the_bias_check_counts_the_incremental_bars() -> None:
    report = check_strategy(
        lambda: DefinedStrategy(SmaCross(fast=5, slow=20)), _frame(), rtol=0.0, atol=0.0
    )
    assert report.passed, report.summary()
    assert report.incremental_checked >= 40
    assert "features_now on" in report.summary()


def _ml_basic(model_dir: Path) -> MlBasic:
    json_path, _ = artifact_paths(model_dir, "SYNTH", "1h")
    return MlBasic(artifact=load_artifact(json_path, symbol="SYNTH", timeframe="1h"))


def test_ml_basic_features_now_equals_the_last_row_bit_for_bit(
    synthetic: pd.DataFrame, synthetic_model_dir: Path
) -> None:
    strategy = _ml_basic(synthetic_model_dir)
    frame = synthetic.iloc[1900:2900]
    features = strategy.features(frame)
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    compared = 0
    for end in (*range(0, 120), *range(120, len(frame), 3)):
        recent = RecentBars.of_frame_rows(columns, end, frame.index[end].to_pydatetime())
        now = strategy.features_now(recent)
        assert list(now) == list(features.columns)
        for name in features.columns:
            expected = float(features[name].iloc[end])
            got = float(now[name])
            assert got == expected or (np.isnan(got) and np.isnan(expected)), (end, name)
        compared += not np.isnan(now["prediction"])
    # Warm-up rows give NaN both ways; every later row gives a finite prediction.
    assert compared == len(range(120, len(frame), 3)) + 120 - (FEATURE_WARMUP - 1)
    assert features["may_act"].iloc[FEATURE_WARMUP:].any()


def test_the_bias_check_proves_ml_basic_features_now_exactly(
    synthetic: pd.DataFrame, synthetic_model_dir: Path
) -> None:
    strategy = _ml_basic(synthetic_model_dir)
    frame = synthetic.iloc[2000:2600]
    report = check_strategy(lambda: DefinedStrategy(strategy), frame, rtol=0.0, atol=0.0)
    assert report.passed, report.summary()
