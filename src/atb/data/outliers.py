"""Suspicious prints: a wick far outside the neighbouring bars that reverts within its own bar.

A bad print (a fat-fingered or broken trade, a feed glitch) typically shows up as one bar whose
low or high sits absurdly far from the market, e.g. a 0.06 low on a bar that opened at 1,170 and
closed at 1,178. It passes every schema check (`low <= min(open, close)`), yet a backtest would
fill stops and limit orders there. Such bars are flagged, never silently removed; dropping them
is the user's explicit choice (`--drop-outliers`), and a dropped bar becomes a reported gap.

The rule, for the bar at row `i` (rows, not clock time: across a gap the nearest bars count):

1. Its *neighbours* are the up to `NEIGHBOURS` = 5 bars on each side (fewer at the ends of the
   series). With fewer than `MIN_NEIGHBOURS` = 4 neighbours the bar is not judged.
2. The *neighbours' range* is `[L, H]`: `L` is the second-lowest low and `H` the second-highest
   high among the neighbours. Skipping the single most extreme value on each side keeps one bad
   neighbour from widening the range and hiding the bar next to it.
3. The *scale* is `R = max(H - L, MIN_RANGE × (H + L) / 2)`: the range, but at least 0.2 % of
   the price, so a few flat neighbours (an illiquid market) do not make any tick look extreme.
4. The low is flagged when `L - low > K × R`, the high when `high - H > K × R`, with `K` = 6.
5. ...and only when the bar *reverts*: its open and close both lie in `[L - R, H + R]`. A bar
   that closes out there is a real move (a crash or a breakout), not a stray print.

`K` = 6 was set on the real samples in `../shared/data`: the largest real wick there that reverts
is 4.5 ranges (ETHBTC 5m, 2018-01-20 21:25, a 2 % liquidation wick on twenty times the volume),
so no real bar of the samples is flagged, while a typical bad print is hundreds of ranges out.
The check is vectorised and runs in bounded memory (chunks of rows).
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from atb.data.times import format_time

K = 6.0
"""How many neighbours' ranges a wick must reach beyond that range to be flagged."""

NEIGHBOURS = 5
"""Bars on each side that form a bar's neighbourhood."""

MIN_NEIGHBOURS = 4
"""Fewer neighbours than this (a series of under five bars): the bar is not judged."""

MIN_RANGE = 0.002
"""Floor of the neighbours' range, as a fraction of their mid price."""

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
    """`L`: second-lowest low of the neighbouring bars."""
    neighbours_high: float
    """`H`: second-highest high of the neighbouring bars."""
    ranges: float
    """How far the wick reaches beyond `[L, H]`, in neighbours' ranges (the scale `R`)."""

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
    rows = len(frame)
    stop = rows if stop is None else min(stop, rows)
    first = max(first, 0)
    if stop <= first:
        return ()
    open_ = frame["open"].to_numpy(dtype=np.float64)
    high = frame["high"].to_numpy(dtype=np.float64)
    low = frame["low"].to_numpy(dtype=np.float64)
    close = frame["close"].to_numpy(dtype=np.float64)
    # Padding with ±inf makes missing neighbours (beyond the ends) never the second-lowest low
    # or the second-highest high once at least two real neighbours exist.
    pad = np.full(NEIGHBOURS, np.inf)
    low_windows = sliding_window_view(np.concatenate((pad, low, pad)), 2 * NEIGHBOURS + 1)
    high_windows = sliding_window_view(np.concatenate((-pad, high, -pad)), 2 * NEIGHBOURS + 1)
    found: list[tuple[int, str, float, float, float]] = []
    for start in range(first, stop, _CHUNK):
        end = min(start + _CHUNK, stop)
        positions = np.arange(start, end)
        lows = np.delete(low_windows[start:end], NEIGHBOURS, axis=1)
        highs = np.delete(high_windows[start:end], NEIGHBOURS, axis=1)
        floor = np.partition(lows, 1, axis=1)[:, 1]
        ceiling = -np.partition(-highs, 1, axis=1)[:, 1]
        judged = _neighbour_count(positions, rows) >= MIN_NEIGHBOURS
        with np.errstate(invalid="ignore", over="ignore"):
            scale = np.maximum(ceiling - floor, MIN_RANGE * (ceiling + floor) / 2)
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
                        float(floor[offset]),
                        float(ceiling[offset]),
                        float(reach[offset]),
                    )
                )
    index = frame.index
    values = {"low": low, "high": high}
    return tuple(
        SuspiciousBar(
            time=index[row],
            column=column,
            value=float(values[column][row]),
            open=float(open_[row]),
            close=float(close[row]),
            neighbours_low=floor_value,
            neighbours_high=ceiling_value,
            ranges=reach_value,
        )
        for row, column, floor_value, ceiling_value, reach_value in sorted(found)
    )


def _neighbour_count(positions: NDArray[np.int64], rows: int) -> NDArray[np.int64]:
    """Neighbours that exist for each row position in a series of `rows` bars."""
    before = np.minimum(positions, NEIGHBOURS)
    after = np.minimum(rows - 1 - positions, NEIGHBOURS)
    return np.asarray(before + after, dtype=np.int64)


def _price(value: float) -> str:
    return f"{value:.8g}"
