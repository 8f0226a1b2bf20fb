"""Markets far from BTCUSDT, as a user runs them: the five real BTC-quoted 5-minute pairs of
`../shared/data/portfolio/` (prices ~0.015–0.1 BTC), with stops, targets, trailing stops and
partials on, with the rules given on the command line and with rules inferred from the data.

Each run must exit 0, record the rules it used, keep every fill inside the configured slippage
(one tick of rounding against the trader aside), never put a stop or target at 0, and give a
live replay identical to the backtest. `atb train` fits ml_basic on each pair, and its backtest
uses the same rules. Runs use a 1,200-bar slice of each file to keep the suite quick.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import run_atb

PORTFOLIO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "portfolio"
PAIRS = ("DASHBTC", "ETHBTC", "LTCBTC", "XMRBTC", "ZECBTC")
SLICE_BARS = 1_200
SLIPPAGE = 0.0005
GIVEN_RULES = ("--tick-size", "0.000001", "--lot-step", "0.001", "--min-notional", "0.001")
POLICIES = (
    "--set", f"costs.slippage={SLIPPAGE}",
    "--set", "trailing.activation_pct=0.003", "--set", "trailing.distance_pct=0.002",
    "--set", "partials.exit_targets=[[0.004, 0.25], [0.008, 0.25]]",
    "--set", "partials.scale_in_thresholds=[[0.002, 0.25]]",
    "--set", "risk.max_position=0.5",
)  # fmt: skip
SMA = (
    "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.01",
    "--param", "take_profit=0.015", "--param", "allow_short=true",
)  # fmt: skip


@pytest.fixture(scope="module", params=PAIRS)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    name = str(request.param)
    files = sorted(PORTFOLIO.glob(f"{name}_5m_*.csv"))
    if not files:
        pytest.skip(f"portfolio sample not found in {PORTFOLIO}")
    path = tmp_path_factory.mktemp(name) / f"{name}.csv"
    pd.read_csv(files[0]).iloc[:SLICE_BARS].to_csv(path, index=False)
    return path


def _symbol(path: Path) -> str:
    return path.stem


def _check_fills(document: dict[str, object], lowest: float) -> dict[str, int]:
    """Every leg inside the slippage budget and at a real price; counts of leg kinds."""
    instrument = document["instrument"]
    assert isinstance(instrument, dict)
    tick = float(instrument["tick_size"])
    kinds: dict[str, int] = {}
    trades = document["trades"]
    assert isinstance(trades, list)
    for trade in trades:
        for leg in trade["legs"]:
            kinds[leg["kind"]] = kinds.get(leg["kind"], 0) + 1
            price, quantity = leg["price"], leg["quantity"]
            assert price >= lowest * 0.9, leg
            moved = leg["slippage"] / quantity  # |fill − reference| per unit
            reference = price + moved if leg["action"] == "sell" else price - moved
            assert moved <= SLIPPAGE * reference + tick + 1e-15, leg
    return kinds


def test_backtest_with_given_and_inferred_rules(pair: Path, tmp_path: Path) -> None:
    symbol = _symbol(pair)
    lowest = float(pd.read_csv(pair)["low"].min())
    common = ("backtest", "sma_cross", "--symbol", symbol, "--timeframe", "5m")
    given = run_atb(
        *common, "--data", str(pair), *SMA, *POLICIES, *GIVEN_RULES,
        "--initial-balance", "1", "--out", str(tmp_path / "given"),
    )  # fmt: skip
    assert given.returncode == 0, given.stderr
    assert "instrument: tick 1e-06 · lot 0.001 · min order 0.001 (command line)" in given.stdout
    document = json.loads((tmp_path / "given" / "result.json").read_text())
    assert document["instrument"]["source"] == "command line"
    kinds = _check_fills(document, lowest)
    assert kinds["entry"] > 10
    assert kinds["partial-exit"] > 10
    assert kinds["scale-in"] > 10
    assert document["stop_moves"]["count"] > 0

    inferred = run_atb(
        *common, "--data", str(pair), *SMA, *POLICIES,
        "--initial-balance", "1", "--out", str(tmp_path / "inferred"),
    )  # fmt: skip
    assert inferred.returncode == 0, inferred.stderr
    assert "tick 1e-08 inferred from the data's price precision" in inferred.stdout
    document = json.loads((tmp_path / "inferred" / "result.json").read_text())
    assert document["instrument"]["tick_size"] == 1e-08
    assert any("inferred" in warning for warning in document["warnings"])
    _check_fills(document, lowest)


@pytest.mark.parametrize("rules", ["inferred", "given"])
def test_parity_replay_is_identical(pair: Path, rules: str) -> None:
    given = GIVEN_RULES if rules == "given" else ()
    result = run_atb(
        "parity", "--data", str(pair), "--strategy", "sma_cross", "--symbol", _symbol(pair),
        "--timeframe", "5m", *SMA, *POLICIES, *given, "--initial-balance", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical: session 1" in result.stdout
    # Inferred rules are said aloud; given ones are not.
    assert ("warning: instrument" in result.stderr) == (rules == "inferred")


def test_train_then_backtest_ml_basic(pair: Path, tmp_path: Path) -> None:
    symbol = _symbol(pair)
    times = pd.read_csv(pair)["timestamp"]
    split = str(times.iloc[800])
    models = tmp_path / "models"
    trained = run_atb(
        "train", "ml_basic", "--symbol", symbol, "--timeframe", "5m", "--data", str(pair),
        "--end", split, "--model-dir", str(models),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "artifact:" in trained.stdout
    ran = run_atb(
        "backtest", "ml_basic", "--symbol", symbol, "--timeframe", "5m", "--data", str(pair),
        "--start", split, "--model-dir", str(models), "--param", "allow_short=true",
        *POLICIES, *GIVEN_RULES, "--initial-balance", "1", "--out", str(tmp_path / "ml"),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    document = json.loads((tmp_path / "ml" / "result.json").read_text())
    _check_fills(document, float(pd.read_csv(pair)["low"].min()))
