"""The rules the peer benchmark holds every contender to, and atb's run of them.

sma_cross, long only: a market entry at the open after a bullish cross, an exit at the open
after a bearish cross, a stop 2 % and a target 4 % from the entry price (rounded outwards to the
tick) active from the entry bar on, no costs, an account no lot step binds. `bench_peers` times
atb, backtesting.py and the plain loop on them; `lean_kernel_spike` measures a lean step on
them; `tests/integration/test_yardsticks.py` keeps the loop and the spike agreeing with atb.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.instruments import resolve_instrument
from atb.domain.timestamps import to_ns
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.strategies.indicators import sma
from atb.strategies.registry import create_strategy
from benchmarks.plain_loop import Trades, run_plain

STOP, TARGET = 0.02, 0.04
NO_COSTS = [
    "costs.slippage=0",
    "costs.taker_fee=0",
    "costs.maker_fee=0",
    "risk.max_position=1.0",
    "dynamic_risk=None",
    "risk.max_drawdown=None",
]

__all__ = [
    "NO_COSTS",
    "STOP",
    "TARGET",
    "Trades",
    "atb_sma",
    "run_atb",
    "run_hand_written",
    "same_trades",
]


def atb_sma(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """atb's own moving average as an array (NaN while warming up)."""
    # atb's own moving average: a cross decided on the last bit of a float is the same cross.
    return np.asarray(sma(pd.Series(values), window).to_numpy(), dtype=np.float64)


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


def run_hand_written(candles: ValidatedCandles, fast: int, slow: int) -> Trades:
    """The same rules as one plain Python loop (`benchmarks.plain_loop`), moving averages
    included: what CPython does with no framework at all."""
    close = candles.frame["close"].to_numpy()
    return run_plain(
        candles,
        atb_sma(close, fast).tolist(),
        atb_sma(close, slow).tolist(),
        instrument=resolve_instrument("BTCUSDT", frame=candles.frame).instrument,
        stop_pct=STOP,
        target_pct=TARGET,
    )


def same_trades(ours: Trades, theirs: Trades) -> bool:
    """The same bars, and prices equal but for the last bit (a level computed by one
    multiplication more or less)."""
    return len(ours) == len(theirs) and all(
        a[:2] == b[:2] and np.allclose(a[2:], b[2:], rtol=1e-12, atol=0.0)
        for a, b in zip(ours, theirs, strict=True)
    )
