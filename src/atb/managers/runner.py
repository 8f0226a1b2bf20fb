"""`KernelRunner`: drives a `Kernel` bar by bar and records what both engines report.

Both engines feed closed bars through a runner, so fills, trades and the equity curve reach the
`PerformanceTracker` the same way in backtest and live.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderFilled, PositionClosed
from atb.domain.protocols import Position
from atb.managers.kernel import Kernel
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.performance import PerformanceTracker

P = TypeVar("P", bound=Position)


class KernelRunner(Generic[P]):
    """Holds the kernel state between bars and feeds every bar's outcome to the tracker."""

    def __init__(
        self, kernel: Kernel[P], state: KernelState[P], tracker: PerformanceTracker
    ) -> None:
        self.kernel = kernel
        self.state = state
        self.tracker = tracker
        self.events: list[KernelEvent] = []

    def feed(self, bar: Bar, bar_index: int) -> StepResult[P]:
        """Run the kernel step for one closed bar and record its fills, trades and equity."""
        result = self.kernel.step(self.state, bar, bar_index)
        for event in result.events:
            if isinstance(event, OrderFilled):
                self.tracker.record_fill(event.fill)
            elif isinstance(event, PositionClosed):
                self.tracker.record_trade(event.trade)
        self.tracker.record_bar(bar.time, result.equity, bar.close, result.exposure)
        self.events.extend(result.events)
        self.state = result.state
        return result
