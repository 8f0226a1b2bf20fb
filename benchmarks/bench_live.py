"""Live replay throughput: a paper session replaying the real 18,000-bar sample, bar by bar,
with a SQLite store on tmpfs — the strategy prepared on its window's frame at every bar (the
path every strategy had before `features_now`) against the incremental path, interleaved.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_live [--bars N]
See benchmarks/README.md for the latest numbers.
"""

from __future__ import annotations

import argparse
import gc
import io
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from atb.data.candles import ValidatedCandles
from atb.data.feeds import ReplayFeed
from atb.data.instruments import instrument_for
from atb.data.loading import load_candles
from atb.domain.bars import Bar
from atb.domain.decisions import Decision
from atb.domain.protocols import PositionState
from atb.domain.timeframes import parse_timeframe
from atb.engines.live.engine import LiveEngine, LiveSettings
from atb.engines.live.log import JsonLog
from atb.managers.lookback import history_bars
from atb.managers.run_config import RunConfiguration
from atb.persistence.store import SessionStore
from atb.strategies.ml_training import train
from atb.strategies.parameters import ParameterSpec, ParamValue
from atb.strategies.protocol import BoolArray, Strategy
from atb.strategies.registry import StrategyContext, create_strategy
from benchmarks.bench_engine import SAMPLE_CSV

PARAMS = {"fast": 10, "slow": 30, "stop_loss": 0.02, "take_profit": 0.04}


class FramePath:
    """The same strategy without its incremental path: `prepare(frame)` at every bar."""

    def __init__(self, inner: Strategy) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def parameter_specs(self) -> Sequence[ParameterSpec]:
        return self._inner.parameter_specs

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        return self._inner.parameters

    @property
    def warmup(self) -> int:
        return self._inner.warmup

    def prepare(self, frame: pd.DataFrame) -> None:
        self._inner.prepare(frame)

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        return self._inner.decide(bar_index, bar, position)

    def features(self) -> pd.DataFrame:
        return self._inner.features()

    def signal_mask(self) -> BoolArray:
        return self._inner.signal_mask()


def replay(candles: ValidatedCandles, strategy: Strategy, folder: Path) -> tuple[float, int]:
    """Seconds to replay every bar after the warm-up, and the number of stored events."""
    config = RunConfiguration.default()
    settings = LiveSettings(
        strategy_name=strategy.name,
        parameters=dict(strategy.parameters),
        config=config,
        symbol="BTCUSDT",
        timeframe=parse_timeframe("1h"),
        initial_balance=10_000.0,
        instrument=instrument_for("BTCUSDT"),
        poll_interval=0.0,
    )
    feed = ReplayFeed(candles, history_bars=history_bars(strategy.warmup, config))
    with (
        tempfile.TemporaryDirectory(dir=folder) as work,
        SessionStore.open(Path(work) / "live.sqlite3") as store,
    ):
        engine = LiveEngine(
            store=store,
            feed=feed,
            strategy=strategy,
            settings=settings,
            stop=threading.Event(),
            log=JsonLog(io.StringIO()),
        )
        gc.collect()
        started = time.perf_counter()
        session = engine.open_session()
        engine.run()
        elapsed = time.perf_counter() - started
        return elapsed, len(store.events(session.id))


def main() -> None:
    """Interleave both paths (three rounds) and print bars/s and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=None, help="replay only the first N bars")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--strategy",
        choices=("sma_cross", "rsi_mean_reversion", "breakout", "ml_basic"),
        default="sma_cross",
    )
    args = parser.parse_args()
    name = args.strategy
    params = PARAMS if name == "sma_cross" else {}
    if not SAMPLE_CSV.exists():
        raise SystemExit(f"the real sample is needed: {SAMPLE_CSV}")
    candles = load_candles("BTCUSDT", "1h", data_file=SAMPLE_CSV, allow_network=False)
    if args.bars is not None:
        candles = load_candles(
            "BTCUSDT",
            "1h",
            candles.index[0],
            candles.index[min(args.bars, len(candles) - 1)],
            data_file=SAMPLE_CSV,
            allow_network=False,
        )
    tmpfs = Path("/dev/shm")
    folder = tmpfs if tmpfs.is_dir() else Path(tempfile.gettempdir())
    context = StrategyContext()
    if name == "ml_basic":
        # Trained on the year before the replayed bars (the engine refuses an overlap).
        models = Path(tempfile.mkdtemp(prefix="atb-bench-models-"))
        train(candles.frame.iloc[: len(candles) // 2], "BTCUSDT", "1h", model_dir=models)
        candles = load_candles(
            "BTCUSDT",
            "1h",
            candles.index[len(candles) // 2 + 200],
            candles.index[-1],
            data_file=SAMPLE_CSV,
            allow_network=False,
        )
        context = StrategyContext("BTCUSDT", "1h", models)
    bars = len(candles) - history_bars(create_strategy(name, params, context).warmup,
                                       RunConfiguration.default())  # fmt: skip
    best: dict[str, float] = {}
    events: dict[str, int] = {}
    for _ in range(args.rounds):
        for label in ("frame", "features_now"):
            strategy = create_strategy(name, params, context)
            if label == "frame":
                strategy = FramePath(strategy)
            seconds, count = replay(candles, strategy, folder)
            best[label] = min(best.get(label, seconds), seconds)
            events[label] = count
    assert events["frame"] == events["features_now"], events  # the same session either way
    for label, seconds in best.items():
        print(f"{name} live replay, {label:<13} {bars:>7,} bars  {seconds:7.2f} s  "
              f"{bars / seconds:>8,.0f} bars/s  events {events[label]:,}")  # fmt: skip
    print(f"features_now / frame: {best['frame'] / best['features_now']:.2f}x")


if __name__ == "__main__":
    main()
