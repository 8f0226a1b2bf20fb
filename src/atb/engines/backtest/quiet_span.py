"""Skipping quiet bars: the backtest's fast path, proven equal to stepping every bar.

A bar is *quiet* when the kernel step would change nothing but marks: no pending order, the
strategy's signal mask promises HOLD, and the bar stays inside every band the managers state
(`atb.managers.quiet_bands`: resting levels, trailing stop, time exits, drawdown tiers and the
close-only latch). No manager rule is written here: the bands are intersected with the bar
arrays. Over a run of quiet bars only equity, the equity peak and the excursions move, and those
are computed with numpy using the very formulas of the scalar step.

Every test is a *sufficient* condition for quietness (with a safety margin where rounding could
matter): a bar wrongly judged eventful just costs one ordinary step, never a different result.
`tests/property/test_fast_path_property.py` proves both paths identical.
"""

from __future__ import annotations

import array
import bisect
import math
from datetime import datetime
from typing import Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from atb.domain.bars import Bar
from atb.domain.pnl import unrealized_pnl
from atb.domain.policies import TrailReference
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide
from atb.domain.timestamps import duration_ns, from_ns, to_ns
from atb.engines.backtest.early_decisions import EarlyDecisions
from atb.managers.bands import Band
from atb.managers.book import Book, KernelContext
from atb.managers.quiet_bands import QuietBands, quiet_bands, risk_band

P = TypeVar("P", bound=Position)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FIRST_WINDOW = 32
_MAX_WINDOW = 1 << 16
_MARGIN = 1e-9
"""Relative safety margin on band comparisons, far above float noise."""
_SHORT_SPAN = 16
"""Spans of at most this many bars (with a position) are advanced in Python floats."""


def _limits(band: Band) -> tuple[float | None, float | None]:
    """The values at or beyond which a value leaves `band` upwards and downwards (None: the
    band is open on that side), with a relative margin far above float noise: a bar judged
    eventful by mistake only costs an ordinary step."""
    rise = None if band.above == math.inf else band.above - abs(band.above) * _MARGIN
    fall = None if band.below == -math.inf else band.below + abs(band.below) * _MARGIN
    return rise, fall


def _leaves(band: Band, values: FloatArray) -> BoolArray:
    """True where `values` reach or leave `band` (see `_limits`)."""
    rise, fall = _limits(band)
    leaves = np.zeros(len(values), dtype=np.bool_)
    if rise is not None:
        leaves |= values >= rise
    if fall is not None:
        leaves |= values <= fall
    return leaves


def _leaves_value(band: Band, value: float) -> bool:
    """`_leaves` of one value."""
    rise, fall = _limits(band)
    return (rise is not None and value >= rise) or (fall is not None and value <= fall)


@attrs.frozen(slots=True)
class BarArrays:
    """The candles of a run as contiguous arrays (bar open times in int64 ns, UTC)."""

    times_ns: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)

    def time(self, index: int) -> datetime:
        """Bar open time of row `index` as an aware datetime."""
        return from_ns(int(self.times_ns[index]))

    def bar(self, index: int) -> Bar:
        """The `Bar` of row `index` (built only for bars the kernel steps or asks about)."""
        # `item` hands back the Python number without a numpy scalar in between.
        return Bar(
            from_ns(self.times_ns.item(index)),
            self.open.item(index),
            self.high.item(index),
            self.low.item(index),
            self.close.item(index),
            self.volume.item(index),
        )


@attrs.frozen(slots=True)
class QuietSpan:
    """Bars [start, end) advanced in bulk: their equity and exposure, and what moved — the
    highest high and lowest low (None when flat), the equity at the last close and its
    peak (`Book.pass_quiet_span` takes them over)."""

    end: int
    equity: FloatArray
    exposure: FloatArray
    high: float | None
    low: float | None
    peak_equity: float

    @property
    def close_equity(self) -> float:
        """Equity at the span's last close."""
        return float(self.equity[-1])


