"""`atb live --replay` ends with the summary `atb backtest` prints, built from the session's own
store; on the same candles its numbers are the backtest's."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from atb.reporting.display import HEADLINES
from tests.support.candle_frames import make_candles
from tests.support.cli import run_atb

STRATEGY = (
    "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
    "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.01",
    "--param", "allow_short=true", "--set", "trailing=on", "--set", "partials=on",
    "--set", "risk.max_position=0.5",
)  # fmt: skip
COSTS = (
    "Initial balance", "Net profit", "Fees paid", "Slippage paid", "Buy & hold return",
    "Excess over hold", "Partial exits", "Scale-ins", "Long / short",
)  # fmt: skip
WIDE = {"COLUMNS": "200"}


def table_value(summary: str, label: str) -> str:
    """The value beside `label` in the summary's (ASCII, piped) two-column tables."""
    found = re.search(rf"\| {re.escape(label)} +\| +([^|]*?) +\|", summary)
    assert found is not None, f"{label!r} not in:\n{summary}"
    return found.group(1)


def test_replay_summary_headline_metrics_equal_the_backtest_of_the_same_candles(
    tmp_path: Path,
) -> None:
    candles = make_candles(700, start="2024-03-01", seed=11)
    data = tmp_path / "candles.csv"
    candles.to_csv(data)
    live = run_atb(
        "live", *STRATEGY, "--paper-trading", "--replay", str(data),
        "--db", str(tmp_path / "live.sqlite3"), env=WIDE,
    )  # fmt: skip
    assert live.returncode == 0, live.stderr[-2000:]
    # The live engine starts with the run's 21 bars of history (slow=20, plus one); the
    # backtest trades from the same bar on.
    first = pd.Timestamp(candles.index[21]).isoformat()
    backtest = run_atb(
        "backtest", *STRATEGY, "--data", str(data), "--start", first,
        "--out", str(tmp_path / "backtest"), env=WIDE,
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr

    summary, reference = live.stdout, backtest.stdout
    assert summary.startswith("Live session 1 (paper): sma_cross on BTCUSDT 1h\n")
    assert reference.startswith("Backtest sma_cross on BTCUSDT 1h\n")
    assert summary.splitlines()[1] == reference.splitlines()[1]  # window and bar count
    assert "· 679 bars" in summary.splitlines()[1]
    for label in [headline.label for headline in HEADLINES] + list(COSTS):
        assert table_value(summary, label) == table_value(reference, label), label
    assert int(table_value(summary, "Trades")) > 5
    assert int(table_value(summary, "Partial exits")) > 0
    # Exits by reason, dynamic-risk tiers, stop moves: the same tables, line for line.
    exits = summary[summary.index("Exits by reason") : summary.index("Ambiguous bars")]
    assert exits == reference[reference.index("Exits by reason") : reference.index("Ambiguous")]
    assert "stop move(s)" in exits
