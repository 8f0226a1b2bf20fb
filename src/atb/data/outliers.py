"""Suspicious prints: a wick far outside the neighbouring bars that reverts within its own bar.

A bad print (a fat-fingered or broken trade, a feed glitch) typically shows up as one bar whose
low or high sits absurdly far from the market, e.g. a 0.06 low on a bar that opened at 1,170 and
closed at 1,178. It passes every schema check (`low <= min(open, close)`), yet a backtest would
fill stops and limit orders there. Such bars are flagged, never silently removed; dropping them
is the user's explicit choice (`--drop-outliers`), and a dropped bar becomes a reported gap.

The rule, for the bar at row `i` (rows, not clock time: across a gap the nearest bars count),
with every price taken as its logarithm, so distances are ratios (a print at a tenth of the price
is as far out at 0.01 as at 60,000, and a print near zero is always far out):

1. Its *neighbours* are the up to `NEIGHBOURS` = 5 bars on each side (fewer at the ends of the
   series). With fewer than `MIN_NEIGHBOURS` = 4 neighbours the bar is not judged.
2. The *neighbours' range* is `[L, H]`: `L` is the second-lowest low and `H` the second-highest
   high among the neighbours. Skipping the single most extreme value on each side keeps one bad
   neighbour from widening the range and hiding the bar next to it.
3. The *scale* is `R = max(log H - log L, MIN_RANGE)`: the range, but at least 0.2 % of the
   price, so a few flat neighbours (an illiquid market) do not make any tick look extreme.
4. The low is flagged when `log L - log low > K × R`, the high when `log high - log H > K × R`,
   with `K` = 6.
5. ...and only when the bar *reverts*: its open and close both lie within `R` of `[L, H]`
   (`log L - R ≤ log open, log close ≤ log H + R`). A bar that closes out there is a real move
   (a crash or a breakout), not a stray print.

`K` = 6 was set on the real samples in `../shared/data`. The farthest real wick there that
reverts reaches 4.6 ranges (ETHBTC 5m, 2018-01-20 21:25: a 2 % liquidation wick on twenty times
the volume); the others stay within 3.3 (ZECBTC), 2.1 (BTCUSDT 1h), 1.9 (XMRBTC), 1.5 (LTCBTC)
and 1.4 (DASHBTC). So no real bar of the samples is flagged, while a print at a thousandth of
the price would be 49 ranges out even on the most volatile BTCUSDT hour of the sample.
The check is vectorised and runs in bounded memory (chunks of rows).
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from atb.data.times import format_time

K = 6.0
"""How many neighbours' ranges a wick must reach beyond that range to be flagged."""

NEIGHBOURS = 5
"""Bars on each side that form a bar's neighbourhood."""

MIN_NEIGHBOURS = 4
"""Fewer neighbours than this (a series of under five bars): the bar is not judged."""

MIN_RANGE = 0.002
"""Floor of the neighbours' range in log price (about 0.2 % of the price)."""

_CHUNK = 262_144
"""Rows judged at once: bounds the temporary (rows × neighbours) arrays to a few megabytes."""


@attrs.frozen(slots=True)
class SuspiciousBar:
    """One flagged wick: the bar's time, the column (`low` or `high`) and why it was flagged."""

    time: pd.Timestamp
    column: str
    value: float
    open: float
    close: float
    neighbours_low: float
    """`L`: second-lowest low of the neighbouring bars (a price)."""
    neighbours_high: float
    """`H`: second-highest high of the neighbouring bars (a price)."""
    ranges: float
    """How far the wick reaches beyond `[L, H]` in log price, in units of the scale `R`."""

    def describe(self) -> str:
        """`2024-03-05 13:00 UTC low 0.06 (open 1170, close 1178; neighbours 1160 – 1185, …)`."""
        side = "below" if self.column == "low" else "above"
        return (
            f"{format_time(self.time)} {self.column} {_price(self.value)} "
            f"(open {_price(self.open)}, close {_price(self.close)}; neighbours' range "
            f"{_price(self.neighbours_low)} – {_price(self.neighbours_high)}, "
            f"{self.ranges:.0f}× that range {side} it)"
        )


def describe_suspicious(bars: tuple[SuspiciousBar, ...], *, limit: int = 10) -> list[str]:
    """One line per flagged wick, at most `limit`, then `… and N more` when there are more."""
    lines = [bar.describe() for bar in bars[:limit]]
    if len(bars) > limit:
        lines.append(f"… and {len(bars) - limit} more")
    return lines


