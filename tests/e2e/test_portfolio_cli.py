"""`atb backtest --symbols` as a user runs it: the real `atb` in a subprocess (and under a
pseudo-terminal), on synthetic BTC-quoted pairs written to files (always) and on the five real
pairs of `../shared/data/portfolio/` (skipped, with the reason, when absent).

A run writes the portfolio's four files; the same run with the symbols in another order, or the
data given as one file per symbol instead of a folder, writes the same numbers; bad input is one
line and exit code 2 with nothing written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.support.browser import dump_dom
from tests.support.candle_frames import make_candles
from tests.support.cli import run_atb
from tests.support.portfolio_pairs import SYNTHETIC, write_pairs
from tests.support.terminal import run_in_terminal, strip_escapes

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "portfolio"
REAL = ("DASHBTC", "ETHBTC", "LTCBTC", "XMRBTC", "ZECBTC")
POLICIES = (
    "--set", "trailing.activation_pct=0.003", "--set", "trailing.distance_pct=0.002",
    "--set", "partials.exit_targets=[[0.004, 0.25], [0.008, 0.25]]",
    "--set", "partials.scale_in_thresholds=[[0.002, 0.25]]",
    "--set", "risk.max_position=0.3", "--set", "risk.max_positions=3",
    "--set", "correlation=on",
)  # fmt: skip
SMA = (
    "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.01",
    "--param", "take_profit=0.015",
)  # fmt: skip


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three BTC-quoted 1h pairs (one with two missing bars) and their rules."""
    return write_pairs(tmp_path_factory.mktemp("pairs"), listed_later=0)


def _backtest(*extra: str) -> list[str]:
    return ["backtest", "sma_cross", "--timeframe", "1h", *SMA, *POLICIES, *extra]


def _document(folder: Path) -> dict[str, object]:
    document = json.loads((folder / "result.json").read_text())
    assert isinstance(document, dict)
    document.pop("run")
    return document


