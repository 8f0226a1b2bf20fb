"""`KernelRunner`: drives a `Kernel` bar by bar and records what both engines report.

Both engines feed closed bars through a runner, so fills, trades and the equity curve reach the
`PerformanceTracker` the same way in backtest and live.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderFilled, PositionClosed
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.engines.backtest.quiet_span import BarArrays, QuietSpan
from atb.engines.driver import BarDriver
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.performance import PerformanceTracker
from atb.managers.performance_metrics import PerformanceMetrics
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

    def view(self, start: int = 0) -> _CurvePart:
        rows = slice(start, self.size)
        return (
            self.times[rows].copy(),
            self.equity[rows].copy(),
            self.close[rows].copy(),
            self.exposure[rows].copy(),
        )


class KernelRunner(Generic[P]):
    """Holds the kernel state between bars and records every bar's outcome.

    Fills and closed trades go to the tracker as they happen; the equity curve is kept here
    and handed to the tracker in one batch by `metrics()` (one bulk call instead of one per
    bar or per quiet span).
    """

    def __init__(
        self,
        kernel: BarDriver[P],
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
        self.policy_uses: dict[PositionPolicies, int] = {}
        """How many times each distinct set of policies was attached to a position."""
        self._curve = _CurveBuffer()
        self._tracked = 0

    def feed(
        self,
        bar: Bar,
        bar_index: int,
        *,
        close_reason: str | None = None,
        detail: Sequence[Bar] | None = None,
    ) -> StepResult[P]:
        """Run the kernel step for one closed bar and record its fills, trades and equity.

        With `close_reason`, an open position is closed at this bar's close after the step
        (the last bar of a backtest run with `--close-at-end`).
        """
        before = self.state.equity
        result = self.kernel.step(self.state, bar, bar_index, self.history, detail)
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
        self._curve.append(_ns(bar), result.equity, bar.close, result.exposure)
        self.events.extend(result.events)
        for policies in result.attached_policies:
            self.policy_uses[policies] = self.policy_uses.get(policies, 0) + 1
        self.state = result.state
        return result

    def advance(self, span: QuietSpan[P], bars: BarArrays, start: int) -> None:
        """Take over a quiet span computed in bulk (bars `start` … `span.end − 1`)."""
        self.state = span.state
        self._curve.extend(
            (
                bars.times_ns[start : span.end],
                span.equity,
                bars.close[start : span.end],
                span.exposure,
            )
        )

    def metrics(self) -> PerformanceMetrics:
        """Metrics of everything fed so far (the curve reaches the tracker in one batch)."""
        if self._curve.size > self._tracked:
            self.tracker.record_bars(*self._curve.view(self._tracked))
            self._tracked = self._curve.size
        return self.tracker.metrics()

    def curve(self) -> _CurvePart:
        """The recorded curve: bar open times (int64 ns), equity, close and exposure arrays."""
        return self._curve.view()
