"""`BarLoop`: the one sans-IO loop both engines feed closed bars to.

Per bar, in order: drop a bar that is not after the last one processed (a duplicate or an
out-of-order kline), keep the finer candles only when they lie inside the bar (one rule for
both engines: otherwise the bar falls back to the intrabar policy, and the loop counts it),
advance the decision window (the backtest's prepared frame, or the live rolling window the
strategy is prepared on), run the driver's plan → venue → apply step, and hand the result to the
recorder (memory for a backtest, the SQLite store for a live session) before anything else
sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from atb.domain.bars import Bar
from atb.domain.protocols import Position
from atb.engines.driver import BarDriver
from atb.managers.book import Book
from atb.managers.kernel_state import BarOutcome, KernelState
from atb.managers.volatility import PriceHistory
from atb.ports import Recorder

P = TypeVar("P", bound=Position)

__all__ = ["BarLoop", "DecisionWindow", "detail_inside"]


class DecisionWindow(Protocol):
    """What the strategy decides on: takes the newest closed bar, gives its row (the index the
    strategy's `decide` reads) and the price history for ATR questions."""

    def push(self, bar: Bar) -> tuple[int, PriceHistory | None]:
        """Take `bar` (after the previous one) and return its row and the history."""
        ...


def detail_inside(bar: Bar, finer: Sequence[Bar], interval: timedelta) -> bool:
    """True when every finer candle lies inside `bar`, in time and in price."""
    end = bar.time + interval
    return all(
        bar.time <= fine.time < end and fine.high <= bar.high and fine.low >= bar.low
        for fine in finer
    )


class BarLoop(Generic[P]):
    """Feeds closed bars through the driver and records each outcome.

    The loop keeps the run's `Book` from bar to bar (ADR 0022); `state` freezes it on demand.
    With `snapshot_every_bar` (the live engine) the state is frozen after every recorded bar:
    a bar that failed part-way (an exchange that did not answer, a store that did not write)
    leaves the loop at the last recorded bar, ready to process that bar again. Without it (a
    backtest, which stops at the first error) nothing is frozen per bar.
    """

    def __init__(
        self,
        driver: BarDriver[P],
        window: DecisionWindow,
        recorder: Recorder[P],
        state: KernelState[P],
        last_time: datetime | None = None,
        *,
        snapshot_every_bar: bool = False,
    ) -> None:
        self.driver = driver
        self.window = window
        self.recorder = recorder
        self.snapshot_every_bar = snapshot_every_bar
        self._recorded = state
        """The state after the last recorded bar (kept with `snapshot_every_bar`)."""
        self.book = Book(driver.context, state)
        """The run's working state after the last processed bar."""
        self.last_time = last_time
        self.inconsistent_detail = 0
        """Bars whose finer candles did not lie inside them (they used the intrabar policy)."""
        self.last_detail_inconsistent = False

    @property
    def state(self) -> KernelState[P]:
        """The kernel state after the last processed bar (frozen now)."""
        if self.snapshot_every_bar:
            return self._recorded
        return self.book.snapshot()

    @state.setter
    def state(self, state: KernelState[P]) -> None:
        """Carry on from `state` (a flatten outside the strategy, a restored session)."""
        self._recorded = state
        self.book = Book(self.driver.context, state)

    def feed(
        self,
        bar: Bar,
        detail: Sequence[Bar] | None = None,
        *,
        close_reason: str | None = None,
    ) -> BarOutcome | None:
        """Process one closed bar; None when it is not after the last processed one.

        With `close_reason`, an open position is closed at this bar's close after its step
        (the end of a backtest run with `--close-at-end`).
        """
        if self.last_time is not None and bar.time <= self.last_time:
            return None
        finer: Sequence[Bar] = detail or ()
        self.last_detail_inconsistent = False
        if finer and not detail_inside(bar, finer, self.driver.bar_interval):
            self.inconsistent_detail += 1
            self.last_detail_inconsistent = True
            finer = ()
        book = self.book
        try:
            index, history = self.window.push(bar)
            book.begin(bar)
            outcome = self.driver.advance(book, index, history, finer or None)
            if close_reason is not None:
                outcome = self.driver.close_book(book, outcome, close_reason)
            self.recorder.record(bar, outcome, book, finer)
        except BaseException:
            if self.snapshot_every_bar:
                self.state = self._recorded  # back to the last recorded bar
            raise
        if self.snapshot_every_bar:
            self._recorded = book.snapshot()
        self.last_time = bar.time
        return outcome

    def skipped(self, last_time: datetime) -> None:
        """The book was advanced past quiet bars up to `last_time` (the backtest's fast
        path)."""
        self.last_time = last_time
