"""`atb optimize --walk-forward` as a user runs it: the real `atb` under a pseudo-terminal on the
synthetic DEMO market, and ml_basic on the real BTCUSDT sample.

Read back from the files it writes: every fold's model was trained on a window that ends
before the fold's test window, and the stitched out-of-sample equity (`oos_equity.csv`) is,
bar for bar, a backtest that switches parameters and models at the fold boundaries (run here
from the folds' recorded parameters and model files); each fold's out-of-sample backtest is
repeated exactly by `atb backtest --rerun`.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atb.config import config_from_assignments
from atb.data.instruments import resolve_instrument
from atb.data.loading import load_candles
from atb.engines.backtest.schedule import ScheduleRequest, Segment, run_schedule
from atb.managers.lookback import history_bars
from atb.strategies.registry import StrategyContext, create_strategy
from tests.support.cli import ATB, ROOT, run_atb
from tests.support.figures import assert_page_figures_are_valid
from tests.support.terminal import run_in_terminal, strip_escapes

SAMPLE = ROOT.parent / "shared" / "data" / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"
DEMO = (
    "optimize", "sma_cross", "--symbol", "DEMO", "--timeframe", "1h",
    "--start", "2024-01-01", "--end", "2024-06-01",
    "--param", "fast=3:20", "--param", "slow=20:80:5", "--trials", "6", "--workers", "2",
    "--walk-forward", "3", "--train", "60", "--test", "30",
)  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ATB_DATA_DIR": str(tmp_path / "data-dir"), "ATB_MODEL_DIR": str(tmp_path / "models")}


def _document(out: Path) -> dict[str, object]:
    document = json.loads((out / "walk_forward.json").read_text())
    assert isinstance(document, dict)
    return document


def _folds(out: Path) -> list[dict[str, object]]:
    folds = _document(out)["folds"]
    assert isinstance(folds, list)
    return folds


def _oos_equity(out: Path) -> tuple[list[str], np.ndarray, list[int]]:
    with (out / "oos_equity.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return (
        [row["time"] for row in rows],
        np.array([float(row["equity"]) for row in rows]),
        [int(row["fold"]) for row in rows],
    )


def test_a_walk_forward_in_a_terminal_writes_its_folds_and_each_fold_reruns(
    tmp_path: Path,
) -> None:
    out = tmp_path / "wf"
    run = run_in_terminal([str(ATB), *DEMO, "--out", str(out)], env=_env(tmp_path))
    screen = strip_escapes(run.raw)
    assert run.exit_code == 0, screen[-3000:]
    assert "Traceback" not in screen
    assert "walk-forward sma_cross DEMO 1h" in screen
    assert "identical to the parameter-switching backtest" in " ".join(screen.split())
    assert sorted(path.name for path in out.iterdir()) == [
        "folds", "folds.csv", "oos_equity.csv", "report.html", "walk_forward.json"
    ]  # fmt: skip
    document = _document(out)
    assert document["schema_version"] == 1
    assert document["kind"] == "walk_forward"
    folds = _folds(out)
    assert [fold["number"] for fold in folds] == [1, 2, 3]
    assert [fold["test"] for fold in folds] == [  # aligned to the window's end
        {"start": "2024-03-03T00:00:00+00:00", "end": "2024-04-02T00:00:00+00:00"},
        {"start": "2024-04-02T00:00:00+00:00", "end": "2024-05-02T00:00:00+00:00"},
        {"start": "2024-05-02T00:00:00+00:00", "end": "2024-06-01T00:00:00+00:00"},
    ]
    times, equity, fold_of_bar = _oos_equity(out)
    assert len(times) == 90 * 24
    assert fold_of_bar == [1] * 720 + [2] * 720 + [3] * 720
    # The folds' own out-of-sample backtests, chained by balance, are the stitched curve.
    chained = []
    balance = 10_000.0
    for fold in folds:
        oos = out / "folds" / str(fold["number"]) / "oos"
        result = json.loads((oos / "result.json").read_text())
        assert result["initial_balance"] == balance
        with (oos / "equity.csv").open() as handle:
            values = [float(row["equity"]) for row in csv.DictReader(handle)]
        chained.extend(values)
        balance = values[-1]
        assert result["strategy"]["parameters"] | fold["params"] == result["strategy"]["parameters"]
    np.testing.assert_array_equal(equity, np.array(chained))
    out_of_sample = document["out_of_sample"]
    assert isinstance(out_of_sample, dict)
    assert out_of_sample["final_equity"] == balance
    report = (out / "report.html").read_text()
    assert "Stitched out-of-sample equity" in report
    assert "in sample vs out of sample" in report
    assert_page_figures_are_valid(report, count=2)
    # A fold's out-of-sample backtest is an `atb backtest` run: --rerun repeats it exactly.
    rerun = run_atb(
        "backtest", "--rerun", str(out / "folds" / "2" / "oos" / "result.json"),
        "--out", str(tmp_path / "rerun"), env=_env(tmp_path),
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "rerun" / "equity.csv").read_text() == (
        out / "folds" / "2" / "oos" / "equity.csv"
    ).read_text()
    # The same command again resumes the finished studies and replaces the folder (--force),
    # this time with each fold's curve as Parquet: the same numbers.
    again = run_atb(
        *DEMO, "--out", str(out), "--force", "--equity-format", "parquet", env=_env(tmp_path)
    )
    assert again.returncode == 0, again.stderr
    assert [fold["params"] for fold in _folds(out)] == [fold["params"] for fold in folds]
    np.testing.assert_array_equal(_oos_equity(out)[1], equity)
    parquet_values: list[float] = []
    for fold in folds:
        oos = out / "folds" / str(fold["number"]) / "oos"
        assert not (oos / "equity.csv").exists()
        parquet_values.extend(pd.read_parquet(oos / "equity.parquet")["equity"].tolist())
    assert parquet_values == chained


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--train", "30"), "--train: only with --walk-forward FOLDS"),
        (("--walk-forward", "2", "--train", "30"), "--walk-forward needs --train DAYS and --test"),
        (
            ("--walk-forward", "4", "--train", "90", "--test", "30"),
            "--walk-forward 4 --train 90 --test 30 needs 210 days of candles, the window holds",
        ),
        (
            ("--walk-forward", "2", "--train", "30", "--test", "10", "--sampler", "grid"),
            "a grid search needs a finite set of values",
        ),
    ],
)
def test_bad_walk_forward_input_is_one_line_and_writes_nothing(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "o"
    done = run_atb(
        "optimize", "sma_cross", "--symbol", "DEMO", "--timeframe", "1h",
        "--start", "2024-01-01", "--end", "2024-06-01", "--param", "fast=3:20",
        "--param", "stop_loss=0.01:0.05", "--out", str(out), *extra, env=_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr.strip().splitlines()[-1]
    assert not out.exists()
    assert not (tmp_path / "data-dir").exists()
    assert not (tmp_path / "models").exists()


def test_a_given_model_is_refused_for_a_walk_forward(tmp_path: Path) -> None:
    done = run_atb(
        "optimize", "ml_basic", "--symbol", "DEMO", "--timeframe", "1h", "--days", "200",
        "--param", "threshold=0.0001:0.003:log", "--param", "model=/tmp/m.json",
        "--walk-forward", "2", "--train", "60", "--test", "30", env=_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert "--param model: a walk-forward trains ml_basic's model on each fold" in done.stderr


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"the real BTCUSDT sample is not at {SAMPLE}")
def test_ml_basic_walk_forward_on_the_real_sample(tmp_path: Path) -> None:
    out = tmp_path / "wf"
    done = run_atb(
        "optimize", "ml_basic", "--symbol", "BTCUSDT", "--timeframe", "1h",
        "--data", str(SAMPLE), "--start", "2023-07-01", "--end", "2025-01-01",
        "--param", "threshold=0.0001:0.003:log", "--param", "stop_loss=0.01:0.05",
        "--trials", "4", "--workers", "2", "--seed", "5",
        "--walk-forward", "4", "--train", "270", "--test", "60", "--out", str(out),
        env=_env(tmp_path), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    folds = _folds(out)
    assert len(folds) == 4
    config = config_from_assignments(())
    segments = []
    model_ids = set()
    for fold in folds:
        test = fold["test"]
        assert isinstance(test, dict)
        test_start = datetime.fromisoformat(test["start"])
        # Asserted from the artifact the fold kept: trained on bars before its test window.
        model_folder = out / "folds" / str(fold["number"]) / "model"
        artifact = json.loads((model_folder / "ml_basic_BTCUSDT_1h.json").read_text())
        window = artifact["training_window"]
        assert datetime.fromisoformat(window["end"]) < test_start
        train = fold["train"]
        assert isinstance(train, dict)
        assert datetime.fromisoformat(window["start"]) >= datetime.fromisoformat(train["start"])
        result = json.loads(
            (out / "folds" / str(fold["number"]) / "oos" / "result.json").read_text()
        )
        assert result["strategy"]["model_id"] == artifact["weights_sha256"][:16]
        model_ids.add(result["strategy"]["model_id"])
        params = fold["params"]
        assert isinstance(params, dict)
        strategy = create_strategy(
            "ml_basic", params, StrategyContext("BTCUSDT", "1h", model_folder)
        )
        segments.append(Segment(start=test_start, strategy=strategy))
    assert len(model_ids) == 4
    first = segments[0].start
    warmup = history_bars(max(segment.strategy.warmup for segment in segments), config)
    candles = load_candles("BTCUSDT", "1h", first, "2025-01-01", warmup=warmup, data_file=SAMPLE)
    switching = run_schedule(
        ScheduleRequest(
            candles=candles,
            segments=tuple(segments),
            config=config,
            symbol="BTCUSDT",
            instrument=resolve_instrument("BTCUSDT", frame=candles.frame),
        )
    )
    times, equity, _folds_of_bars = _oos_equity(out)
    np.testing.assert_array_equal(switching.equity.equity, equity)
    assert len(times) == 240 * 24
