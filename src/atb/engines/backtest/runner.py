"""The backtest's side of the bar loop: a recorder in memory and the prepared frame as window.

`MemoryRecorder` keeps what the loop produces — every event, fills and closed trades for the
`PerformanceTracker`, the equity curve, the ambiguity band, the policies positions carried —
and takes over quiet spans the fast path advanced in bulk. `KernelRunner` puts the loop, the
recorder and the backtest's window (rows of the frame the strategy was prepared on) together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderFilled, PositionClosed
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.timestamps import to_ns
from atb.engines.backtest.quiet_span import BarArrays, QuietSpan
from atb.engines.bar_loop import BarLoop
from atb.engines.driver import BarDriver
from atb.managers.book import Book
from atb.managers.kernel_state import BarOutcome, KernelState
from atb.managers.performance import PerformanceTracker
from atb.managers.performance_metrics import PerformanceMetrics
from atb.managers.volatility import PriceHistory

P = TypeVar("P", bound=Position)

_CurvePart = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]
]


class _CurveBuffer:
    """The equity curve as it is recorded: growable arrays (doubling), one row per bar."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.times = np.zeros(capacity, dtype=np.int64)
        self.equity = np.zeros(capacity, dtype=np.float64)
        self.close = np.zeros(capacity, dtype=np.float64)
        self.exposure = np.zeros(capacity, dtype=np.float64)

    def _reserve(self, extra: int) -> None:
        needed = self.size + extra
        if needed <= len(self.times):
            return
        capacity = max(needed, 2 * len(self.times))
        for name in ("times", "equity", "close", "exposure"):
            old = getattr(self, name)
            grown = np.zeros(capacity, dtype=old.dtype)
            grown[: self.size] = old[: self.size]
            setattr(self, name, grown)

    def append(self, time_ns: int, equity: float, close: float, exposure: float) -> None:
        self._reserve(1)
        row = self.size
        self.times[row] = time_ns
        self.equity[row] = equity
        self.close[row] = close
        self.exposure[row] = exposure
        self.size += 1

    def extend(self, part: _CurvePart) -> None:
        count = len(part[0])
        self._reserve(count)
        rows = slice(self.size, self.size + count)
        self.times[rows] = part[0]
        self.equity[rows] = part[1]
        self.close[rows] = part[2]
        self.exposure[rows] = part[3]
        self.size += count

    def view(self, start: int = 0, *, copy: bool = True) -> _CurvePart:
        rows = slice(start, self.size)
        times, equity = self.times[rows], self.equity[rows]
        close, exposure = self.close[rows], self.exposure[rows]
        if not copy:
            return times, equity, close, exposure
        return times.copy(), equity.copy(), close.copy(), exposure.copy()


class MemoryRecorder(Generic[P]):
    """A `Recorder` in memory (the backtest's).

    Fills and closed trades go to the tracker as they happen; the equity curve is kept here
    and handed to the tracker in one batch by `metrics()` (one bulk call instead of one per
    bar or per quiet span).
    """

    def __init__(self, tracker: PerformanceTracker) -> None:
        self.tracker = tracker
        self.ambiguous_pnl_low = 0.0
        """Sum over ambiguous bars of the bar's PnL under the worse of the two extreme orders."""
        self.ambiguous_pnl_high = 0.0
        """Sum over ambiguous bars of the bar's PnL under the better of the two extreme orders."""
        self.events: list[KernelEvent] = []
        self.policy_uses: dict[PositionPolicies, int] = {}
        """How many times each distinct set of policies was attached to a position."""
        self._curve = _CurveBuffer()
        self._tracked = 0

    def record(self, bar: Bar, outcome: BarOutcome, book: Book[P], detail: Sequence[Bar]) -> None:
        """Keep one processed bar."""
        if outcome.ambiguous_pnl is not None:
            self.ambiguous_pnl_low += outcome.ambiguous_pnl[0]
            self.ambiguous_pnl_high += outcome.ambiguous_pnl[1]
        for event in outcome.events:
            if isinstance(event, OrderFilled):
                self.tracker.record_fill(event.fill)
            elif isinstance(event, PositionClosed):
                self.tracker.record_trade(event.trade)
        self._curve.append(to_ns(bar.time), outcome.equity, bar.close, outcome.exposure)
        self.events.extend(outcome.events)
        for policies in outcome.attached_policies:
            self.policy_uses[policies] = self.policy_uses.get(policies, 0) + 1

    def record_span(self, span: QuietSpan, bars: BarArrays, start: int) -> None:
        """Keep a quiet span the fast path advanced in bulk (bars `start` … `span.end − 1`)."""
        self._curve.extend(
            (
                bars.times_ns[start : span.end],
                span.equity,
                bars.close[start : span.end],
                span.exposure,
            )
        )

    def metrics(self) -> PerformanceMetrics:
        """Metrics of everything recorded so far (the curve reaches the tracker in one batch)."""
        if self._curve.size > self._tracked:
            # The tracker keeps copies of its own: the rows it reads are never written again.
            self.tracker.record_bars(*self._curve.view(self._tracked, copy=False))
            self._tracked = self._curve.size
        return self.tracker.metrics()

    def curve(self) -> _CurvePart:
        """The recorded curve: bar open times (int64 ns), equity, close and exposure arrays."""
        return self._curve.view()


