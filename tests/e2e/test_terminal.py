"""Every command people run interactively, in a real pseudo-terminal (120×40, xterm-256color),
asserting on what the screen shows; and the same command piped, asserting the pipe gets plain
text: no escape code, no carriage return.

Issue 11: `atb backtest` crashed in every terminal (its progress bar formatted an unknown
total) while every piped test passed, because only a terminal gets the bar.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.candle_frames import make_candles
from tests.support.cli import ATB, ROOT
from tests.support.fake_binance import FakeBinance
from tests.support.terminal import TerminalRun, run_in_pipe, run_in_terminal

BAR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC  close [\d,.]+  (flat|long|short)")
REPLAY_BARS = 300 - 31  # the file's bars after sma_cross's 31 bars of history


def terminal(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> TerminalRun:
    run = run_in_terminal([str(ATB), *args], env=env, cwd=cwd)
    assert "Traceback" not in run.screen, run.describe()
    return run


def piped(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = run_in_pipe([str(ATB), *args], env=env)
    assert_plain(result)
    return result


def assert_plain(result: subprocess.CompletedProcess[str]) -> None:
    """A pipe gets text: no escape sequence, no carriage return, no traceback."""
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert "\x1b" not in text, f"escape codes on {name}: {text[:300]!r}"
        assert "\r" not in text, f"carriage returns on {name}: {text[:300]!r}"
        assert "Traceback" not in text, text


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 hourly bars: sma_cross's 31 bars of history, then 269 to trade."""
    path = tmp_path_factory.mktemp("replay") / "candles.csv"
    make_candles(300, start="2024-03-01", seed=11).to_csv(path)
    return path


def test_help(tmp_path: Path) -> None:
    run = terminal("--help")
    assert run.exit_code == 0, run.describe()
    for command in ("backtest", "live", "parity", "data", "train", "check-strategy"):
        assert f"  {command} " in run.screen
    assert "Commands:" in piped("--help").stdout


def test_backtest_shows_progress_then_the_summary_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("backtest", "sma_cross", "--symbol", "DEMO", "--timeframe", "1h", "--days", "30")
    run = terminal(*args, "--out", str(out))
    assert run.exit_code == 0, run.describe()
    screen = run.screen
    progress = screen.index("backtest sma_cross DEMO 1h")
    assert "/720 bars" in screen[progress:]
    performance = screen.index("Performance")
    assert progress < performance
    assert "╭" in screen[performance:]  # drawn for a terminal: rounded box borders
    assert f"Report: {out / 'report.html'}" in screen.replace("\n", "")
    assert (out / "report.html").is_file()

    result = piped(*args, "--out", str(tmp_path / "piped"))
    assert result.returncode == 0
    assert "Performance" in result.stdout
    assert "+----" in result.stdout  # ASCII borders in a pipe
    assert result.stderr == ""  # quick work: the pipe gets no progress lines


def test_parity_replay_shows_progress_then_the_verdict(replay_file: Path) -> None:
    args = (
        "parity", "--data", str(replay_file), "--strategy", "sma_cross",
        "--symbol", "BTCUSDT", "--timeframe", "1h", "--param", "stop_loss=0.02",
    )  # fmt: skip
    run = terminal(*args)
    assert run.exit_code == 0, run.describe()
    screen = run.screen
    progress = screen.index("replay sma_cross BTCUSDT 1h")
    assert f"/{REPLAY_BARS} bars" in screen[progress:]
    verdict = screen.index(f"identical: session 1, {REPLAY_BARS} bars")
    assert progress < verdict

    result = piped(*args)
    assert result.returncode == 0
    assert result.stdout.startswith(f"identical: session 1, {REPLAY_BARS} bars")
    assert result.stderr == ""


