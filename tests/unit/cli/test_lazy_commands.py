"""`atb --help` lists every subcommand without importing any of them, and each listed summary is
the subcommand's own one-line help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atb.cli.main import SUBCOMMANDS, Subcommand
from tests.support.candle_frames import make_candles
from tests.support.cli import run_atb

HEAVY = ("pandas", "numpy", "plotly", "ray", "optuna", "rich", "atb.engines", "atb.strategies")


@pytest.mark.parametrize("entry", SUBCOMMANDS, ids=lambda entry: entry.name)
def test_each_summary_is_the_command_s_own_help(entry: Subcommand) -> None:
    command = entry.load()
    assert command.get_short_help_str(limit=1000) == entry.summary


def _run_and_list_imports(argv: list[str], unwanted: tuple[str, ...]) -> list[str]:
    """Run `atb ARGV` in a fresh interpreter; its output lines, the last one being the sorted
    list of `unwanted` modules (or their submodules) it imported."""
    script = (
        "import sys\n"
        "from atb.cli.main import main\n"
        f"main({argv!r})\n"
        f"print(sorted(name for name in sys.modules if name.split('.')[0] in {unwanted!r} "
        f"or name.startswith({unwanted!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip().splitlines()


def test_help_imports_no_subcommand_and_no_heavy_library() -> None:
    lines = _run_and_list_imports(["--help"], HEAVY)
    assert lines[-1] == "[]"
    listed = [line.split()[0] for line in lines if line.startswith("  ") and line.split()]
    assert [entry.name for entry in SUBCOMMANDS] == [
        name for name in listed if name in {entry.name for entry in SUBCOMMANDS}
    ]


def test_a_subcommand_s_own_help_loads_it() -> None:
    done = run_atb("optimize", "--help")
    assert done.returncode == 0, done.stderr
    assert "--walk-forward FOLDS" in done.stdout


def test_listing_the_strategies_imports_no_numpy_pandas_data_or_engine() -> None:
    # What the listing must not pay for: numpy (~0.1 s), pandas (~0.3 s) and the layers that
    # need them.
    unwanted = (
        "numpy",
        "pandas",
        "plotly",
        "ray",
        "optuna",
        "atb.data",
        "atb.engines",
        "atb.reporting",
    )
    lines = _run_and_list_imports(["strategies"], unwanted)
    assert lines[-1] == "[]"
    titles = [line.split(":")[0].strip() for line in lines if ": " in line and "─" not in line]
    for name in ("breakout", "buy_and_hold", "ml_basic", "rsi_mean_reversion", "sma_cross"):
        assert name in titles


def test_a_backtest_of_a_local_file_imports_no_client_and_no_portfolio(tmp_path: Path) -> None:
    # An HTTP client (~0.04 s), the portfolio engine and its reporting (~0.1 s) are for other
    # runs: a single symbol's backtest of a file does not pay for them.
    data = tmp_path / "BTCUSDT_1h.csv"
    make_candles(300, seed=3).to_csv(data)
    unwanted = (
        "httpx",
        "ccxt",
        "ray",
        "optuna",
        "atb.engines.portfolio",
        "atb.reporting.portfolio_files",
        "atb.cli.portfolio_backtest",
    )
    argv = ["backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h"]
    argv += ["--data", str(data), "--out", str(tmp_path / "out")]
    lines = _run_and_list_imports(argv, unwanted)
    assert lines[-1] == "[]"
    assert (tmp_path / "out" / "equity.csv").is_file()


def test_a_paper_session_on_a_replay_imports_no_exchange_client(tmp_path: Path) -> None:
    # ccxt takes about a second to import; only a session that uses the exchange needs it.
    data = tmp_path / "BTCUSDT_1h.csv"
    make_candles(120, seed=5).to_csv(data)
    argv = ["live", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading"]
    argv += ["--replay", str(data), "--db", str(tmp_path / "live.sqlite3")]
    lines = _run_and_list_imports(argv, ("ccxt", "atb.cli.live_trading", "atb.venues.ccxt_binance"))
    assert lines[-1] == "[]"
    assert (tmp_path / "live.sqlite3").is_file()


@pytest.mark.parametrize(
    "command", ["live", "parity", "train", "check-strategy", "data", "sandbox", "assumptions"]
)
def test_a_command_that_writes_no_report_or_order_imports_neither_plotly_nor_ccxt(
    command: str,
) -> None:
    # plotly (~0.1 s) writes report pages, ccxt (~1 s) talks to an exchange: these commands'
    # own help loads the whole command module, which must not need either.
    lines = _run_and_list_imports([command, "--help"], ("plotly", "ccxt", "ray", "optuna"))
    assert lines[-1] == "[]"
    assert any(line.startswith("Usage: atb ") for line in lines)
