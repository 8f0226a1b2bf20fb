"""`atb optimize` as a user runs it: the real `atb` in a subprocess (and under a pseudo-terminal)
on a local Ray instance, on a real Ray cluster started with `ray start` (head and a worker), and
killed half way through a search on the real BTCUSDT sample, then started again.

The study's best trial is the backtest `atb backtest` runs with its parameters; a resumed search
ends with the same trials as an uninterrupted one; a cluster gives the trials of a local run; bad
input is one line, exit code 2 and nothing written.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.support.candle_frames import make_candles
from tests.support.cli import ATB, ROOT, run_atb
from tests.support.figures import assert_page_figures_are_valid
from tests.support.live_harness import wait_until
from tests.support.terminal import run_in_terminal, strip_escapes

RAY = Path(sys.executable).with_name("ray")
SAMPLE = ROOT.parent / "shared" / "data" / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"
SEARCH = (
    "--param", "fast=2:30", "--param", "slow=10:120:5", "--param", "stop_loss=0.01:0.05",
    "--constraint", "n_trades>=3", "--seed", "4",
)  # fmt: skip


@pytest.fixture(scope="module")
def candles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "BTCUSDT_1h.csv"
    make_candles(1500, seed=5).to_csv(path, index_label="time")
    return path


def _optimize(data: Path, storage: Path, out: Path, *extra: str) -> list[str]:
    return [
        "optimize", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--data", str(data),
        *SEARCH, "--storage", f"sqlite:///{storage}", "--out", str(out), *extra,
    ]  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ATB_DATA_DIR": str(tmp_path / "data-dir")}


def _study(folder: Path) -> dict[str, object]:
    document = json.loads((folder / "study.json").read_text())
    assert isinstance(document, dict)
    return document


def _best(folder: Path) -> tuple[object, object, object, object]:
    """The best trial without its duration (the only field two runs may differ in)."""
    best = _study(folder)["best"]
    assert isinstance(best, dict)
    return best["slot"], best["params"], best["value"], best["metrics"]


def _trials(folder: Path) -> list[tuple[object, object, object]]:
    trials = _study(folder)["trials"]
    assert isinstance(trials, list)
    return [(trial["slot"], trial["params"], trial["value"]) for trial in trials]


def test_a_search_writes_its_study_and_its_best_trial_is_a_backtest(
    candles: Path, tmp_path: Path
) -> None:
    out = tmp_path / "study"
    done = run_atb(
        *_optimize(candles, tmp_path / "s.db", out, "--trials", "12", "--workers", "2"),
        "--equity-format", "parquet",
        env=_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(path.name for path in out.iterdir()) == [
        "best", "report.html", "study.json", "trials.csv"
    ]  # fmt: skip
    study = _study(out)
    assert study["schema_version"] == 1
    assert study["kind"] == "study"
    assert len(_trials(out)) == 12
    best = study["best"]
    assert isinstance(best, dict)
    assert f"best sharpe {best['value']:.6g} (trial {best['slot']})" in " ".join(
        done.stdout.split()
    )
    with (out / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["slot"] for row in rows] == [str(slot) for slot in range(12)]
    assert {"fast", "slow", "stop_loss", "value", "feasible", "sharpe", "n_trades"} <= set(rows[0])
    report = (out / "report.html").read_text()
    assert "parcoords" in report
    assert "Parameter importance" in report
    assert_page_figures_are_valid(report, count=3)  # progress, parameters, heatmap
    # The best trial's parameters through `atb backtest`: the metrics the study recorded.
    params = best["params"]
    assert isinstance(params, dict)
    backtest = run_atb(
        "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(candles), "--out", str(tmp_path / "bt"),
        *(arg for name, value in params.items() for arg in ("--param", f"{name}={value}")),
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr
    metrics = json.loads((tmp_path / "bt" / "result.json").read_text())["metrics"]
    assert metrics == best["metrics"]
    assert json.loads((out / "best" / "result.json").read_text())["metrics"] == metrics
    # The best trial's curve in the format asked for: the very numbers of the backtest's CSV.
    assert sorted(path.name for path in (out / "best").iterdir()) == [
        "equity.parquet", "report.html", "result.json", "trades.csv"
    ]  # fmt: skip
    curve = pd.read_csv(tmp_path / "bt" / "equity.csv")
    frame = pd.read_parquet(out / "best" / "equity.parquet")
    assert frame.drop(columns="time").to_numpy().tolist() == (
        curve.drop(columns="time").to_numpy().tolist()
    )
    rerun = run_atb(
        "backtest", "--rerun", str(out / "best" / "result.json"), "--out", str(tmp_path / "r")
    )
    assert rerun.returncode == 0, rerun.stderr


def test_a_search_in_a_terminal_shows_its_progress(candles: Path, tmp_path: Path) -> None:
    run = run_in_terminal(
        [str(ATB), *_optimize(candles, tmp_path / "s.db", tmp_path / "o", "--trials", "6")],
        env=_env(tmp_path),
    )
    screen = strip_escapes(run.raw)
    assert run.exit_code == 0, screen[-2000:]
    assert "Traceback" not in screen
    assert "optimize sma_cross BTCUSDT 1h" in screen
    assert "6 trials of sma_cross-BTCUSDT-1h-" in screen


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--param", "nope=1:5"), "sma_cross has no parameter 'nope'"),
        (("--param", "size=0.5:1.5"), "--param 'size=0.5:1.5': parameter size"),
        (("--objective", "sharp"), "'sharp' is not a metric (did you mean sharpe"),
        (("--constraint", "n_trades>=x"), "'x' is not a number"),
        (("--ray-address", "127.0.0.1:9"), "--ray-address 127.0.0.1:9: no Ray cluster answers"),
        (("--sampler", "grid"), "--param stop_loss: a grid search needs a finite set of values"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    candles: Path, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    storage, out = tmp_path / "s.db", tmp_path / "o"
    done = run_atb(*_optimize(candles, storage, out, "--trials", "3", *extra), env=_env(tmp_path))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr.strip().splitlines()[-1]
    assert not out.exists()
    assert not storage.exists()
    assert not (tmp_path / "data-dir").exists()


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("fast=10", "nothing to search: give at least one range or choice"),
        ("slow=100:2000:100", "bars of history before its first decision with the widest"),
    ],
)
def test_an_empty_space_or_too_short_data_is_refused(
    candles: Path, tmp_path: Path, param: str, message: str
) -> None:
    done = run_atb(
        "optimize", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(candles), "--param", param, "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "o").exists()


def _completed(storage: Path) -> int:
    if not storage.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{storage}?mode=ro", uri=True) as connection:
            (count,) = connection.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'FAIL')"
            ).fetchone()
            return int(count)
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"the real BTCUSDT sample is not at {SAMPLE}")
def test_a_200_trial_search_killed_half_way_resumes_to_the_same_best_trial(
    tmp_path: Path,
) -> None:
    search = ("--trials", "200", "--workers", "2", "--start", "2024-10-01", "--end", "2025-01-01")
    clean = run_atb(
        *_optimize(SAMPLE, tmp_path / "clean.db", tmp_path / "clean", *search),
        env=_env(tmp_path),
        timeout=600,
    )
    assert clean.returncode == 0, clean.stderr[-3000:]
    storage = tmp_path / "killed.db"
    args = [str(ATB), *_optimize(SAMPLE, storage, tmp_path / "killed", *search)]
    process = subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **_env(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: _completed(storage) >= 100, timeout=300)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert _completed(storage) < 200  # killed half way, not after the end
    resumed = run_atb(*args[1:], env=_env(tmp_path), timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _best(tmp_path / "killed") == _best(tmp_path / "clean")
    assert _trials(tmp_path / "killed") == _trials(tmp_path / "clean")


@pytest.fixture
def ray_cluster() -> Iterator[str]:
    """A Ray cluster as a user starts one: `ray start --head`, then a worker node joining it."""
    port = "6391"
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    common = ["--num-cpus=1", "--disable-usage-stats"]
    head = [
        str(RAY),
        "start",
        "--head",
        f"--port={port}",
        "--include-dashboard=false",
        f"--temp-dir={temp}",
    ]
    worker = [str(RAY), "start", f"--address=127.0.0.1:{port}"]
    try:
        for command in (head + common, worker + common):
            started = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=180, check=False
            )
            assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(
            [str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120, check=False
        )


def test_a_ray_cluster_runs_the_trials_of_a_local_run(
    candles: Path, tmp_path: Path, ray_cluster: str
) -> None:
    on_cluster = run_atb(
        *_optimize(
            candles, tmp_path / "c.db", tmp_path / "cluster", "--trials", "10", "--workers", "2",
            "--ray-address", ray_cluster,
        ),
        env=_env(tmp_path),
        timeout=300,
    )  # fmt: skip
    assert on_cluster.returncode == 0, on_cluster.stderr[-3000:]
    study = _study(tmp_path / "cluster")["study"]
    assert isinstance(study, dict)
    assert study["ray_address"] == ray_cluster
    local = run_atb(
        *_optimize(
            candles, tmp_path / "l.db", tmp_path / "local", "--trials", "10", "--workers", "2"
        ),
        env=_env(tmp_path),
        timeout=300,
    )
    assert local.returncode == 0, local.stderr[-3000:]
    assert _trials(tmp_path / "cluster") == _trials(tmp_path / "local")