def test_live_replay_shows_progress_and_ends_with_the_summary(
    replay_file: Path, tmp_path: Path
) -> None:
    args = (
        "live", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--replay", str(replay_file), "--param", "stop_loss=0.02",
    )  # fmt: skip
    run = terminal(*args, "--db", str(tmp_path / "tty.sqlite3"))
    assert run.exit_code == 0, run.describe()
    screen = run.screen
    assert '{"event"' not in screen  # a terminal gets the text log, not JSON
    started = screen.index("session 1 started with 31 warm-up bars")
    progress = screen.index("replay sma_cross BTCUSDT 1h", started)
    assert f"/{REPLAY_BARS} bars" in screen[progress:]
    summary = screen.index("Live session 1 (paper): sma_cross on BTCUSDT 1h", progress)
    assert f"· {REPLAY_BARS} bars" in screen[summary:]
    assert "Performance" in screen[summary:]
    assert "Exits by reason" in screen[summary:]
    assert not BAR_LINE.search(screen)  # an unpaced replay: a progress display, no bar lines

    result = piped(*args, "--db", str(tmp_path / "pipe.sqlite3"))
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stderr.splitlines()]  # JSON in a pipe
    assert events[0]["event"] == "session_started"
    assert events[-1]["event"] == "stopped"
    assert result.stdout.startswith("Live session 1 (paper): sma_cross on BTCUSDT 1h")
    assert "Performance" in result.stdout


def test_live_text_log_is_one_line_per_closed_bar(replay_file: Path, tmp_path: Path) -> None:
    """What someone watching a polling session sees; a paced replay stands in for the exchange."""
    args = (
        "live", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--replay", str(replay_file), "--pace", "0.001", "--param", "stop_loss=0.02",
    )  # fmt: skip
    run = terminal(*args, "--db", str(tmp_path / "tty.sqlite3"))
    assert run.exit_code == 0, run.describe()
    lines = run.screen.splitlines()
    bar_lines = [line for line in lines if BAR_LINE.match(line)]
    assert len(bar_lines) == REPLAY_BARS
    assert bar_lines[0].startswith("2024-03-02 07:00 UTC  close ")  # the 32nd bar
    assert any("entry buy" in line and line.split("  ")[2].startswith("long") for line in lines)
    assert any("closed, PnL " in line for line in bar_lines)
    assert lines.index("session 1 stopped") > lines.index(bar_lines[-1])
    assert "Live session 1 (paper): sma_cross" in run.screen

    result = piped(*args, "--db", str(tmp_path / "pipe.sqlite3"), "--log-format", "text")
    assert result.returncode == 0
    logged = result.stderr.splitlines()
    assert [line for line in logged if BAR_LINE.match(line)] == bar_lines
    assert logged[0] == "session 1 started with 31 warm-up bars"


def test_train_prints_a_start_line_then_the_metrics(tmp_path: Path) -> None:
    args = (
        "train", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h",
        "--start", "2024-01-01", "--end", "2024-07-01",
    )  # fmt: skip
    run = terminal(*args, "--model-dir", str(tmp_path / "tty"))
    assert run.exit_code == 0, run.describe()
    screen = run.screen
    start = screen.index("data: synthetic DEMO market")
    assert start < screen.index("held-out metrics") < screen.index("artifact: ")
    assert "training ml_basic DEMO 1h on 4,368 bars" in screen  # the spinner while fitting

    result = piped(*args, "--model-dir", str(tmp_path / "pipe"))
    assert result.returncode == 0
    assert result.stdout.startswith("data: synthetic DEMO market")
    assert "artifact: " in result.stdout


@pytest.fixture
def exchange() -> Iterator[FakeBinance]:
    with FakeBinance(make_candles(3000, start="2024-01-01")) as fake:
        yield fake


def test_data_download_shows_progress_then_what_it_fetched(
    exchange: FakeBinance, tmp_path: Path
) -> None:
    args = (
        "data", "download", "--symbol", "BTCUSDT", "--timeframe", "1h", "--days", "30",
        "--end", "2024-03-01", "--exchange-url", exchange.url,
    )  # fmt: skip
    run = terminal(*args, env={"ATB_DATA_DIR": str(tmp_path / "tty")})
    assert run.exit_code == 0, run.describe()
    screen = run.screen
    progress = screen.index("download BTCUSDT 1h")
    assert "/720 bars" in screen[progress:]
    assert progress < screen.index("downloaded 720 BTCUSDT 1h bars")

    result = piped(*args, env={"ATB_DATA_DIR": str(tmp_path / "pipe")})
    assert result.returncode == 0
    assert "downloaded 720 BTCUSDT 1h bars" in result.stdout
    assert result.stderr == ""


