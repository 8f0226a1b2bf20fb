"""`KernelRunner`: drives a `Kernel` bar by bar and records what both engines report.

Both engines feed closed bars through a runner, so fills, trades and the equity curve reach the
`PerformanceTracker` the same way in backtest and live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderFilled, PositionClosed
from atb.domain.protocols import Position
from atb.managers.kernel import Kernel
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.performance import PerformanceTracker
from atb.managers.performance_metrics import PerformanceMetrics
from atb.managers.quiet_span import BarArrays, QuietSpan
from atb.managers.volatility import PriceHistory

P = TypeVar("P", bound=Position)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_CurvePart = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]
]


def _ns(bar: Bar) -> int:
    # Exact integer nanoseconds (datetime has microsecond resolution).
    delta = bar.time - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class KernelRunner(Generic[P]):
    """Holds the kernel state between bars and records every bar's outcome.

    Fills and closed trades go to the tracker as they happen; the equity curve is kept here
    and handed to the tracker in one batch by `metrics()` (one bulk call instead of one per
    bar or per quiet span).
    """

    def __init__(
        self,
        kernel: Kernel[P],
        state: KernelState[P],
        tracker: PerformanceTracker,
        history: PriceHistory | None = None,
    ) -> None:
        self.kernel = kernel
        self.state = state
        self.tracker = tracker
        self.history = history
        self.ambiguous_pnl_low = 0.0
        """Sum over ambiguous bars of the bar's PnL under the worse of the two extreme orders."""
        self.ambiguous_pnl_high = 0.0
        """Sum over ambiguous bars of the bar's PnL under the better of the two extreme orders."""
        self.events: list[KernelEvent] = []
        # The equity curve as recorded: array segments from quiet spans, and the rows of
        # stepped bars not yet folded into a segment.
        self._curve_parts: list[_CurvePart] = []
        self._rows: list[tuple[int, float, float, float]] = []
        self._tracked = 0

    def feed(self, bar: Bar, bar_index: int, *, close_reason: str | None = None) -> StepResult[P]:
        """Run the kernel step for one closed bar and record its fills, trades and equity.

        With `close_reason`, an open position is closed at this bar's close after the step
        (the last bar of a backtest run with `--close-at-end`).
        """
        before = self.state.equity
        result = self.kernel.step(self.state, bar, bar_index, self.history)
        if result.alternative_equity is not None:
            chosen, other = result.equity - before, result.alternative_equity - before
            self.ambiguous_pnl_low += min(chosen, other)
            self.ambiguous_pnl_high += max(chosen, other)
        if close_reason is not None:
            result = self.kernel.close_at(result, bar, close_reason)
        for event in result.events:
            if isinstance(event, OrderFilled):
                self.tracker.record_fill(event.fill)
            elif isinstance(event, PositionClosed):
                self.tracker.record_trade(event.trade)
        self._rows.append((_ns(bar), result.equity, bar.close, result.exposure))
        self.events.extend(result.events)
        self.state = result.state
        return result

    def advance(self, span: QuietSpan[P], bars: BarArrays, start: int) -> None:
        """Take over a quiet span computed in bulk (bars `start` … `span.end − 1`)."""
        self.state = span.state
        self._flush_rows()
        self._curve_parts.append(
            (
                bars.times_ns[start : span.end].copy(),
                span.equity,
                bars.close[start : span.end].copy(),
                span.exposure,
            )
        )

    def _flush_rows(self) -> None:
        if self._rows:
            times, equity, close, exposure = zip(*self._rows, strict=True)
            self._curve_parts.append(
                (
                    np.array(times, dtype=np.int64),
                    np.array(equity, dtype=np.float64),
                    np.array(close, dtype=np.float64),
                    np.array(exposure, dtype=np.float64),
                )
            )
            self._rows = []

    def metrics(self) -> PerformanceMetrics:
        """Metrics of everything fed so far (the curve reaches the tracker in one batch)."""
        times, equity, close, exposure = self.curve()
        fresh = slice(self._tracked, len(times))
        if len(times) > self._tracked:
            self.tracker.record_bars(times[fresh], equity[fresh], close[fresh], exposure[fresh])
            self._tracked = len(times)
        return self.tracker.metrics()

    def curve(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """The recorded curve: bar open times (int64 ns), equity, close and exposure arrays."""
        self._flush_rows()
        if not self._curve_parts:
            empty = np.zeros(0, dtype=np.float64)
            return np.zeros(0, dtype=np.int64), empty, empty.copy(), empty.copy()
        return (
            np.concatenate([part[0] for part in self._curve_parts]),
            np.concatenate([part[1] for part in self._curve_parts]),
            np.concatenate([part[2] for part in self._curve_parts]),
            np.concatenate([part[3] for part in self._curve_parts]),
        )
