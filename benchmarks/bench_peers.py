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

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.instruments import resolve_instrument
from atb.data.loading import load_candles
from atb.domain.instruments import Instrument
from atb.domain.sides import PositionSide
from atb.domain.timestamps import to_ns
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.strategies.indicators import sma
from atb.strategies.registry import create_strategy
from benchmarks.synthetic import synthetic_minutes

SAMPLE_CSV = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data"
) / "BTCUSDT_1h_2023-01-01_2025-01-20.csv"
STOP, TARGET = 0.02, 0.04
NO_COSTS = [
    "costs.slippage=0",
    "costs.taker_fee=0",
    "costs.maker_fee=0",
    "risk.max_position=1.0",
    "dynamic_risk=None",
    "risk.max_drawdown=None",
]

Trades = list[tuple[int, int, float, float]]
"""(entry bar, exit bar, entry price, exit price) of each closed trade."""


def _sma(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    # atb's own moving average: a cross decided on the last bit of a float is the same cross.
    return np.asarray(sma(pd.Series(values), window).to_numpy(), dtype=np.float64)


def peer_strategy(
    fast: int, slow: int, next_open: npt.NDArray[np.float64], instrument: Instrument
) -> type[PeerStrategy]:
    """sma_cross's rules for backtesting.py (see the module docstring)."""

    class SmaCross(PeerStrategy):
        def init(self) -> None:
            self.fast = self.I(_sma, self.data.Close, fast)
            self.slow = self.I(_sma, self.data.Close, slow)

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


def run_atb(candles: ValidatedCandles, fast: int, slow: int) -> Trades:
    """atb's run and its closed trades (bar numbers in the frame)."""
    strategy = create_strategy(
        "sma_cross", {"fast": fast, "slow": slow, "stop_loss": STOP, "take_profit": TARGET}
    )
    request = BacktestRequest(
        strategy=strategy,
        candles=candles,
        config=config_from_assignments(NO_COSTS),
        symbol="BTCUSDT",
        # An account no lot step or minimum notional ever binds (the peer's cash is as large).
        initial_balance=1e12,
    )
    result = run_backtest(request)
    # Bar numbers of every entry and exit in two searches (the peer's trades come with them).
    index = candles.index.as_unit("ns").asi8
    entries = index.searchsorted([to_ns(trade.entry_time) for trade in result.trades]).tolist()
    exits = index.searchsorted([to_ns(trade.exit_time) for trade in result.trades]).tolist()
    return [
        (entry, exit, trade.entry_price, trade.exit_price)
        for entry, exit, trade in zip(entries, exits, result.trades, strict=True)
    ]


def _same(ours: Trades, theirs: Trades) -> bool:
    """The same bars, and prices equal but for the last bit (a level computed by one
    multiplication more or less)."""
    return len(ours) == len(theirs) and all(
        a[:2] == b[:2] and np.allclose(a[2:], b[2:], rtol=1e-12, atol=0.0)
        for a, b in zip(ours, theirs, strict=True)
    )


def compare(name: str, candles: ValidatedCandles, fast: int, slow: int, rounds: int) -> None:
    """Assert the same trades, then time both interleaved."""
    frame = candles.frame
    ours = run_atb(candles, fast, slow)
    theirs, _ = run_peer(frame, fast, slow)
    if not _same(ours, theirs):
        first = next(
            (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if not _same([a], [b])),
            min(len(ours), len(theirs)),
        )
        raise AssertionError(
            f"{name}: trades differ at #{first} of {len(ours)} (atb) / {len(theirs)} (peer): "
            f"atb {ours[first : first + 2]} peer {theirs[first : first + 2]}"
        )
    timings: dict[str, list[float]] = {"atb": [], "backtesting.py": []}
    runs: dict[str, Callable[[], object]] = {
        "atb": lambda: run_atb(candles, fast, slow),
        "backtesting.py": lambda: run_peer(frame, fast, slow),
    }
    for _ in range(rounds):
        for label, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            run()
            timings[label].append(time.perf_counter() - started)
    bars = len(frame)
    best = {label: min(values) for label, values in timings.items()}
    ratio = best["backtesting.py"] / best["atb"]
    print(
        f"{name:<40} {bars:>9,} bars {len(ours):>7,} trades | atb {bars / best['atb']:>10,.0f} "
        f"bars/s | backtesting.py {bars / best['backtesting.py']:>10,.0f} bars/s | "
        f"atb {ratio:.2f}x"
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
