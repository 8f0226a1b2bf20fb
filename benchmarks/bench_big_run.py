"""A million-bar `atb backtest` as a user runs it, and how fast the quick commands answer.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_big_run              # 1,000,000 bars, 2 rounds
    .venv/bin/python -m benchmarks.bench_big_run --bars 200000 --rounds 1

The seeded synthetic one-minute series (`benchmarks/synthetic.py`) is written once as a CSV
(kept in the temp folder for the next run), then `atb backtest sma_cross` (50/200, 2 % stop,
4 % target, default costs and risk) runs on it as a separate process, writing its four files,
once with the curve as `equity.csv` and once as `equity.parquet` (`--equity-format`),
interleaved: the wall time of each round and the child's peak resident set size (`ru_maxrss`,
what `/usr/bin/time -v` reports) are printed, best of the rounds. The instrument's rules are
given on the command line, so nothing is fetched. Then `atb --help` and `atb strategies` are
timed, best of five.

atb's modules are compiled to bytecode first, as an install does: a shell that sets
PYTHONDONTWRITEBYTECODE (this machine's does) would otherwise compile every module from source
on every start (~0.03 s of `atb strategies`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.synthetic import synthetic_minutes

ATB = Path(sys.executable).with_name("atb")
RULES = ("--tick-size", "0.01", "--lot-step", "0.00001", "--min-notional", "5")
PARAMS = ("fast=50", "slow=200", "stop_loss=0.02", "take_profit=0.04")


def candle_file(bars: int) -> Path:
    """The synthetic series as a CSV, written on first use."""
    path = Path(tempfile.gettempdir()) / f"atb-bench-synthetic-{bars}.csv"
    if not path.is_file():
        partial = path.with_suffix(".partial")
        synthetic_minutes(bars).frame.to_csv(partial)
        partial.replace(path)
    return path


def measured(command: Sequence[str]) -> tuple[float, float]:
    """Run `command`; its wall time (s) and peak resident set size (MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed ({status}): {error[-2000:]}")
    if process.stderr:
        process.stderr.close()
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def compile_bytecode() -> None:
    """Compile atb's modules to bytecode (what an install does), whatever the shell says."""
    environment = {
        key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"
    }
    package = Path(__file__).resolve().parents[1] / "src" / "atb"
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)],
        check=True,
        env=environment,
        stdout=subprocess.DEVNULL,
    )


def _positive(text: str) -> int:
    number = int(text) if text.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return number


def main() -> None:
    """Time the big run and the quick commands; print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=_positive, default=1_000_000)
    parser.add_argument("--rounds", type=_positive, default=2)
    args = parser.parse_args()
    data = candle_file(args.bars)
    compile_bytecode()
    out = Path(tempfile.mkdtemp(prefix="atb-bench-big-")) / "run"
    command = [str(ATB), "backtest", "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1m"]
    command += ["--data", str(data), *RULES, "--out", str(out), "--force"]
    for assignment in PARAMS:
        command += ["--param", assignment]
    formats = ("csv", "parquet")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in formats}
    for _ in range(args.rounds):
        for name in formats:
            runs[name].append(measured([*command, "--equity-format", name]))
    for name in formats:
        wall = min(run[0] for run in runs[name])
        peak = max(run[1] for run in runs[name])
        print(f"atb backtest, {args.bars:,} bars, --equity-format {name}: {wall:.2f} s wall "
              f"(best of {args.rounds}), {peak:.0f} MiB peak RSS (largest)")  # fmt: skip
    for quick in (["--help"], ["strategies"]):
        best = min(measured([str(ATB), *quick])[0] for _ in range(5))
        print(f"atb {' '.join(quick)}: {best:.3f} s (best of 5)")


if __name__ == "__main__":
    main()
