"""`atb optimize` throughput: trials per second with 1 and 2 local Ray workers, and the overhead
per trial Ray adds compared with a plain loop running the same trials in this process.

The same search (sma_cross, fast/slow/stop_loss ranges, TPE, one seed) runs three ways, in
interleaved rounds: a plain loop (`SerialRunner`, batches of 2 like the 2-worker run, so the
trials are identical), Ray with 1 worker and Ray with 2 workers. The trials of every run are
asserted identical to the plain loop's before anything is reported (1 worker batches differently,
so its trials are compared with a 1-batch plain loop). Ray's start-up is timed separately.

    .venv/bin/python -m benchmarks.bench_optimize               # 200 trials on the real sample
    .venv/bin/python -m benchmarks.bench_optimize --trials 60 --rounds 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from atb.config import config_from_assignments
from atb.data.instruments import resolve_instrument
from atb.data.loading import load_candles
from atb.research.objective import parse_objective
from atb.research.runners import RayRunner, SerialRunner, TrialRunner
from atb.research.search import SamplerKind, SearchSettings, StudyTrial, run_search
from atb.research.space import parse_space
from atb.research.trials import TrialInputs
from atb.strategies.registry import get_entry

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE_FILE = SAMPLE / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"
SPACE = ("fast=5:50", "slow=20:200:10", "stop_loss=0.01:0.05")


def _inputs() -> TrialInputs:
    candles = load_candles(
        "BTCUSDT", "1h", "2023-01-01", "2025-01-01", warmup=250, data_file=SAMPLE_FILE
    )
    return TrialInputs(
        strategy="sma_cross",
        fixed={},
        config=config_from_assignments(()),
        candles=candles,
        symbol="BTCUSDT",
        timeframe="1h",
        instrument=resolve_instrument("BTCUSDT", frame=candles.frame),
        initial_balance=10_000.0,
    )


def _search(
    runner: TrialRunner, trials: int, folder: Path, name: str
) -> tuple[float, list[StudyTrial]]:
    space = parse_space("sma_cross", get_entry("sma_cross").parameters, SPACE)
    settings = SearchSettings(
        trials=trials,
        seed=7,
        sampler=SamplerKind.TPE,
        study_name=name,
        storage=f"sqlite:///{folder / (name + '.db')}",
        identity={"benchmark": name},
    )
    started = time.perf_counter()
    found = run_search(
        space, parse_objective("sharpe"), constraints=(), settings=settings, runner=runner
    )
    return time.perf_counter() - started, found


def _same(first: list[StudyTrial], second: list[StudyTrial]) -> bool:
    return [(t.params, t.value) for t in first] == [(t.params, t.value) for t in second]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    if not SAMPLE_FILE.is_file():
        raise SystemExit(f"the real BTCUSDT sample is not at {SAMPLE_FILE}")
    inputs = _inputs()
    best: dict[str, float] = {}
    startup: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for round_ in range(options.rounds):
            for label, workers in (("plain loop", 2), ("plain loop, 1 per batch", 1)):
                seconds, _ = _search(
                    SerialRunner(inputs, workers), options.trials, folder, f"s{workers}{round_}"
                )
                best[label] = min(best.get(label, seconds), seconds)
            for workers in (1, 2):
                label = f"Ray, {workers} worker(s)"
                started = time.perf_counter()
                runner = RayRunner(inputs, workers=workers)
                startup[label] = time.perf_counter() - started
                try:
                    seconds, trials = _search(runner, options.trials, folder, f"r{workers}{round_}")
                finally:
                    runner.close()
                _, reference = _search(
                    SerialRunner(inputs, workers), options.trials, folder, f"c{workers}{round_}"
                )
                assert _same(trials, reference), f"{label}: other trials than the plain loop"
                best[label] = min(best.get(label, seconds), seconds)
    plain = best["plain loop, 1 per batch"]
    bars = len(inputs.candles)
    print(f"{options.trials} sma_cross trials on {bars:,} real 1h bars, best of {options.rounds}")
    for label, seconds in best.items():
        line = f"  {label:26s} {seconds:7.2f} s   {options.trials / seconds:7.1f} trials/s"
        if label.startswith("Ray"):
            line += f"   start-up {startup[label]:.1f} s"
        print(line)
    overhead = (best["Ray, 1 worker(s)"] - plain) / options.trials * 1000
    speedup = best["Ray, 1 worker(s)"] / best["Ray, 2 worker(s)"]
    print(f"  Ray's overhead per trial (1 worker vs the loop): {overhead:+.1f} ms")
    print(f"  2 workers vs 1: {speedup:.2f}x")


if __name__ == "__main__":
    main()
