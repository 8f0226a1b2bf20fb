"""`atb assumptions` as a user runs it, and the same assumptions in a backtest's outputs."""

from __future__ import annotations

import json
from pathlib import Path

from atb.config import config_from_assignments
from atb.managers.run_config import RunConfiguration
from atb.reporting.assumptions import assumptions, render_assumptions_markdown
from tests.support.cli import run_atb


def test_defaults_print_the_committed_page() -> None:
    result = run_atb("assumptions")
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_assumptions_markdown(RunConfiguration.default())
    assert "0.05 % (5 bps)" in result.stdout
    assert "## Not modelled" in result.stdout


def test_set_config_file_and_timeframe_change_the_text(tmp_path: Path) -> None:
    toml = tmp_path / "risk.toml"
    toml.write_text('[fills]\ntiming = "close"\n\n[costs]\nslippage = 0.001\n', encoding="utf-8")
    result = run_atb(
        "assumptions",
        "--config", str(toml),
        "--set", "costs.slippage=0",  # --set wins over the file
        "--set", "partials=on",
        "--timeframe", "4h",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = config_from_assignments(["fills.timing=close", "costs.slippage=0", "partials=on"])
    assert result.stdout == render_assumptions_markdown(config, timeframe="4h")
    assert "close of the very bar that decided them" in result.stdout
    assert "There is no slippage" in result.stdout
    assert "closed 4h bars" in result.stdout
    assert "+3 %, +6 %, +10 %" in result.stdout


def test_bad_input_is_a_one_line_error() -> None:
    unknown = run_atb("assumptions", "--set", "costs.slipage=0")
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    assert unknown.stderr.strip() == (
        "error: costs.slipage: unknown key, got 0 (valid keys: taker_fee, maker_fee, slippage; "
        "did you mean 'slippage'?)"
    )
    timeframe = run_atb("assumptions", "--timeframe", "7x")
    assert timeframe.returncode == 2
    assert "unknown timeframe '7x'" in timeframe.stderr
    missing = run_atb("assumptions", "--config", "/nonexistent/risk.toml")
    assert missing.returncode == 2
    assert "config file /nonexistent/risk.toml: not found" in missing.stderr


def test_listed_in_help() -> None:
    result = run_atb("--help")
    assert result.returncode == 0, result.stderr
    assert "assumptions" in result.stdout


def test_backtest_outputs_carry_the_run_assumptions(sample_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_atb(
        "backtest", "sma_cross", "--data", str(sample_csv),
        "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--start", "2024-06-01", "--end", "2024-07-01",
        "--set", "fills.timing=close", "--set", "trailing=on",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "result.json").read_text(encoding="utf-8"))
    config = config_from_assignments(["fills.timing=close", "trailing=on"])
    clamped = document["clamped_fills"]
    listed = assumptions(config, timeframe="1h", clamped_fills=clamped)
    expected = [item.as_dict() for item in listed]
    assert list(document)[-1] == "assumptions"
    assert document["assumptions"] == expected
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="assumptions">Assumptions</h2>' in page
    assert "close of the very bar that decided them" in page
