"""Backtest throughput (bars per second) and peak memory.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_engine
See benchmarks/README.md for what each case measures and the latest numbers.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.loading import load_candles
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.managers.run_config import RunConfiguration
from atb.strategies.ml_training import train
from atb.strategies.protocol import Strategy
from atb.strategies.registry import StrategyContext, create_strategy
from benchmarks.synthetic import synthetic_minutes

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE_CSV = SAMPLE / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"


def measure(
    name: str, candles: ValidatedCandles, strategy: Callable[[], Strategy], assignments: list[str]
) -> None:
    """Best of three runs (time), then one traced run (peak Python memory)."""
    config = config_from_assignments(assignments)
    bars = len(candles) - candles.warmup_bars
    timings = []
    result = None
    for _ in range(3):
        gc.collect()
        request = BacktestRequest(
            strategy=strategy(), candles=candles, config=config, symbol="BTCUSDT"
        )
        started = time.perf_counter()
        result = run_backtest(request)
        timings.append(time.perf_counter() - started)
    assert result is not None
    tracemalloc.start()
    request = BacktestRequest(strategy=strategy(), candles=candles, config=config, symbol="BTCUSDT")
    run_backtest(request)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(timings)
    print(
        f"{name:<44} {bars:>9,} bars  {best:7.3f} s  {bars / best:>12,.0f} bars/s  "
        f"peak {peak / 2**20:6.1f} MiB  trades {len(result.trades):>6,}"
    )


def sma(fast: int, slow: int) -> Callable[[], Strategy]:
    """sma_cross with a 2 % stop and a 4 % target."""
    params = {"fast": fast, "slow": slow, "stop_loss": 0.02, "take_profit": 0.04}
    return lambda: create_strategy("sma_cross", params)


def main() -> None:
    """Run the benchmark cases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000, help="synthetic 1m bars")
    args = parser.parse_args()
    no_frictions = ["costs.slippage=0", "risk.max_position=1.0", "dynamic_risk=None"]
    if SAMPLE_CSV.exists():
        sample = load_candles("BTCUSDT", "1h", data_file=SAMPLE_CSV)
        measure("(a) sma_cross SL/TP, real 1h sample", sample, sma(10, 30), no_frictions)
    else:
        print(f"(a) skipped: {SAMPLE_CSV} not found")
    started = time.perf_counter()
    minutes = synthetic_minutes(args.bars)
    print(f"    generated {args.bars:,} synthetic 1m bars in {time.perf_counter() - started:.2f} s")
    measure("(b) sma_cross(50/200) SL/TP, synthetic 1m", minutes, sma(50, 200), no_frictions)
    # Without the max-drawdown latch the strategy keeps trading to the end: ~25x more trades.
    unlatched = [*no_frictions, "risk.max_drawdown=None"]
    measure("(b2) same, no drawdown latch", minutes, sma(50, 200), unlatched)
    measure("(b3) sma_cross(10/30), no drawdown latch", minutes, sma(10, 30), unlatched)
    if SAMPLE_CSV.exists():
        ml_basic_end_to_end()


def ml_basic_end_to_end() -> None:
    """(c) train ml_basic on 2023-01 → 2024-06 and backtest 2024-07 → 2025-01 with defaults."""
    with tempfile.TemporaryDirectory() as models:
        started = time.perf_counter()
        candles = load_candles("BTCUSDT", "1h", data_file=SAMPLE_CSV)
        loaded = time.perf_counter()
        training = candles.select(None, "2024-07-01")
        train(training.frame, "BTCUSDT", "1h", model_dir=Path(models))
        trained = time.perf_counter()
        context = StrategyContext(symbol="BTCUSDT", timeframe="1h", model_dir=Path(models))
        strategy = create_strategy("ml_basic", {}, context)
        window = candles.select("2024-07-01", None, warmup=strategy.warmup)
        request = BacktestRequest(
            strategy=strategy,
            candles=window,
            config=RunConfiguration.default(),
            symbol="BTCUSDT",
        )
        result = run_backtest(request)
        done = time.perf_counter()
    bars = len(window) - window.warmup_bars
    print(
        f"(c) ml_basic end to end, real sample: load {loaded - started:.3f} s, "
        f"train {trained - loaded:.3f} s, backtest {bars:,} bars {done - trained:.3f} s "
        f"({bars / (done - trained):,.0f} bars/s), trades {len(result.trades)}"
    )


if __name__ == "__main__":
    main()
