"""The real `atb` executable: `strategies`, `check-strategy` and `train ml_basic`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ATB = Path(sys.executable).with_name("atb")


def atb(*args: str, model_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    if model_dir is not None:
        env["ATB_MODEL_DIR"] = str(model_dir)
    return subprocess.run(
        [str(ATB), *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_strategies_lists_builtins_with_defaults() -> None:
    result = atb("strategies")
    assert result.returncode == 0, result.stderr
    for text in ("sma_cross", "buy_and_hold", "ml_basic", "fast", "slow", "30", "allow_short"):
        assert text in result.stdout


def test_check_strategy_passes_for_sma_cross() -> None:
    result = atb("check-strategy", "sma_cross", "--param", "stop_loss=0.02", "--days", "200")
    assert result.returncode == 0, result.stderr
    assert "PASS sma_cross" in result.stdout
    assert "SYNTHETIC" in result.stdout


def test_check_strategy_fails_on_a_leaking_strategy(sample_csv: Path) -> None:
    result = atb(
        "check-strategy", "tests.unit.strategies.leaky:LookAheadStrategy",
        "--data", str(sample_csv), "--symbol", "BTCUSDT",
    )  # fmt: skip
    assert result.returncode == 1
    assert re.search(
        r"look-ahead: feature '(signal|future_close)' at bar 2023-01-01T04:00:00\+00:00",
        result.stderr,
    )


def test_check_strategy_bad_input_exits_2() -> None:
    result = atb("check-strategy", "nope")
    assert result.returncode == 2
    available = "breakout, buy_and_hold, ml_basic, rsi_mean_reversion, sma_cross"
    assert f"unknown strategy 'nope'; available: {available}" in result.stderr


def test_train_ml_basic_then_check_it(sample_csv: Path, tmp_path: Path) -> None:
    args = (
        "train", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(sample_csv), "--end", "2024-06-30", "--model-dir", str(tmp_path),
    )  # fmt: skip
    result = atb(*args)
    assert result.returncode == 0, result.stderr
    assert "directional_accuracy" in result.stdout
    artifact = tmp_path / "ml_basic_BTCUSDT_1h.json"
    assert f"artifact: {artifact}" in result.stdout
    meta = json.loads(artifact.read_text())
    assert meta["training_window"]["end"] == "2024-06-29T23:00:00+00:00"
    first = artifact.read_bytes(), artifact.with_suffix(".npz").read_bytes()
    assert atb(*args).returncode == 0
    assert (artifact.read_bytes(), artifact.with_suffix(".npz").read_bytes()) == first

    checked = atb(
        "check-strategy", "ml_basic", "--data", str(sample_csv), "--symbol", "BTCUSDT",
        "--start", "2024-07-01", "--samples", "10", model_dir=tmp_path,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "PASS ml_basic" in checked.stdout


def test_train_refuses_other_strategies() -> None:
    result = atb("train", "sma_cross", "--symbol", "DEMO")
    assert result.returncode == 2
    assert "only ml_basic can be trained" in result.stderr
