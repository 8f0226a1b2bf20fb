"""The peer benchmark's rules as one plain Python loop: the floor of any per-bar kernel here.

`bench_peers` compares atb with backtesting.py on sma_cross: long only, a market entry at the
open after a bullish cross, an exit at the open after a bearish cross, a stop 2 % and a target
4 % from the entry price (rounded outwards to the tick) active from the entry bar on, the
pessimistic intrabar path (a long's low before its high), no costs. This module runs exactly
those rules over the bar arrays in one function — no objects per bar, no managers, no events,
nothing that is not needed for the trade list — so the benchmark can say how far each framework
is from what CPython does with the same rules written out by hand. Its trades are asserted
identical to atb's before it is timed.
"""

from __future__ import annotations

import math

from atb.data.candles import ValidatedCandles
from atb.domain.instruments import Instrument
from atb.domain.sides import PositionSide

Trades = list[tuple[int, int, float, float]]
"""(entry bar, exit bar, entry price, exit price) of each closed trade."""


def run_plain(
    candles: ValidatedCandles,
    fast_sma: list[float],
    slow_sma: list[float],
    *,
    instrument: Instrument,
    stop_pct: float,
    target_pct: float,
) -> Trades:
    """The closed trades of the rules above over `candles` (SMAs given per bar, NaN while
    warming up), as bar numbers and prices."""
    frame = candles.frame
    opens = frame["open"].tolist()
    highs = frame["high"].tolist()
    lows = frame["low"].tolist()
    trades: Trades = []
    round_stop, round_target = instrument.round_stop, instrument.round_target
    long = PositionSide.LONG
    in_position = False
    entry_bar, entry_price, stop, target = 0, 0.0, 0.0, 0.0
    pending = 0  # +1: enter at this bar's open, -1: exit at this bar's open
    diff_before = math.nan
    for bar in range(len(opens)):
        open_ = opens[bar]
        if pending > 0:
            in_position, entry_bar, entry_price = True, bar, open_
            stop = round_stop(open_ * (1.0 - stop_pct), long)
            target = round_target(open_ * (1.0 + target_pct), long)
        elif pending < 0 and in_position:
            trades.append((entry_bar, bar, entry_price, open_))
            in_position = False
        pending = 0
        if in_position:
            if lows[bar] <= stop:  # the low comes first on the pessimistic path
                trades.append((entry_bar, bar, entry_price, min(open_, stop)))
                in_position = False
            elif highs[bar] >= target:
                trades.append((entry_bar, bar, entry_price, max(open_, target)))
                in_position = False
        diff = fast_sma[bar] - slow_sma[bar]
        if diff_before <= 0 < diff and not in_position:
            pending = 1
        elif diff_before >= 0 > diff and in_position:
            pending = -1
        diff_before = diff
    return trades