def test_data_import_and_list(tmp_path: Path) -> None:
    csv = tmp_path / "candles.csv"
    make_candles(500, start="2024-01-01").to_csv(csv)
    env = {"ATB_DATA_DIR": str(tmp_path / "cache")}
    imported = terminal(
        "data", "import", str(csv), "--symbol", "BTCUSDT", "--timeframe", "1h", env=env
    )
    assert imported.exit_code == 0, imported.describe()
    assert "imported 500 BTCUSDT 1h bars" in imported.screen
    listed = terminal("data", "list", env=env)
    assert listed.exit_code == 0, listed.describe()
    row = next(line for line in listed.screen.splitlines() if "BTCUSDT" in line and "│" in line)
    assert "500" in row

    assert "imported 500" in piped("data", "import", str(csv), "--symbol", "BTCUSDT",
                                   "--timeframe", "1h", env=env).stdout  # fmt: skip
    assert "BTCUSDT" in piped("data", "list", env=env).stdout


def test_strategies_and_check_strategy() -> None:
    strategies = terminal("strategies")
    assert strategies.exit_code == 0, strategies.describe()
    assert "sma_cross" in strategies.screen
    assert "│ fast" in strategies.screen
    assert "sma_cross" in piped("strategies").stdout

    args = ("check-strategy", "sma_cross", "--days", "60", "--samples", "10")
    checked = terminal(*args)
    assert checked.exit_code == 0, checked.describe()
    assert "PASS sma_cross" in checked.screen
    assert "PASS sma_cross" in piped(*args).stdout


def test_assumptions() -> None:
    run = terminal("assumptions")
    assert run.exit_code == 0, run.describe()
    assert run.screen.startswith("# Backtest assumptions")
    assert piped("assumptions").stdout.startswith("# Backtest assumptions")


def test_make_demo_ends_with_the_summary_and_the_report_path() -> None:
    """`make demo` from a temporary folder with the test's venv: it trains once into that
    folder's .atb/models and writes the report under its results/ (never into the checkout)."""
    venv = Path(sys.executable).parent.parent
    make = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "demo", f"VENV={venv}"]
    checkout_before = _demo_outputs(ROOT)
    with tempfile.TemporaryDirectory(prefix="atb-demo-") as folder:
        here = Path(folder)
        run = run_in_terminal(make, cwd=here, timeout=600)
        assert run.exit_code == 0, run.describe()
        assert "Traceback" not in run.screen
        assert "artifact: .atb/models/ml_basic_DEMO_1h.json" in run.screen  # trained once
        (report,) = here.glob("results/ml_basic_DEMO_1h_*/report.html")
        lines = [line for line in run.screen.splitlines() if line.strip()]
        assert lines[-1].startswith("Report: ")
        assert Path(lines[-1].removeprefix("Report: ")).resolve() == report.resolve()
        tail = "\n".join(lines[-40:])
        assert "Performance" in tail
        assert "Backtest ml_basic on DEMO 1h" in run.screen

        again = run_in_pipe(make, cwd=here, timeout=600)  # the model is kept: no training
        assert again.returncode == 0, again.stderr
        assert_plain(again)
        assert "artifact:" not in again.stdout
        # A pipe is 80 columns wide unless COLUMNS says otherwise: the path may wrap.
        shown = again.stdout.rstrip().rsplit("\nReport: ", 1)[1].replace("\n", "")
        assert Path(shown).parent.parent.resolve() == here.resolve() / "results"
    assert _demo_outputs(ROOT) == checkout_before


def _demo_outputs(folder: Path) -> list[Path]:
    return sorted([*folder.glob("results/*"), *folder.glob(".atb/models/*")])


def test_dashboard_says_where_it_listens_and_ctrl_c_ends_it(
    replay_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "watched.sqlite3"
    replay = piped(
        "live", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--replay", str(replay_file), "--db", str(db),
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    run = run_in_terminal(
        [str(ATB), "dashboard", "--db", str(db), "--port", "0"],
        interrupt_when="(read-only; 1 store)",
        timeout=60,
    )
    assert run.exit_code == 0, run.describe()
    assert "Traceback" not in run.screen, run.describe()
    assert re.search(r"dashboard on http://127\.0\.0\.1:\d+ \(read-only; 1 store\)", run.screen)
