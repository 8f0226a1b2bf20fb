"""`atb backtest --rerun result.json`: a run rebuilt from its result file alone is
bit-identical (but for its own timestamp), and a rerun whose data or model changed is refused
with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.support.cli import run_atb


def _without_timestamp(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    assert isinstance(document, dict)
    run = document.pop("run")
    assert set(run) == {"created_at", "atb_version"}
    return document


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    trained = run_atb(
        "train", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h",
        "--start", "2024-01-01", "--end", "2025-06-01", "--model-dir", str(folder),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    return folder


def test_ml_basic_rerun_is_bit_identical(models: Path, tmp_path: Path) -> None:
    first = run_atb(
        "backtest", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h", "--days", "20",
        "--model-dir", str(models), "--param", "allow_short=true",
        "--detail-timeframe", "15m", "--set", "costs.slippage=0.001",
        "--out", str(tmp_path / "first"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = run_atb(
        "backtest", "--rerun", str(tmp_path / "first" / "result.json"),
        "--out", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    original = _without_timestamp(tmp_path / "first" / "result.json")
    assert _without_timestamp(tmp_path / "again" / "result.json") == original
    for name in ("trades.csv", "equity.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()
    # The record is complete: the policies that acted are the strategy's bundle, and the
    # assumptions describe them although the configuration leaves trailing and partials off.
    assert original["config"]["trailing"] is None
    (used,) = original["policies"]
    assert used["trailing"]["distance_pct"] == 0.01
    assert used["partials"]["scale_in_thresholds"] == [[0.004, 0.25], [0.008, 0.25]]
    topics = {item["topic"]: item["text"] for item in original["assumptions"]}
    assert topics["Trailing stop and breakeven"].startswith(
        f"For {used['attached']} positions (set by the strategy): Breakeven"
    )
    assert "Off" not in topics["Partial exits and scale-ins"]


def test_a_rerun_takes_no_other_inputs(tmp_path: Path) -> None:
    result = run_atb("backtest", "--rerun", str(tmp_path / "r.json"), "--param", "fast=3")
    assert result.returncode == 2
    assert "--rerun takes its inputs from the result file; drop --param" in result.stderr
    missing = run_atb("backtest", "--rerun", str(tmp_path / "r.json"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {tmp_path / 'r.json'}: no such result file"


def test_changed_data_is_refused(sample_csv: Path, tmp_path: Path) -> None:
    data = tmp_path / "btc.csv"
    frame = pd.read_csv(sample_csv).iloc[:600]
    frame.to_csv(data, index=False)
    first = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(data), "--out", str(tmp_path / "first"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    volume = frame["volume"].to_numpy(dtype=float, copy=True)
    volume[300] += 1.0  # a change no validation can see
    frame = frame.assign(volume=volume)
    frame.to_csv(data, index=False)
    again = run_atb(
        "backtest", "--rerun", str(tmp_path / "first" / "result.json"),
        "--out", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.returncode == 2
    (line,) = again.stderr.strip().splitlines()
    assert "the candles no longer match the run" in line
    assert str(data) in line
    assert not (tmp_path / "again").exists()


def test_another_model_is_refused(models: Path, tmp_path: Path) -> None:
    first = run_atb(
        "backtest", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h", "--days", "10",
        "--model-dir", str(models), "--out", str(tmp_path / "first"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    other = tmp_path / "other-models"
    trained = run_atb(
        "train", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h",
        "--start", "2024-02-01", "--end", "2025-06-01", "--model-dir", str(other),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    again = run_atb(
        "backtest", "--rerun", str(tmp_path / "first" / "result.json"),
        "--model-dir", str(other), "--out", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.returncode == 2
    assert "point --model-dir at the run's model" in again.stderr
    assert not (tmp_path / "again").exists()


def test_a_rerun_drops_the_same_bad_prints(sample_csv: Path, tmp_path: Path) -> None:
    data = tmp_path / "btc.csv"
    frame = pd.read_csv(sample_csv).iloc[:600]
    low = frame["low"].to_numpy(dtype=float, copy=True)
    low[400] = 0.06  # a bad print that reverts within the bar
    frame = frame.assign(low=low)
    frame.to_csv(data, index=False)
    first = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(data), "--drop-outliers", "--out", str(tmp_path / "first"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    original = _without_timestamp(tmp_path / "first" / "result.json")
    assert original["data"]["drop_outliers"] is True
    (dropped,) = original["data"]["dropped_bars"]
    assert " low 0.06 " in dropped
    again = run_atb(
        "backtest", "--rerun", str(tmp_path / "first" / "result.json"),
        "--out", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert _without_timestamp(tmp_path / "again" / "result.json") == original


def test_fills_on_bars_that_traded_nothing_are_counted(sample_csv: Path, tmp_path: Path) -> None:
    data = tmp_path / "btc.csv"
    pd.read_csv(sample_csv).iloc[:600].assign(volume=0.0).to_csv(data, index=False)
    ran = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(data), "--out", str(tmp_path / "out"), env={"COLUMNS": "200"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    legs = sum(len(trade["legs"]) for trade in document["trades"])
    if document["open_position"] is not None:
        legs += len(document["open_position"]["legs"])
    assert legs > 0
    assert document["zero_volume_fills"] == legs
    assert f"! {legs} fill(s) on bars that traded nothing (volume 0)" in ran.stdout
