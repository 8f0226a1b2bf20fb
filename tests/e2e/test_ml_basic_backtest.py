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
    # The rule is the run's, so a live replay and a parity replay of the same bars refuse too
    # (one line, exit 2), and the live store the replay would have created does not appear.
    store = tmp_path / "live.sqlite3"
    replayed = run_atb(
        "live", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--replay", str(sample_csv), "--db", str(store), "--log-format", "json", env=env,
    )  # fmt: skip
    assert replayed.returncode == 2, replayed.stderr
    refusal = [line for line in replayed.stderr.splitlines() if line.startswith("error:")]
    assert len(refusal) == 1
    assert "the live session window" in refusal[0]
    assert "overlaps model" in refusal[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["models"]
    compared = run_atb(
        "parity", "--data", str(sample_csv), "--strategy", "ml_basic", "--symbol", "BTCUSDT",
        "--timeframe", "1h", env=env,
    )  # fmt: skip
    assert compared.returncode == 2, compared.stderr
    assert "overlaps model" in compared.stderr

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
