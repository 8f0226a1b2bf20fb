"""The ports: the Protocols the core talks through, in one module.

The kernel's driver (`atb.engines.driver`) reaches the outside world only through these:

- `ExecutionVenue`: where orders become fills (`atb.venues.simulated.SimulatedVenue` for the
  backtest and paper trading; an exchange for real money).
- `CandleFeed`: where closed bars come from (`atb.data.feeds`: the exchange, a replay).
- `Recorder`: where each processed bar's outcome goes (memory for a backtest, the SQLite store
  for a live session).
- `OrderJournal`: where a real session writes each order before it is sent, and every answer
  the exchange gives (the store; `atb.managers.order_journal` holds its vocabulary).

Fakes in tests implement these Protocols; nothing is monkeypatched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from atb.domain.bars import Bar
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide
from atb.domain.timeframes import Timeframe
from atb.managers.book import Book
from atb.managers.execution import (
    AccountView,
    RestingOrder,
    RestingWalk,
    VenueOrder,
    VenueReport,
)
from atb.managers.kernel_state import BarOutcome
from atb.managers.order_journal import AccountBaseline, ExchangeOrder, ExchangeTrade, FillPair
from atb.managers.orders import MarketOrder

P = TypeVar("P", bound=Position)

__all__ = ["CandleFeed", "ExecutionVenue", "FeedBatch", "OrderJournal", "Recorder"]


@runtime_checkable
class ExecutionVenue(Protocol):
    """Executes the kernel's orders and reports what happened to them.

    A venue prices and sizes: a fill carries its own price, quantity, fee and liquidity, and an
    order may fill in several parts (`VenueFill.complete` is False until the last) or be
    rejected. `apply` folds the reports into the kernel's state; the account a venue may size
    against is passed in (`AccountView`), current as of the call and valid for the call only
    (its position is the run's working position, changed in place at later bars: ADR 0022).
    """

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """A market order to fill at `reference` (the next bar's open or the deciding bar's
        close) within `bar`; the reports it has for it so far."""
        ...

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        """Withdraw an order; the acknowledgement (or a fill that came first)."""
        ...

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        """Which of the resting `orders` the bar `path` reached, in order, and whether the bar
        is ambiguous (another path through it would change the outcome). `reverse` asks for
        the other path (a venue that knows the real path may ignore it)."""
        ...

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """The execution of a resting order reached at `price` during `path`."""
        ...

    def open_orders(self) -> Sequence[VenueOrder]:
        """What is resting at the venue now."""
        ...

    def balance(self) -> float | None:
        """The venue's own view of the account's quote balance (None when it keeps none)."""
        ...


class Recorder(Protocol[P]):
    """Keeps what the driver produced for each processed bar."""

    def record(self, bar: Bar, outcome: BarOutcome, book: Book[P], detail: Sequence[Bar]) -> None:
        """Keep one processed bar: its outcome, the run's book after it (to read, or freeze
        with `book.snapshot()`; never to change) and the finer candles it was resolved on.
        A recorder that persists must be durable when this returns."""
        ...


@attrs.frozen(slots=True)
class FeedBatch:
    """Bars that closed since the last poll (in order, none repeated), the feed's clock, and
    ranges of bars the source does not have (reported, never invented)."""

    bars: tuple[Bar, ...]
    server_time: datetime
    gaps: tuple[tuple[datetime, int], ...] = ()
    """(first missing bar open time, number of missing bars)."""


class CandleFeed(Protocol):
    """Where the live engine gets closed bars."""

    def server_time(self) -> datetime:
        """The feed's clock (exchange server time; the replay's simulated time)."""
        ...

    def history(self, before: datetime | None, bars: int) -> list[Bar]:
        """Up to `bars` closed bars opening before `before` (None: the latest closed ones)."""
        ...

    def poll(self, after: datetime | None) -> FeedBatch:
        """Closed bars opening after `after` (None: after the history), in time order."""
        ...

    @property
    def finished(self) -> bool:
        """True when no bar will ever come again (end of a replay)."""
        ...

    def detail(self, bar: Bar, timeframe: Timeframe) -> list[Bar]:
        """The closed `timeframe` candles inside `bar` (lower-timeframe detail), in order."""
        ...


class OrderJournal(Protocol):
    """A real session's write-ahead order journal; every write is durable when it returns."""

    def orders(self) -> Sequence[ExchangeOrder]:
        """Every order of the session, in the order they were first written."""
        ...

    def write(self, orders: Sequence[ExchangeOrder]) -> None:
        """Insert or update these orders (by client id), all or none."""
        ...

    def trades(self) -> Sequence[ExchangeTrade]:
        """Every fill of the session's orders, in the exchange's order."""
        ...

    def record_trades(
        self, trades: Sequence[ExchangeTrade], orders: Sequence[ExchangeOrder]
    ) -> None:
        """Keep fills not seen before (by trade id) and the orders' new statuses, all or none."""
        ...

    def baseline(self) -> AccountBaseline | None:
        """What the account held outside the session when it started (None before)."""
        ...

    def record_baseline(self, baseline: AccountBaseline) -> None:
        """Keep the account's baseline (once, when the session starts or adopts)."""
        ...

    def record_fill_pair(self, pair: FillPair) -> None:
        """Keep a real fill beside the simulated one (replacing the pair of the same bar and
        order: a bar processed again after a crash records it again)."""
        ...

    def fill_pairs(self) -> Sequence[FillPair]:
        """Every fill pair, in bar order."""
        ...
