"""`atb parity` as a user runs it: identical for an untouched session, the first differing
event (and exit code 1) once the session's store is tampered with; replay mode via --data."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from atb.engines.session_result import session_result
from atb.persistence.store import SessionStore
from atb.reporting import display
from tests.support.cli import run_atb

SESSION = (
    "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
    "--param", "stop_loss=0.02", "--param", "allow_short=true",
    "--set", "trailing=on", "--set", "partials=on", "--set", "risk.max_position=0.5",
)  # fmt: skip


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory: pytest.TempPathFactory, sample_csv: Path) -> Path:
    path = tmp_path_factory.mktemp("replay") / "btc.csv"
    frame = pd.read_csv(sample_csv)
    frame.iloc[:1000].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def session_db(tmp_path_factory: pytest.TempPathFactory, replay_file: Path) -> Path:
    db = tmp_path_factory.mktemp("store") / "live.sqlite3"
    ran = run_atb(
        "live", *SESSION, "--paper-trading", "--replay", str(replay_file), "--db", str(db)
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    return db


def test_untouched_session_is_identical(session_db: Path) -> None:
    result = run_atb("parity", "--db", str(session_db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(
        "identical: session 1, 969 bars compared after 31 warm-up bars, "
    )


def test_tampered_fill_is_reported_as_the_first_divergence(
    session_db: Path, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.sqlite3"
    shutil.copy(session_db, tampered)
    with sqlite3.connect(tampered) as connection:
        seq, payload = connection.execute(
            "SELECT seq, payload FROM events WHERE kind = 'fill' ORDER BY seq LIMIT 1 OFFSET 3"
        ).fetchone()
        event = json.loads(payload)
        original = event["fill"]["price"]
        event["fill"]["price"] = original + 1.0
        connection.execute("UPDATE events SET payload = ? WHERE seq = ?", (json.dumps(event), seq))
    result = run_atb("parity", "--db", str(tampered), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["identical"] is False
    assert report["total_divergences"] == 1
    (first,) = report["divergences"]
    assert first["stream"] == "events"
    assert f"price={original + 1.0}" in first["live"]
    assert f"price={original}" in first["backtest"]

    table = run_atb("parity", "--db", str(tampered))
    assert table.returncode == 1
    assert table.stdout.startswith("DIFFERENT: session 1: 1 divergence(s)")


def test_tampered_equity_is_reported(session_db: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "equity.sqlite3"
    shutil.copy(session_db, tampered)
    with sqlite3.connect(tampered) as connection:
        connection.execute(
            "UPDATE equity SET equity = equity + 0.01 WHERE rowid = (SELECT max(rowid) FROM equity)"
        )
    result = run_atb("parity", "--db", str(tampered), "--json")
    assert result.returncode == 1
    (first,) = json.loads(result.stdout)["divergences"]
    assert first["stream"] == "equity"
    assert first["index"] == 968


def test_replay_mode_compares_without_a_stored_session(replay_file: Path) -> None:
    result = run_atb("parity", "--data", str(replay_file), *_as_parity_args())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("identical:")


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    result = run_atb("parity", "--db", str(tmp_path / "none.sqlite3"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no live store at")


def _as_parity_args() -> list[str]:
    args = list(SESSION)
    return ["--strategy", args[0], *args[1:]]


def test_a_long_atr_look_back_replays_identically(sample_csv: Path, tmp_path: Path) -> None:
    # ATR(150) trailing needs 151 bars before the first decision: the replay keeps them and the
    # backtest loads them (it once kept 101 and diverged 653 times over these 599 bars).
    path = tmp_path / "first700.csv"
    pd.read_csv(sample_csv).iloc[:700].to_csv(path, index=False)
    result = run_atb(
        "parity", "--data", str(path), "--strategy", "sma_cross", "--symbol", "BTCUSDT",
        "--timeframe", "1h", "--param", "fast=5", "--param", "slow=20",
        "--param", "stop_loss=0.05", "--set", "trailing=on",
        "--set", "trailing.activation_pct=0.002", "--set", "trailing.atr_multiple=3",
        "--set", "trailing.atr_period=150",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(
        "identical: session 1, 549 bars compared after 151 warm-up bars, "
    ), result.stdout
    assert result.stderr == ""


def test_an_atr_period_beyond_what_engines_keep_is_refused(tmp_path: Path) -> None:
    result = run_atb(
        "backtest", "sma_cross", "--symbol", "DEMO", "--timeframe", "1h", "--days", "5",
        "--set", "trailing.atr_multiple=3", "--set", "trailing.atr_period=5000",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: trailing.atr_period: must be an integer from 1 to 1000 (bars of history the "
        "engines keep), got 5000"
    )
    assert not (tmp_path / "out").exists()


def test_a_short_comparison_says_it_proves_little(replay_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    pd.read_csv(replay_file).iloc[:60].to_csv(path, index=False)
    result = run_atb(
        "parity", "--data", str(path), "--strategy", "sma_cross", "--symbol", "BTCUSDT",
        "--timeframe", "1h",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("identical: session 1, 29 bars compared after 31 warm-up")
    assert "warning: only 29 bar(s) compared (fewer than 50): this comparison proves little" in (
        result.stderr
    )


def test_live_status_shows_the_headline_metrics(session_db: Path) -> None:
    with SessionStore.open(session_db, read_only=True) as store:
        metrics = session_result(store, store.get_session(1)).metrics
    shown = run_atb("live", "status", "--db", str(session_db), env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    (row,) = [line for line in shown.stdout.splitlines() if "sma_cross" in line]
    for value in (
        display.money(metrics.final_equity),
        display.pct(metrics.total_return),
        display.pct(metrics.max_drawdown),
        display.ratio(metrics.sharpe),
        display.count(metrics.n_trades),
    ):
        assert value in row, (value, row)
    assert "stopped (resumable)" in row  # the replay ran out: a clean stop, not a crash
