"""atb against backtesting.py on the same strategy, the same candles and the same trades.

Run from the repository root, after `.venv/bin/pip install -e '.[bench]'`:

    .venv/bin/python -m benchmarks.bench_peers              # every case (a few minutes)
    .venv/bin/python -m benchmarks.bench_peers --bars 200000

Each case first runs both frameworks once and asserts that their trade lists are identical
(entry and exit bar, entry and exit price); then it times them interleaved — atb, peer, atb,
peer, … — `--rounds` times each and reports the best of each and their ratio. The rules are
made to agree: long only, a market entry at the open after a bullish cross, an exit at the open
after a bearish cross, a stop 2 % and a target 4 % from the entry price, active from the entry
bar on, no costs. backtesting.py places stops with the order, before the fill price is known,
so its strategy is told the next bar's open (the fill price in both) from the prepared frame.

A third contender, `benchmarks.plain_loop`, runs the same rules as one hand-written Python loop
(no framework, no objects per bar): its trades are asserted identical too, and its speed is the
floor against which a per-bar kernel in CPython can be judged.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

# backtesting.py draws a progress bar per run (tqdm): not part of what is measured.
os.environ.setdefault("TQDM_DISABLE", "1")

from backtesting import Backtest
from backtesting import Strategy as PeerStrategy

from atb.data.candles import ValidatedCandles
from atb.data.instruments import resolve_instrument
from atb.data.loading import load_candles
from atb.domain.instruments import Instrument
from atb.domain.sides import PositionSide
from benchmarks.same_rules import (
    STOP,
    TARGET,
    Trades,
    atb_sma,
    run_atb,
    run_hand_written,
    same_trades,
)
from benchmarks.synthetic import synthetic_minutes

SAMPLE_CSV = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data"
) / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"


def peer_strategy(
    fast: int, slow: int, next_open: npt.NDArray[np.float64], instrument: Instrument
) -> type[PeerStrategy]:
    """sma_cross's rules for backtesting.py (see the module docstring)."""

    class SmaCross(PeerStrategy):
        def init(self) -> None:
            self.fast = self.I(atb_sma, self.data.Close, fast)
            self.slow = self.I(atb_sma, self.data.Close, slow)

        def next(self) -> None:
            diff_now = self.fast[-1] - self.slow[-1]
            diff_before = self.fast[-2] - self.slow[-2]
            bullish = diff_before <= 0 < diff_now
            bearish = diff_before >= 0 > diff_now
            if bullish and not self.position:
                fill = next_open[len(self.data) - 1]
                if np.isfinite(fill):
                    # atb's levels: the distance from the fill, rounded to the tick outwards.
                    stop = instrument.round_stop(fill * (1 - STOP), PositionSide.LONG)
                    target = instrument.round_target(fill * (1 + TARGET), PositionSide.LONG)
                    self.buy(size=0.5, sl=stop, tp=target)
            elif bearish and self.position:
                self.position.close()

    return SmaCross


def run_peer(frame: pd.DataFrame, fast: int, slow: int) -> tuple[Trades, object]:
    """backtesting.py's run and its trades."""
    data = frame.rename(columns=str.capitalize)
    next_open = np.append(data["Open"].to_numpy()[1:], np.nan)
    backtest = Backtest(
        data,
        peer_strategy(fast, slow, next_open, resolve_instrument("BTCUSDT", frame=frame).instrument),
        cash=1e12,
        commission=0.0,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = backtest.run()
    closed = stats["_trades"]
    trades = [
        (int(row.EntryBar), int(row.ExitBar), float(row.EntryPrice), float(row.ExitPrice))
        for row in closed.itertuples()
    ]
    return trades, stats


def compare(name: str, candles: ValidatedCandles, fast: int, slow: int, rounds: int) -> None:
    """Assert the same trades, then time atb, the peer and the plain loop interleaved."""
    frame = candles.frame
    ours = run_atb(candles, fast, slow)
    others = {
        "backtesting.py": run_peer(frame, fast, slow)[0],
        "the plain loop": run_hand_written(candles, fast, slow),
    }
    for label, theirs in others.items():
        if not same_trades(ours, theirs):
            first = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(ours, theirs, strict=False))
                    if not same_trades([a], [b])
                ),
                min(len(ours), len(theirs)),
            )
            raise AssertionError(
                f"{name}: trades differ at #{first} of {len(ours)} (atb) / {len(theirs)} "
                f"({label}): atb {ours[first : first + 2]} {label} {theirs[first : first + 2]}"
            )
    timings: dict[str, list[float]] = {"atb": [], "backtesting.py": [], "plain loop": []}
    runs: dict[str, Callable[[], object]] = {
        "atb": lambda: run_atb(candles, fast, slow),
        "backtesting.py": lambda: run_peer(frame, fast, slow),
        "plain loop": lambda: run_hand_written(candles, fast, slow),
    }
    for _ in range(rounds):
        for label, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            run()
            timings[label].append(time.perf_counter() - started)
    bars = len(frame)
    speed = {label: bars / min(values) for label, values in timings.items()}
    share = speed["atb"] / speed["plain loop"]
    print(
        f"{name:<40} {bars:>9,} bars {len(ours):>7,} trades | atb {speed['atb']:>10,.0f} "
        f"bars/s | backtesting.py {speed['backtesting.py']:>10,.0f} bars/s | "
        f"atb {speed['atb'] / speed['backtesting.py']:.2f}x | plain loop "
        f"{speed['plain loop']:>10,.0f} bars/s, atb at {share:.1%} of it"
    )


def main() -> None:
    """Run the cases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000, help="synthetic 1m bars")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each")
    args = parser.parse_args()
    if SAMPLE_CSV.exists():
        sample = load_candles("BTCUSDT", "1h", data_file=SAMPLE_CSV)
        compare("spec: sma 10/30 SL/TP, real 1h", sample, 10, 30, args.rounds)
    else:
        print(f"spec case on the real sample skipped: {SAMPLE_CSV} not found")
    minutes = synthetic_minutes(args.bars)
    compare("spec: sma 10/30 SL/TP, synthetic 1m", minutes, 10, 30, args.rounds)
    compare("heavy: sma 2/3 SL/TP, synthetic 1m", minutes, 2, 3, args.rounds)


if __name__ == "__main__":
    main()
