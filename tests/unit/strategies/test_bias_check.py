"""The bias check passes the built-ins and names the feature and bar of each broken promise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from atb.domain.errors import StrategyError
from atb.strategies import Strategy, StrategyContext, check_strategy, create_strategy, train
from tests.unit.strategies.leaky import LookAheadStrategy, MaskLiarStrategy, RecursiveStrategy

BUILTIN_CASES = [
    ("sma_cross", {}),
    ("sma_cross", {"fast": 5, "slow": 12, "allow_short": True, "stop_loss": 0.02}),
    ("buy_and_hold", {}),
    ("rsi_mean_reversion", {}),
    ("rsi_mean_reversion", {"window": 7, "allow_short": True}),
    ("breakout", {}),
    ("breakout", {"window": 48, "exit_window": 12, "take_profit": 0.05}),
    ("ml_basic", {}),
    ("ml_basic", {"allow_short": True}),
]


def factory(
    name: str, params: dict[str, object], context: StrategyContext
) -> Callable[[], Strategy]:
    return lambda: create_strategy(name, params, context)


@pytest.mark.parametrize(("name", "params"), BUILTIN_CASES)
def test_builtins_pass_exactly_on_synthetic_data(
    name: str, params: dict[str, object], synthetic: pd.DataFrame, synthetic_model_dir: Path
) -> None:
    context = StrategyContext("SYNTH", "1h", synthetic_model_dir)
    report = check_strategy(factory(name, params, context), synthetic, rtol=0.0, atol=0.0)
    assert report.passed, report.summary()
    assert report.prefixes_checked >= 40
    assert report.windows_checked == report.prefixes_checked
    # flat, long and short on the prefix and on the window, and again on each of the two
    # incremental views when the strategy has a `features_now`
    per_sample = 6 + (6 if report.incremental_checked else 0)
    assert report.decisions_checked == per_sample * report.prefixes_checked
    assert report.incremental_checked in (0, report.prefixes_checked)


@pytest.mark.parametrize(("name", "params"), BUILTIN_CASES[::2])
def test_builtins_pass_on_the_real_sample(
    name: str, params: dict[str, object], btc_frame: pd.DataFrame, tmp_path: Path
) -> None:
    train(btc_frame.loc[:"2024-06-29 23:00"], "BTCUSDT", "1h", model_dir=tmp_path)
    context = StrategyContext("BTCUSDT", "1h", tmp_path)
    report = check_strategy(factory(name, params, context), btc_frame, samples=25, rtol=0.0)
    assert report.passed, report.summary()
    assert report.bars == 18_000


def test_look_ahead_is_caught_with_feature_and_bar(synthetic: pd.DataFrame) -> None:
    report = check_strategy(LookAheadStrategy, synthetic.iloc[:300])
    assert not report.passed
    finding = report.findings[0]
    assert finding.kind == "look-ahead"
    assert finding.feature in {"feature 'signal'", "feature 'future_close'"}
    # the first sampled prefix ends at row warmup - 1 = 4: its last row is the one that leaked
    assert finding.bar_index == 4
    assert finding.bar_time == synthetic.index[4]
    assert "2023-01-01T04:00:00+00:00" in report.summary()
    with pytest.raises(StrategyError, match=r"look-ahead: feature '\w+' at bar 2023-01-01T04:00"):
        report.raise_for_findings()


def test_longer_look_ahead_names_an_earlier_bar_of_the_prefix(synthetic: pd.DataFrame) -> None:
    report = check_strategy(lambda: LookAheadStrategy(lead=3), synthetic.iloc[:300])
    finding = report.findings[0]
    assert finding.kind == "look-ahead"
    assert finding.bar_index in {2, 3, 4}


def test_history_dependence_is_caught(synthetic: pd.DataFrame) -> None:
    report = check_strategy(RecursiveStrategy, synthetic.iloc[:300])
    finding = report.findings[0]
    assert finding.kind == "history"
    assert finding.feature == "feature 'ewm'"
    assert "5-bar window" in finding.detail


def test_broken_signal_mask_promise_is_caught(synthetic: pd.DataFrame) -> None:
    report = check_strategy(MaskLiarStrategy, synthetic.iloc[:300])
    finding = report.findings[0]
    assert finding.kind == "signal mask"
    assert finding.feature == "decision (flat)"
    assert "signal_mask is False but decide returned" in finding.detail


def test_frame_shorter_than_warmup_is_refused(synthetic: pd.DataFrame) -> None:
    with pytest.raises(StrategyError, match="needs at least warmup = 31 bars, got 10"):
        check_strategy(lambda: create_strategy("sma_cross"), synthetic.iloc[:10])
