"""Local data stays local, through the real `atb` executable.

Every command runs with its own `ATB_DATA_DIR` and `ATB_BINANCE_URL` pointing at a running
FakeBinance that serves nothing: after an import, the commands that read candles must answer
from the cache, and the fake must not have seen a single request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.candle_frames import make_candles, scaled, with_bar
from tests.support.cli import run_atb
from tests.support.fake_binance import FakeBinance

WINDOW_NOTE = "note: window ends at the last cached bar 2025-01-20 00:00 UTC (no --end given)"


@pytest.fixture(scope="module")
def exchange() -> Iterator[FakeBinance]:
    """An exchange with no series at all; any request to it is a failure of these tests."""
    with FakeBinance() as fake:
        yield fake


@pytest.fixture(scope="module")
def sample_env(
    tmp_path_factory: pytest.TempPathFactory, sample_csv: Path, exchange: FakeBinance
) -> dict[str, str]:
    """The environment of a user who imported the real BTCUSDT 1h sample."""
    root = tmp_path_factory.mktemp("sample-user")
    env = {
        "ATB_DATA_DIR": str(root / "data"),
        "ATB_MODEL_DIR": str(root / "models"),
        "ATB_BINANCE_URL": exchange.url,
    }
    imported = run_atb(
        "data", "import", str(sample_csv), "--symbol", "BTCUSDT", "--timeframe", "1h", env=env
    )
    assert imported.returncode == 0, imported.stderr
    assert "0 cached bars changed, 18000 new" in imported.stdout
    assert imported.stderr == ""  # the real sample has no suspicious prints
    return env


def env_for(tmp_path: Path, exchange: FakeBinance) -> dict[str, str]:
    return {"ATB_DATA_DIR": str(tmp_path / "data"), "ATB_BINANCE_URL": exchange.url}


def folder_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(path for path in root.rglob("*") if path.is_file())
    return {str(path.relative_to(root)): path.read_bytes() for path in files}


def test_backtest_train_and_check_run_offline_and_say_where_the_window_ends(
    sample_env: dict[str, str], exchange: FakeBinance, tmp_path: Path
) -> None:
    backtest = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--days", "30",
        "--out", str(tmp_path / "out"), env=sample_env,
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr
    assert WINDOW_NOTE in backtest.stdout
    assert "2024-12-21 01:00 UTC → 2025-01-20 00:00 UTC · 720 bars" in backtest.stdout

    train = run_atb(
        "train", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h", "--start", "2024-10-01",
        env=sample_env,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert WINDOW_NOTE in train.stdout
    assert "training window 2024-10-01T00:00:00+00:00 → 2025-01-20T00:00:00+00:00" in train.stdout

    check = run_atb(
        "check-strategy", "sma_cross", "--symbol", "BTCUSDT", "--days", "30", "--samples", "5",
        env=sample_env,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert WINDOW_NOTE in check.stdout
    assert "PASS sma_cross: 720 bars" in check.stdout
    assert exchange.requests == []


def test_a_window_outside_the_import_is_one_line_naming_two_different_ranges(
    sample_env: dict[str, str], exchange: FakeBinance, tmp_path: Path
) -> None:
    result = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--days", "30",
        "--end", "2025-03-01", "--out", str(tmp_path / "out"), env=sample_env,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "error: BTCUSDT 1h: asked for 2025-01-30 00:00 UTC → 2025-03-01 00:00 UTC, but the cache "
        "holds 2023-01-01 00:00 UTC → 2025-01-20 01:00 UTC (imported from a file"
    )
    assert "atb data download --symbol BTCUSDT --timeframe 1h" in result.stderr
    assert not (tmp_path / "out").exists()
    assert exchange.requests == []


def test_reimporting_changed_bars_needs_replace(tmp_path: Path, exchange: FakeBinance) -> None:
    env = env_for(tmp_path, exchange)
    original, changed = tmp_path / "original.csv", tmp_path / "changed.csv"
    frame = make_candles(200, start="2024-01-01")
    frame.to_csv(original)
    for row in (20, 21, 50):
        frame = scaled(frame, row, "volume", 3.0)
    frame.to_csv(changed)
    args = ("--symbol", "BTCUSDT", "--timeframe", "1h")
    assert run_atb("data", "import", str(original), *args, env=env).returncode == 0
    cache = tmp_path / "data"
    before = folder_bytes(cache)

    refused = run_atb("data", "import", str(changed), *args, env=env)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: {changed}: 3 of its bars differ from the cached BTCUSDT 1h bars (2024-01-01 "
        "20:00 UTC → 2024-01-03 02:00 UTC); nothing was written. Pass --replace to overwrite "
        "them\n"
    )
    assert folder_bytes(cache) == before

    replaced = run_atb("data", "import", str(changed), *args, "--replace", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert (
        "3 cached bars changed (2024-01-01 20:00 UTC → 2024-01-03 02:00 UTC), 0 new (replaced)"
        in replaced.stdout
    )
    again = run_atb("data", "import", str(changed), *args, env=env)
    assert again.returncode == 0, again.stderr
    assert "0 cached bars changed, 0 new" in again.stdout
    assert exchange.requests == []


def test_a_bad_print_is_flagged_on_import_and_dropped_on_request(
    tmp_path: Path, exchange: FakeBinance
) -> None:
    env = env_for(tmp_path, exchange)
    spiky = tmp_path / "spiky.csv"
    frame = make_candles(400, start="2024-01-01")
    frame = with_bar(frame, 300, low=0.06)  # 2024-01-13 12:00
    frame.to_csv(spiky)
    args = ("--symbol", "BTCUSDT", "--timeframe", "1h")
    flagged = run_atb("data", "import", str(spiky), *args, env=env)
    assert flagged.returncode == 0, flagged.stderr
    assert "warning: 1 bar of" in flagged.stderr
    assert "--drop-outliers" in flagged.stderr
    assert "  2024-01-13 12:00 UTC low 0.06 (open " in flagged.stderr

    run = (
        "backtest", "sma_cross", *args, "--start", "2024-01-10", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    warned = run_atb(*run, env=env)
    assert warned.returncode == 0, warned.stderr
    assert "  2024-01-13 12:00 UTC low 0.06" in warned.stderr
    dropped = run_atb(*run, "--drop-outliers", "--out", str(tmp_path / "out2"), env=env)
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped 1 bar flagged as suspicious prints (--drop-outliers):" in dropped.stdout
    assert "the data now has 1 gap(s), 1 bar(s) missing" in dropped.stdout
    assert "1 data gap(s), 1 missing bar(s)" in dropped.stdout

    clean = run_atb(
        "data", "--data-dir", str(tmp_path / "clean"), "import", str(spiky), *args,
        "--drop-outliers", env=env,
    )  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr == ""
    assert "imported 399 BTCUSDT 1h bars" in clean.stdout
    assert "2024-01-13 12:00 UTC → 2024-01-13 13:00 UTC (1 bar)" in clean.stdout
    assert exchange.requests == []


def test_parity_replay_drops_bad_prints_on_request(tmp_path: Path) -> None:
    spiky = tmp_path / "spiky.csv"
    with_bar(make_candles(300, start="2024-01-01"), 150, high=1e9).to_csv(spiky)
    args = (
        "parity", "--data", str(spiky), "--strategy", "sma_cross", "--symbol", "BTCUSDT",
        "--timeframe", "1h", "--json",
    )  # fmt: skip
    kept = run_atb(*args)
    assert kept.returncode == 0, kept.stderr
    assert "2024-01-07 06:00 UTC high 1e+09" in kept.stderr
    dropped = run_atb(*args, "--drop-outliers")
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped 1 bar flagged as suspicious prints" in dropped.stderr
    assert json.loads(dropped.stdout)["identical"] is True  # stdout stays pure JSON


def test_live_replay_drops_bad_prints_on_request(tmp_path: Path) -> None:
    spiky = tmp_path / "spiky.csv"
    with_bar(make_candles(300, start="2024-01-01"), 150, high=1e9).to_csv(spiky)
    result = run_atb(
        "live", "sma_cross", "--symbol", "BTCUSDT", "--paper-trading", "--replay", str(spiky),
        "--db", str(tmp_path / "live.sqlite3"), "--drop-outliers",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    # stderr is the JSON log; the data report goes to stdout.
    assert result.stdout.startswith("dropped 1 bar flagged as suspicious prints (--drop-outliers)")
    assert "2024-01-07 06:00 UTC high 1e+09" in result.stdout
    assert all(line.startswith("{") for line in result.stderr.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("parity", "--drop-outliers"), "--drop-outliers needs --data"),
        (
            ("live", "sma_cross", "--symbol", "BTCUSDT", "--paper-trading", "--drop-outliers"),
            "--drop-outliers needs --replay",
        ),
    ],
)
def test_drop_outliers_where_nothing_is_screened_is_a_usage_error(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_atb(*args, "--db", str(tmp_path / "store.sqlite3"))
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "store.sqlite3").exists()