def test_a_portfolio_backtest_writes_its_files(synthetic: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_atb(
        *_backtest(
            "--symbols", "CCCBTC,AAABTC,BBBBTC", "--data", str(synthetic),
            "--instruments", str(synthetic / "instruments.toml"), "--out", str(out),
        )
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "equity.csv",
        "report.html",
        "result.json",
        "trades.csv",
    ]
    document = json.loads((out / "result.json").read_text())
    assert document["kind"] == "portfolio"
    assert document["schema_version"] == 1
    symbols = [part["data"]["symbol"] for part in document["symbols"]]
    assert symbols == list(SYNTHETIC)
    missing = {part["data"]["symbol"]: len(part["missing"]) for part in document["symbols"]}
    assert missing == {"AAABTC": 0, "BBBBTC": 2, "CCCBTC": 0}
    assert len(document["trades"]) > 10
    assert {trade["symbol"] for trade in document["trades"]} == set(SYNTHETIC)
    for symbol in SYNTHETIC:
        assert symbol in done.stdout  # the summary's row per symbol
    equity = pd.read_csv(out / "equity.csv")
    assert [f"exposure_{symbol}" for symbol in SYNTHETIC] == [
        column for column in equity.columns if column.startswith("exposure_")
    ]


def test_symbol_order_and_data_form_do_not_change_the_numbers(
    synthetic: Path, tmp_path: Path
) -> None:
    rules = ("--instruments", str(synthetic / "instruments.toml"))
    first = run_atb(
        *_backtest(
            "--symbols", "AAABTC,BBBBTC,CCCBTC", "--data", str(synthetic), *rules,
            "--out", str(tmp_path / "a"),
        )
    )  # fmt: skip
    files = [arg for symbol in ("BBBBTC", "CCCBTC", "AAABTC")
             for arg in ("--data", str(synthetic / f"{symbol}_1h.csv"))]  # fmt: skip
    # The second run also writes its curve as Parquet: the same numbers in another form.
    second = run_atb(
        *_backtest(
            "--symbols", "bbbbtc,CCCBTC,AAABTC", *files, *rules, "--out", str(tmp_path / "b"),
            "--equity-format", "parquet",
        )
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "equity.parquet" in second.stdout  # the summary names the file written
    one, two = _document(tmp_path / "a"), _document(tmp_path / "b")
    assert one["metrics"] == two["metrics"]
    assert one["trades"] == two["trades"]
    curve_one, curve_two = one["equity_curve"], two["equity_curve"]
    assert isinstance(curve_one, dict)
    assert isinstance(curve_two, dict)
    assert (curve_one.pop("file"), curve_two.pop("file")) == ("equity.csv", "equity.parquet")
    assert curve_one == curve_two
    assert not (tmp_path / "b" / "equity.csv").exists()
    text = pd.read_csv(tmp_path / "a" / "equity.csv")
    binary = pd.read_parquet(tmp_path / "b" / "equity.parquet")
    assert list(text.columns) == list(binary.columns)
    assert pd.to_datetime(text["time"]).tolist() == binary["time"].tolist()
    text_numbers = text.drop(columns="time").to_numpy()
    assert text_numbers.tolist() == binary.drop(columns="time").to_numpy().tolist()
    assert (tmp_path / "a" / "trades.csv").read_text() == (
        tmp_path / "b" / "trades.csv"
    ).read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--symbols", "AAABTC,,BBBBTC"), "--symbols 'AAABTC,,BBBBTC': give comma-separated"),
        (("--symbols", "AAABTC", "--symbol", "BBBBTC"), "use either --symbol or --symbols"),
        (("--symbols", "AAABTC,BBBBTC", "--tick-size", "0.01"), "--tick-size describes one market"),
        (("--symbols", "AAABTC,ZZZBTC"), "no candle file for ZZZBTC 1h"),
        (("--symbols", "AAABTC,AAABTC"), "--symbols: AAABTC is given twice"),
        (("--symbol", "AAABTC"), "a folder of candle files needs --symbols"),
    ],
)
def test_bad_portfolio_input_is_one_line_and_exit_2(
    synthetic: Path, tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "never"
    done = run_atb(*_backtest(*arguments, "--data", str(synthetic), "--out", str(out)))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert not out.exists()


def test_mixed_quote_currencies_are_refused(synthetic: Path, tmp_path: Path) -> None:
    usdt = tmp_path / "ETHUSDT_1h.csv"
    make_candles(600).to_csv(usdt, index_label="time")
    done = run_atb(
        *_backtest(
            "--symbols", "AAABTC,ETHUSDT", "--data", str(synthetic / "AAABTC_1h.csv"),
            "--data", str(usdt), "--out", str(tmp_path / "never"),
        )
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        "error: mixed quote currencies (AAABTC in BTC; ETHUSDT in USDT): a portfolio trades in "
        "one currency"
    ) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_a_portfolio_backtest_in_a_terminal_shows_progress_and_a_summary(
    synthetic: Path, tmp_path: Path
) -> None:
    atb = str(Path(sys.executable).with_name("atb"))
    run = run_in_terminal(
        [
            atb,
            *_backtest(
                "--symbols",
                "AAABTC,BBBBTC,CCCBTC",
                "--data",
                str(synthetic),
                "--instruments",
                str(synthetic / "instruments.toml"),
                "--out",
                str(tmp_path / "tty"),
            ),
        ]
    )
    screen = strip_escapes(run.raw)
    assert run.exit_code == 0, screen[-2000:]
    assert "backtest sma_cross 3 symbols 1h" in screen
    for symbol in SYNTHETIC:
        assert symbol in screen
    assert (tmp_path / "tty" / "report.html").is_file()


def test_the_portfolio_report_renders_in_chromium(
    chromium: str, synthetic: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    done = run_atb(
        *_backtest(
            "--symbols", "AAABTC,BBBBTC,CCCBTC", "--data", str(synthetic),
            "--instruments", str(synthetic / "instruments.toml"), "--out", str(out),
        )
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    dom, console = dump_dom(chromium, out / "report.html", tmp_path / "profile")
    assert console == [], "\n".join(console)
    assert dom.count('class="main-svg"') >= 4
    assert 'class="hm"' in dom  # the correlation heatmap drew its cells


def test_the_five_real_pairs_trade_with_stops_targets_and_partials(tmp_path: Path) -> None:
    if not SHARED.is_dir():
        pytest.skip(f"the real BTC-quoted pairs are not at {SHARED}")
    out = tmp_path / "real"
    done = run_atb(
        "backtest", "sma_cross", "--timeframe", "5m", *SMA, *POLICIES,
        "--symbols", ",".join(REAL), "--data", str(SHARED), "--out", str(out),
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "result.json").read_text())
    missing = {part["data"]["symbol"]: len(part["missing"]) for part in document["symbols"]}
    assert missing == {"DASHBTC": 2, "ETHBTC": 0, "LTCBTC": 0, "XMRBTC": 2, "ZECBTC": 3}
    reasons = {trade["exit_reason"] for trade in document["trades"]}
    assert len(document["trades"]) > 100
    kinds = {leg["kind"] for trade in document["trades"] for leg in trade["legs"]}
    assert {"entry", "exit"} <= kinds
    assert any("partial" in kind for kind in kinds), kinds
    assert any("stop" in reason for reason in reasons), reasons
