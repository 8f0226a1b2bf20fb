"""The research commands over a portfolio, as a user runs them (the real `atb`, subprocess):
`check-strategy --symbols`, `train ml_basic --symbols` (a model per symbol, then an ml_basic
portfolio backtest on them) and `backtest --rerun` of a portfolio's result.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_atb
from tests.support.portfolio_pairs import SYNTHETIC, write_pairs

SYMBOLS = ",".join(SYNTHETIC)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("pairs"), bars=1400)


def _rules(pairs: Path) -> tuple[str, ...]:
    return ("--instruments", str(pairs / "instruments.toml"))


def _document(path: Path) -> dict[str, object]:
    document = json.loads(path.read_text())
    assert isinstance(document, dict)
    document.pop("run")
    return document


def test_check_strategy_checks_every_symbol(pairs: Path) -> None:
    done = run_atb(
        "check-strategy", "sma_cross", "--symbols", SYMBOLS, "--timeframe", "1h",
        "--data", str(pairs),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sma_cross: look-ahead and history-length bias, per symbol" in done.stdout
    for symbol in SYNTHETIC:
        assert f"data {symbol}: " in done.stdout
    assert [symbol for symbol in SYNTHETIC if f"{symbol} │ PASS" in done.stdout] == list(SYNTHETIC)


def test_check_strategy_fails_when_one_symbol_leaks(pairs: Path) -> None:
    done = run_atb(
        "check-strategy", "tests.unit.strategies.leaky:LookAheadStrategy",
        "--symbols", SYMBOLS, "--timeframe", "1h", "--data", str(pairs),
    )  # fmt: skip
    assert done.returncode == 1
    assert [symbol for symbol in SYNTHETIC if f"{symbol} │ FAIL" in done.stdout] == list(SYNTHETIC)
    assert "FAIL AAABTC: look-ahead" in done.stderr


def test_train_a_model_per_symbol_then_backtest_and_rerun_the_portfolio(
    pairs: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    trained = run_atb(
        "train", "ml_basic", "--symbols", SYMBOLS, "--timeframe", "1h", "--data", str(pairs),
        "--end", "2024-02-05", "--model-dir", str(models),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "ml_basic 1h: held-out metrics per symbol" in trained.stdout
    artifacts = sorted(path.name for path in models.glob("*.json"))
    assert artifacts == [f"ml_basic_{symbol}_1h.json" for symbol in SYNTHETIC]
    for symbol in SYNTHETIC:
        meta = json.loads((models / f"ml_basic_{symbol}_1h.json").read_text())
        assert meta["training_window"]["end"] == "2024-02-04T23:00:00+00:00"

    out = tmp_path / "backtest"
    backtest = run_atb(
        "backtest", "ml_basic", "--symbols", SYMBOLS, "--timeframe", "1h", "--data", str(pairs),
        *_rules(pairs), "--start", "2024-02-06", "--model-dir", str(models), "--out", str(out),
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr
    recorded = _document(out / "result.json")
    parts = recorded["symbols"]
    assert isinstance(parts, list)
    model_ids = [part["model_id"] for part in parts]
    assert len(set(model_ids)) == 3  # a model per symbol, each recorded
    trades = recorded["trades"]
    assert isinstance(trades, list)
    assert len(trades) > 0
    again = run_atb("backtest", "--rerun", str(out / "result.json"), "--out", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    assert _document(tmp_path / "b" / "result.json") == recorded

    retrained = run_atb(
        "train", "ml_basic", "--symbol", "BBBBTC", "--timeframe", "1h",
        "--data", str(pairs / "BBBBTC_1h.csv"), "--end", "2024-02-04", "--model-dir", str(models),
    )  # fmt: skip
    assert retrained.returncode == 0, retrained.stderr
    refused = run_atb("backtest", "--rerun", str(out / "result.json"), "--out", str(tmp_path / "c"))
    assert refused.returncode == 2
    assert f"BBBBTC's run used model {model_ids[1]}, but" in refused.stderr


def test_a_portfolio_rerun_is_identical_and_refuses_changed_data(
    pairs: Path, tmp_path: Path
) -> None:
    data = write_pairs(tmp_path / "pairs", bars=900)
    out = tmp_path / "run"
    first = run_atb(
        "backtest", "sma_cross", "--symbols", SYMBOLS, "--timeframe", "1h", "--data", str(data),
        *_rules(data), "--set", "risk.max_positions=2", "--set", "correlation=on",
        "--param", "stop_loss=0.01", "--out", str(out),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    rerun = run_atb("backtest", "--rerun", str(out / "result.json"), "--out", str(tmp_path / "b"))
    assert rerun.returncode == 0, rerun.stderr
    assert _document(tmp_path / "b" / "result.json") == _document(out / "result.json")
    assert (tmp_path / "b" / "equity.csv").read_bytes() == (out / "equity.csv").read_bytes()

    lines = (data / "BBBBTC_1h.csv").read_text().splitlines()
    fields = lines[500].split(",")
    fields[4] = f"{float(fields[4]) * 1.001:.6f}"  # one close moves inside the bar's range
    fields[2] = f"{max(float(fields[2]), float(fields[4])):.6f}"
    lines[500] = ",".join(fields)
    (data / "BBBBTC_1h.csv").write_text("\n".join(lines) + "\n")
    refused = run_atb("backtest", "--rerun", str(out / "result.json"), "--out", str(tmp_path / "c"))
    assert refused.returncode == 2
    assert "BBBBTC's candles no longer match the run" in refused.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "c").exists()
