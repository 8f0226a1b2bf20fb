"""`atb data …` through the real console script, in a subprocess, against real files and the fake
exchange. User errors exit with code 2 and a one-line message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.support.fake_binance import FakeBinance

ATB = Path(sys.executable).with_name("atb")
PORTFOLIO_ETHBTC = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "data"
    / "portfolio"
    / "ETHBTC_5m_20180110-20180130.csv"
)


def atb(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Never inherit an exchange URL: these tests must only ever reach the local fake.
    environment = {k: v for k, v in os.environ.items() if k != "ATB_BINANCE_URL"}
    environment.update(ATB_DATA_DIR=str(data_dir), COLUMNS="200", **env)
    return subprocess.run(
        [str(ATB), "data", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_import_then_list_the_real_sample(sample_csv: Path, tmp_path: Path) -> None:
    imported = atb(
        "import", str(sample_csv), "--symbol", "btcusdt", "--timeframe", "1h", data_dir=tmp_path
    )
    assert imported.returncode == 0, imported.stderr
    assert "imported 18000 BTCUSDT 1h bars" in imported.stdout
    assert "2023-01-01 00:00 UTC → 2025-01-20 00:00 UTC" in imported.stdout
    assert "2023-03-24 13:00 UTC → 2023-03-24 14:00 UTC (1 bar)" in imported.stdout
    assert (tmp_path / "candles" / "BTCUSDT" / "1h" / "2024-06.parquet").is_file()

    listed = atb("list", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "BTCUSDT" in line and "│" in line)
    assert "1h" in row
    assert "18000" in row
    assert "1 (1 bars)" in row
    assert "BTCUSDT 1h: covered 2023-01-01 00:00 UTC → 2025-01-20 01:00 UTC" in listed.stdout
    assert "DEMO: built-in synthetic market" in listed.stdout


def test_a_bad_row_is_a_one_line_error_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-01-01T00:00:00Z,100,110,95,105,1\n"
        "2024-01-01T01:00:00Z,105,108,101,102,2\n"
        "2024-01-01T02:00:00Z,102,104,99,,0\n"
    )
    result = atb(
        "import", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h", data_dir=tmp_path / "d"
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {path}: row 3 (line 4) at 2024-01-01T02:00:00+00:00")
    assert "column 'close'" in result.stderr
    assert not (tmp_path / "d").exists() or not list((tmp_path / "d").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "x.csv", "--symbol", "DEMO", "--timeframe", "1h"), "DEMO is the built-in"),
        (
            ("download", "--symbol", "BTCUSDT", "--timeframe", "7m", "--days", "3"),
            "unknown timeframe",
        ),
    ],
)
def test_user_errors_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = atb(*args, data_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def test_download_fills_the_cache_once(tmp_path: Path, fake: FakeBinance) -> None:
    args = ("download", "--symbol", "BTCUSDT", "--timeframe", "1h", "--days", "30")
    first = atb(*args, "--end", "2024-03-01", "--exchange-url", fake.url, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "downloaded 720 BTCUSDT 1h bars" in first.stdout
    assert "cache now holds 720 bars: 2024-01-31 00:00 UTC → 2024-02-29 23:00 UTC" in first.stdout
    assert first.stderr == ""  # no progress bar when not on a terminal
    again = atb(*args, "--end", "2024-03-01", data_dir=tmp_path, ATB_BINANCE_URL=fake.url)
    assert again.returncode == 0, again.stderr
    assert "already cached; nothing to download" in again.stdout


def test_download_of_an_unknown_symbol_is_a_clear_error(tmp_path: Path, fake: FakeBinance) -> None:
    result = atb(
        "download", "--symbol", "NOPEUSDT", "--timeframe", "1h", "--days", "2", "--end",
        "2024-02-01", "--exchange-url", fake.url, data_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "HTTP 400: Invalid symbol." in result.stderr
    assert not list(tmp_path.rglob("*.parquet"))


def test_list_of_an_empty_cache(tmp_path: Path) -> None:
    result = atb("list", data_dir=tmp_path)
    assert result.returncode == 0
    assert "is empty" in result.stdout


def test_download_caches_the_exchange_rules_and_runs_use_them(tmp_path: Path) -> None:
    frame = pd.read_csv(PORTFOLIO_ETHBTC) if PORTFOLIO_ETHBTC.exists() else None
    if frame is None:
        pytest.skip(f"portfolio sample not found at {PORTFOLIO_ETHBTC}")
    candles = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], utc=True)).set_index(
        "timestamp"
    )
    with FakeBinance(candles, symbol="ETHBTC", timeframe="5m") as fake:
        fake.set_rules(
            "ETHBTC", tick_size="0.00000100", step_size="0.00100000", min_qty="0.00100000",
            min_notional="0.00100000", base="ETH", quote="BTC",
        )  # fmt: skip
        downloaded = atb(
            "download", "--symbol", "ETHBTC", "--timeframe", "5m", "--days", "3",
            "--end", "2018-01-20", "--exchange-url", fake.url, data_dir=tmp_path,
        )  # fmt: skip
        assert downloaded.returncode == 0, downloaded.stderr
        assert any(request.path == "/api/v3/exchangeInfo" for request in fake.requests)
        url = fake.url
    rules = json.loads((tmp_path / "candles" / "ETHBTC" / "instrument.json").read_text())
    assert rules["entry"]["symbol"] == "ETHBTC"
    result = subprocess.run(
        [
            str(ATB), "backtest", "sma_cross", "--symbol", "ETHBTC", "--timeframe", "5m",
            "--start", "2018-01-18", "--end", "2018-01-20", "--param", "stop_loss=0.01",
            "--initial-balance", "1", "--out", str(tmp_path / "out"),
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ATB_DATA_DIR": str(tmp_path), "ATB_BINANCE_URL": "http://127.0.0.1:9",
             "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "instrument: tick 1e-06 BTC · lot 0.001 ETH · min qty 0.001 ETH · min order 0.001 BTC"
        in result.stdout
    )
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    assert document["instrument"]["source"].startswith(f"exchange rules ({url}")
