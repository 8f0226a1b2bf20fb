"""Issue 6's acceptance for ml_basic: trained on the first half of the real sample, backtested
on the second with default costs and policies, the managers really act and the annualised
metrics come from bar time."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.support.cli import run_atb


def test_ml_basic_uses_partials_trailing_and_scale_ins(sample_csv: Path, tmp_path: Path) -> None:
    env = {"ATB_MODEL_DIR": str(tmp_path / "models")}
    trained = run_atb(
        "train", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(sample_csv), "--end", "2024-06-30", env=env,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    overlapping = run_atb(
        "backtest", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(sample_csv), "--start", "2024-06-01", "--out", str(tmp_path / "x"), env=env,
    )  # fmt: skip
    assert overlapping.returncode == 2
    assert "overlaps model" in overlapping.stderr
    assert not (tmp_path / "x").exists()

    out = tmp_path / "run"
    result = run_atb(
        "backtest", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(sample_csv), "--start", "2024-07-01", "--out", str(out), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "result.json").read_text())
    kinds = Counter(leg["kind"] for trade in document["trades"] for leg in trade["legs"])
    reasons = Counter(trade["exit_reason"] for trade in document["trades"])
    assert kinds["partial-exit"] > 0
    assert kinds["scale-in"] > 0
    assert reasons["trailing stop"] > 0
    metrics = document["metrics"]
    assert metrics["cagr"] not in (0, None)
    assert metrics["sharpe"] not in (0, None)
    # Annualised from bar time: the window is 2024-07-01 → 2025-01-20 (203 days), whatever
    # the date the test runs on.
    assert abs(metrics["years"] - 203 / 365.25) < 0.01
    assert document["strategy"]["model_id"]
