"""The live engine's side of the bar loop: the store as recorder, the rolling window as the
strategy's decision window."""

from __future__ import annotations

from collections.abc import Sequence

from atb.domain.bars import Bar
from atb.domain.models import LivePosition
from atb.engines.live.window import CandleWindow
from atb.managers.book import Book
from atb.managers.kernel_state import BarOutcome, StepResult
from atb.managers.volatility import ArrayHistory, PriceHistory
from atb.persistence.store import SessionStore
from atb.strategies.protocol import PreparesRecent, Strategy


class StoreRecorder:
    """A `Recorder` that commits each processed bar to the session's store (durable on
    return: one transaction per bar)."""

    def __init__(self, store: SessionStore, session_id: int) -> None:
        self.store = store
        self.session_id = session_id

    def record(
        self, bar: Bar, outcome: BarOutcome, book: Book[LivePosition], detail: Sequence[Bar]
    ) -> None:
        """Commit the bar, its events, orders, fills, equity and the kernel state."""
        self.store.record_step(
            self.session_id, bar, StepResult.of(book.snapshot(), outcome), detail
        )


class StrategyWindow:
    """The live decision window: the last bars, on which the strategy is prepared again at
    every new bar (the bias check proves a window of `warmup` bars decides as the full
    history does)."""

    def __init__(self, window: CandleWindow, strategy: Strategy) -> None:
        self.window = window
        self.strategy = strategy

    def push(self, bar: Bar) -> tuple[int, PriceHistory | None]:
        """Add `bar`, prepare the strategy on the window, give the bar's row and history.

        A strategy with an incremental path (`PreparesRecent` answering with features) is
        prepared on the window's arrays alone; any other on the window's frame."""
        self.window.append(bar)
        recent = self.window.recent()
        strategy = self.strategy
        if not isinstance(strategy, PreparesRecent) or strategy.prepare_recent(recent) is None:
            strategy.prepare(self.window.frame())
        history = ArrayHistory(high=recent.high, low=recent.low, close=recent.close)
        return len(self.window) - 1, history
