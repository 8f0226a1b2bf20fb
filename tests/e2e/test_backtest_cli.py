"""`atb backtest` as a user runs it: the real executable, real files, real data."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import run_atb

SEED_ARGS = (
    "--symbol", "BTCUSDT", "--timeframe", "1h",
    "--param", "fast=10", "--param", "slow=30",
    "--param", "stop_loss=0.02", "--param", "take_profit=0.04",
    "--set", "costs.slippage=0", "--set", "risk.max_position=1.0", "--set", "dynamic_risk=None",
)  # fmt: skip


def test_issue_command_writes_four_files_and_is_deterministic(
    sample_csv: Path, tmp_path: Path
) -> None:
    documents = []
    for name in ("first", "second"):
        out = tmp_path / name
        result = run_atb(
            "backtest", "sma_cross", "--data", str(sample_csv), *SEED_ARGS, "--out", str(out)
        )
        assert result.returncode == 0, result.stderr
        assert sorted(path.name for path in out.iterdir()) == [
            "equity.csv",
            "report.html",
            "result.json",
            "trades.csv",
        ]
        assert "Total return" in result.stdout
        assert f"Report: {out / 'report.html'}" in result.stdout.replace("\n", "")
        documents.append(json.loads((out / "result.json").read_text()))
    first, second = documents
    # Only the wall-clock stamp may differ (two quick runs can share a second).
    for document in documents:
        stamp = datetime.fromisoformat(document["run"].pop("created_at"))
        assert stamp.utcoffset() == timedelta(0)
    assert first == second
    assert first["data"]["bars"] == 18_000
    assert first["metrics"]["n_trades"] == 54
    assert (tmp_path / "first" / "trades.csv").read_bytes() == (
        tmp_path / "second" / "trades.csv"
    ).read_bytes()
    with (tmp_path / "first" / "trades.csv").open() as handle:
        legs = list(csv.DictReader(handle))
    assert len(legs) == 2 * 54  # entry and exit leg per trade, one row each


def test_the_curve_in_parquet_replaces_a_csv_run_with_the_same_numbers(
    sample_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    common = ("backtest", "sma_cross", "--data", str(sample_csv), *SEED_ARGS, "--out", str(out))
    text = run_atb(*common, "--end", "2023-06-01")
    assert text.returncode == 0, text.stderr
    curve = pd.read_csv(out / "equity.csv")
    binary = run_atb(*common, "--end", "2023-06-01", "--force", "--equity-format", "parquet")
    assert binary.returncode == 0, binary.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "equity.parquet",
        "report.html",
        "result.json",
        "trades.csv",
    ]
    assert "equity.parquet" in binary.stdout  # the summary names the file written
    document = json.loads((out / "result.json").read_text())
    assert document["equity_curve"]["file"] == "equity.parquet"
    assert document["equity_curve"]["bars"] == len(curve) > 3000
    frame = pd.read_parquet(out / "equity.parquet")
    assert list(frame.columns) == list(curve.columns)
    # pandas reads a float's shortest text back to the very float: the same bits.
    assert pd.to_datetime(curve["time"]).tolist() == frame["time"].tolist()
    assert frame.drop(columns="time").to_numpy().tolist() == (
        curve.drop(columns="time").to_numpy().tolist()
    )
    refused = run_atb(*common, "--force", "--equity-format", "xml")
    assert refused.returncode == 2
    assert "Error: Invalid value for '--equity-format': 'xml' is not one of 'csv', 'parquet'." in (
        refused.stderr
    )
    assert sorted(path.name for path in out.iterdir())[0] == "equity.parquet"  # untouched


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope",), "error: unknown strategy 'nope'"),
        (("sma_cross", "--param", "fats=3"), "error: unknown parameter fats"),
        (("sma_cross", "--set", "costs.slipage=0"), "error: costs.slipage: unknown key"),
        (("sma_cross", "--start", "2030-01-01"), "error:"),
        (("sma_cross", "--set", "risk.max_position=-1"), "error: risk.max_position"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output_folder(
    sample_csv: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out"
    result = run_atb(
        "backtest", *args, "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(sample_csv), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_data_for_a_real_symbol_explains_how_to_get_it(tmp_path: Path) -> None:
    result = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--days", "30", "--end", "2025-01-20", "--exchange-url", "http://127.0.0.1:9",
        env={"ATB_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.returncode == 2
    assert "atb data download" in result.stderr or "atb data import" in result.stderr