def find_suspicious_bars(
    frame: pd.DataFrame, *, first: int = 0, stop: int | None = None
) -> tuple[SuspiciousBar, ...]:
    """Flagged wicks of rows `first ≤ i < stop` of a validated candle `frame`, in time order.

    Neighbours come from the whole frame, so a caller that passes a few rows of context on each
    side of the rows it returns gets the same answer as on the full series.
    """
    stop = len(frame) if stop is None else min(stop, len(frame))
    first = max(first, 0)
    if stop <= first:
        return ()
    # Only the judged rows and their neighbours are read (a window of a long series is cheap).
    context = max(first - NEIGHBOURS, 0)
    frame = frame.iloc[context : stop + NEIGHBOURS]
    first, stop, rows = first - context, stop - context, len(frame)
    prices = {c: frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close")}
    # Log prices: distances are ratios, so a print at a tenth or ten times the price is as far
    # out at 0.01 as at 60,000, and a near-zero print is always far out.
    open_, high, low, close = (np.log(prices[c]) for c in ("open", "high", "low", "close"))
    # Padding with ±inf makes missing neighbours (beyond the ends) never the second-lowest low
    # or the second-highest high once at least two real neighbours exist. The order statistics
    # are taken on prices (the log keeps the order) so `L` and `H` are reported exactly.
    pad = np.full(NEIGHBOURS, np.inf)
    padded_low = np.concatenate((pad, prices["low"], pad))
    negated_high = np.concatenate((pad, -prices["high"], pad))  # its second-lowest: `-H`
    found: list[tuple[int, str, float, float, float]] = []
    for start in range(first, stop, _CHUNK):
        end = min(start + _CHUNK, stop)
        positions = np.arange(start, end)
        floor_price = _second_lowest(padded_low, start, end)
        ceiling_price = -_second_lowest(negated_high, start, end)
        judged = _neighbour_count(positions, rows) >= MIN_NEIGHBOURS
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            floor, ceiling = np.log(floor_price), np.log(ceiling_price)
            scale = np.maximum(ceiling - floor, MIN_RANGE)
            body_low = np.minimum(open_[start:end], close[start:end])
            body_high = np.maximum(open_[start:end], close[start:end])
            reverts = judged & (body_low >= floor - scale) & (body_high <= ceiling + scale)
            below = (floor - low[start:end]) / scale
            above = (high[start:end] - ceiling) / scale
        for column, reach in (("low", below), ("high", above)):
            for offset in np.flatnonzero(reverts & (reach > K)).tolist():
                found.append(
                    (
                        start + offset,
                        column,
                        float(floor_price[offset]),
                        float(ceiling_price[offset]),
                        float(reach[offset]),
                    )
                )
    index = frame.index
    return tuple(
        SuspiciousBar(
            time=index[row],
            column=column,
            value=float(prices[column][row]),
            open=float(prices["open"][row]),
            close=float(prices["close"][row]),
            neighbours_low=floor_value,
            neighbours_high=ceiling_value,
            ranges=reach_value,
        )
        for row, column, floor_value, ceiling_value, reach_value in sorted(found)
    )


def _second_lowest(padded: NDArray[np.float64], start: int, end: int) -> NDArray[np.float64]:
    """For each row `start ≤ i < end`, the second-lowest of its neighbours' values, `padded`
    holding `NEIGHBOURS` fillers on each side of the series (row i's neighbours sit at
    `padded[i : i + NEIGHBOURS]` and `padded[i + NEIGHBOURS + 1 : i + 2 * NEIGHBOURS + 1]`).

    A running lowest and second-lowest over the ten shifted columns: the same value as sorting
    each row's neighbours and taking the second (ties count twice), without building the
    (rows × neighbours) array and sorting it.
    """
    lowest = np.full(end - start, np.inf)
    second = np.full(end - start, np.inf)
    for shift in range(2 * NEIGHBOURS + 1):
        if shift == NEIGHBOURS:
            continue  # the bar itself
        column = padded[start + shift : end + shift]
        np.minimum(second, np.maximum(lowest, column), out=second)
        np.minimum(lowest, column, out=lowest)
    return second


def _neighbour_count(positions: NDArray[np.int64], rows: int) -> NDArray[np.int64]:
    """Neighbours that exist for each row position in a series of `rows` bars."""
    before = np.minimum(positions, NEIGHBOURS)
    after = np.minimum(rows - 1 - positions, NEIGHBOURS)
    return np.asarray(before + after, dtype=np.int64)


def _price(value: float) -> str:
    return f"{value:.8g}"