class FrameWindow:
    """The backtest's decision window: the strategy was prepared once over the whole frame, so
    a bar's row is its position in the frame (given by the caller, who walks the frame)."""

    def __init__(self, history: PriceHistory | None) -> None:
        self._history = history
        self.row = 0

    def push(self, bar: Bar) -> tuple[int, PriceHistory | None]:
        """The row set for this bar, and the whole frame's history."""
        return self.row, self._history


class KernelRunner(Generic[P]):
    """The bar loop over a frame: driver, frame window and memory recorder together."""

    def __init__(
        self,
        kernel: BarDriver[P],
        state: KernelState[P],
        tracker: PerformanceTracker,
        history: PriceHistory | None = None,
        recorder: MemoryRecorder[P] | None = None,
    ) -> None:
        self.kernel = kernel
        # A recorder handed in carries on from an earlier runner (a schedule's next segment).
        self.recorder: MemoryRecorder[P] = recorder or MemoryRecorder(tracker)
        self._window = FrameWindow(history)
        self.loop = BarLoop(kernel, self._window, self.recorder, state)

    @property
    def state(self) -> KernelState[P]:
        """The kernel state after the last bar (frozen now)."""
        return self.loop.state

    @property
    def book(self) -> Book[P]:
        """The run's working state after the last bar."""
        return self.loop.book

    @property
    def tracker(self) -> PerformanceTracker:
        """The performance tracker the recorder feeds."""
        return self.recorder.tracker

    @property
    def events(self) -> list[KernelEvent]:
        """Every event so far, in order."""
        return self.recorder.events

    @property
    def ambiguous_pnl_low(self) -> float:
        """The ambiguous bars' PnL under the worse reading, summed."""
        return self.recorder.ambiguous_pnl_low

    @property
    def ambiguous_pnl_high(self) -> float:
        """The ambiguous bars' PnL under the better reading, summed."""
        return self.recorder.ambiguous_pnl_high

    @property
    def policy_uses(self) -> dict[PositionPolicies, int]:
        """How many times each distinct set of policies was attached to a position."""
        return self.recorder.policy_uses

    @property
    def inconsistent_detail(self) -> int:
        """Bars whose finer candles lay outside them (they used the intrabar policy)."""
        return self.loop.inconsistent_detail

    def feed(
        self,
        bar: Bar,
        bar_index: int,
        *,
        close_reason: str | None = None,
        detail: Sequence[Bar] | None = None,
    ) -> BarOutcome | None:
        """Run row `bar_index` through the loop (None for a bar not after the last)."""
        self._window.row = bar_index
        return self.loop.feed(bar, detail, close_reason=close_reason)

    def advance(self, span: QuietSpan, bars: BarArrays, start: int) -> None:
        """Take over a quiet span computed in bulk (bars `start` … `span.end − 1`)."""
        self.recorder.record_span(span, bars, start)
        self.loop.book.pass_quiet_span(span.high, span.low, span.close_equity, span.peak_equity)
        self.loop.skipped(bars.time(span.end - 1))

    def metrics(self) -> PerformanceMetrics:
        """Metrics of everything fed so far."""
        return self.recorder.metrics()

    def curve(self) -> _CurvePart:
        """The recorded curve: bar open times (int64 ns), equity, close and exposure arrays."""
        return self.recorder.curve()