class QuietSpanFinder(Generic[P]):
    """Finds and advances quiet spans for one kernel over one run's arrays."""

    def __init__(
        self,
        context: KernelContext[P],
        bars: BarArrays,
        signal_mask: BoolArray,
        decisions: EarlyDecisions | None = None,
    ) -> None:
        self.context = context
        self.bars = bars
        self.decisions = decisions
        """Where a flat account's signal bars are asked early (None: every signal bar is
        stepped)."""
        # Compact (8 bytes a signal, a million-bar mask may be all set) and read as Python ints.
        self.signals = array.array("q", np.flatnonzero(signal_mask).astype(np.int64).tobytes())
        self.interval_ns = duration_ns(context.bar_interval)
        self._cursor = 0
        """Position in `signals` of the last answer: runs ask for ever later bars."""
        self._asked: tuple[int, Bar] | None = None

    def next_signal(self, start: int) -> int:
        """Index of the first bar ≥ `start` whose signal mask is set (len(bars) when none)."""
        signals, cursor = self.signals, self._cursor
        # Asked once per stepped bar, for a later bar each time: walk on from the last answer
        # (a binary search only when asked about an earlier bar, or far ahead).
        if cursor > 0 and signals[cursor - 1] >= start:
            cursor = bisect.bisect_left(signals, start)
        else:
            count = len(signals)
            steps = 0
            while cursor < count and signals[cursor] < start:
                cursor += 1
                steps += 1
                if steps == 8:
                    cursor = bisect.bisect_left(signals, start, cursor)
                    break
        self._cursor = cursor
        return signals[cursor] if cursor < len(signals) else len(self.bars)

    def bar(self, index: int) -> Bar:
        """The `Bar` of row `index`: the one built when the span search asked the strategy
        about that row, if it did (its step then gets the same object), else a new one."""
        asked = self._asked
        if asked is not None and asked[0] == index:
            return asked[1]
        bar = self.bars.bar(index)
        self._asked = (index, bar)
        return bar

    def advance(self, book: Book[P], start: int, stop: int) -> QuietSpan | None:
        """The quiet bars from `start` (before `stop`) for the run's `book`; None when `start`
        is not quiet."""
        if book.pending:
            return None
        signal = self.next_signal(start)
        position = book.position
        if position is None:
            return self._flat(book, start, stop, signal)
        stop = min(stop, signal)
        if stop <= start:
            return None
        bands = quiet_bands(self.context, book)
        if bands is None:
            return None
        if stop - start <= _SHORT_SPAN:
            return self._short_span(book, position, bands, start, stop)
        end = start
        window = _FIRST_WINDOW
        chunks: list[FloatArray] = []
        # The equity peak runs on across chunks: a drawdown late in the span is measured from
        # the highest close of the whole span so far, as the scalar step measures it.
        peak = book.peak_equity
        while end < stop:
            chunk_end = min(stop, end + window)
            equity = self._equity(book.cash, position, end, chunk_end)
            eventful = self._eventful(
                bands, peak=peak, start=end, end=chunk_end, equity=equity, position=position
            )
            if eventful.any():
                first = int(np.argmax(eventful))
                chunks.append(equity[:first])
                end += first
                break
            chunks.append(equity)
            peak = max(peak, float(equity.max()))
            end = chunk_end
            window = min(window * 4, _MAX_WINDOW)
        if end == start:
            return None
        return self._advanced(book, position, start, end, np.concatenate(chunks))

    # -- a flat account ----------------------------------------------------------------------
    def _flat(self, book: Book[P], start: int, stop: int, signal: int) -> QuietSpan | None:
        """`advance` with no position: equity is the cash on every bar and only the risk state
        could change; with `decisions`, a signal bar whose decision is HOLD is quiet too
        (`atb.engines.backtest.early_decisions`)."""
        decisions = self.decisions
        if signal <= start and decisions is None:
            return None
        cash = book.cash
        peak = max(book.peak_equity, cash)
        if _leaves_value(risk_band(self.context, book), max(0.0, 1.0 - cash / peak)):
            return None
        if decisions is not None:
            while signal < stop and decisions.holds_flat(signal, self.bar(signal)):
                signal = self.next_signal(signal + 1)
        end = min(stop, signal)
        if end <= start:
            return None
        equity = np.empty(end - start)
        equity.fill(cash)  # `np.full` without its Python-level wrapper: one flat span per trade
        return QuietSpan(
            end=end,
            equity=equity,
            exposure=np.zeros(end - start),
            high=None,
            low=None,
            peak_equity=peak,
        )

    # -- a short span, bar by bar in Python floats ---------------------------------------------
    def _short_span(
        self, book: Book[P], position: Position, bands: QuietBands, start: int, stop: int
    ) -> QuietSpan | None:
        """`advance` over a few bars with an open position: the chunked path's formulas, in
        its operation order, on Python floats (numpy's per-call cost dominates a span this
        short; a signal every few bars makes most spans short). Same results, to the bit:
        `tests/property/test_fast_path_property.py` compares both paths with stepping."""
        bars = self.bars
        rows = slice(start, stop)
        closes, lows, highs = (
            bars.close[rows].tolist(),
            bars.low[rows].tolist(),
            bars.high[rows].tolist(),
        )
        cash, side = book.cash, position.side
        entry, quantity = position.entry_price, position.quantity
        reference = bands.reference
        references = closes
        if reference is not None and bands.reference_kind is TrailReference.EXTREME:
            references = highs if position.side is PositionSide.LONG else lows
        # A bar is due for a time exit when its close reaches the deadline (1 µs margin, as
        # the chunked path): from this open time on.
        due_ns = math.inf
        if bands.deadline is not None:
            due_ns = to_ns(bands.deadline) - 1_000 - self.interval_ns
        opens_ns = bars.times_ns[rows].tolist()
        peak = book.peak_equity
        equities: list[float] = []
        for row, close in enumerate(closes):
            equity = cash + unrealized_pnl(side, entry, quantity, close)
            running = max(peak, equity)
            if (
                _leaves_value(bands.drawdown, max(0.0, 1.0 - equity / running))
                or _leaves_value(bands.low, lows[row])
                or _leaves_value(bands.high, highs[row])
                or (reference is not None and _leaves_value(reference, references[row]))
                or opens_ns[row] >= due_ns
            ):
                break
            peak = running
            equities.append(equity)
        if not equities:
            return None
        end = start + len(equities)
        exposures = [
            quantity * close / equity if equity > 0 else 0.0
            for close, equity in zip(closes, equities, strict=False)
        ]
        return QuietSpan(
            end=end,
            equity=np.array(equities, dtype=np.float64),
            exposure=np.array(exposures, dtype=np.float64),
            high=max(highs[: len(equities)]),
            low=min(lows[: len(equities)]),
            peak_equity=peak,
        )

    # -- the bands, intersected with the arrays ------------------------------------------------
    def _equity(self, cash: float, position: Position, start: int, end: int) -> FloatArray:
        close = self.bars.close[start:end]
        # Same operation order as `unrealized_pnl`: sign × (mark − entry) × quantity.
        return cash + position.side.sign * (close - position.entry_price) * position.quantity

    def _eventful(
        self,
        bands: QuietBands,
        *,
        peak: float,
        start: int,
        end: int,
        equity: FloatArray,
        position: Position,
    ) -> BoolArray:
        bars = self.bars
        eventful = self._drawdown_leaves(bands.drawdown, peak, equity)
        eventful |= _leaves(bands.low, bars.low[start:end])
        eventful |= _leaves(bands.high, bars.high[start:end])
        if bands.reference is not None:
            if bands.reference_kind is TrailReference.EXTREME:
                long = position.side is PositionSide.LONG
                reference = bars.high[start:end] if long else bars.low[start:end]
            else:
                reference = bars.close[start:end]
            eventful |= _leaves(bands.reference, reference)
        if bands.deadline is not None:
            deadline_ns = to_ns(bands.deadline)
            close_ns = bars.times_ns[start:end] + self.interval_ns
            eventful |= close_ns >= deadline_ns - 1_000  # 1 µs margin: datetimes are µs exact
        return eventful

    @staticmethod
    def _drawdown_leaves(band: Band, peak: float, equity: FloatArray) -> BoolArray:
        """Where the drawdown from the running peak (starting at `peak`) leaves `band`."""
        if band.below == -math.inf and band.above == math.inf:
            return np.zeros(len(equity), dtype=np.bool_)
        running = np.maximum(np.maximum.accumulate(equity), peak)
        drawdown = np.maximum(0.0, 1.0 - equity / running)
        return _leaves(band, drawdown)

    # -- the bulk advance ----------------------------------------------------------------------
    def _advanced(
        self, book: Book[P], position: Position, start: int, end: int, equity: FloatArray
    ) -> QuietSpan:
        bars = self.bars
        exposure = np.zeros(end - start)
        close = bars.close[start:end]
        positive = equity > 0
        exposure[positive] = position.quantity * close[positive] / equity[positive]
        return QuietSpan(
            end=end,
            equity=equity,
            exposure=exposure,
            high=float(bars.high[start:end].max()),
            low=float(bars.low[start:end].min()),
            peak_equity=max(book.peak_equity, float(equity.max())),
        )
