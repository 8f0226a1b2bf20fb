"""The bar driver: plan → venue → apply for every closed bar, the one step both engines run.

For bar t (DESIGN §3):

1. the market orders decided at t−1's close go to the venue at open[t]; each report is applied;
2. the open position's resting orders (`plan.resting_orders`) go to the venue along the bar's
   path (or its finer candles): each level reached is executed and applied, and the resting
   orders are planned again after every fill;
3–5. `plan.plan_close` updates the position from the completed bar, the risk state from the
   close, and turns the strategy's decision into market orders — held for t+1's open, or sent
   to the venue at t's close with `fills.timing = close`;
6. equity is marked at close[t].

The driver holds no arithmetic of its own: prices and sizes come from the venue, state changes
from `apply`, decisions from `plan`. With a venue that reports the same fills, a backtest, a
paper session and a real session reach the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import attrs

from atb.domain.bars import Bar
from atb.domain.decisions import Decider, Decision
from atb.domain.events import OrderPlaced
from atb.domain.instruments import Instrument
from atb.domain.intents import ExitReason
from atb.domain.protocols import Position
from atb.managers.apply import apply_report, swap_policies
from atb.managers.book import Book, KernelContext
from atb.managers.execution import AccountView, RestingOrder
from atb.managers.execution_config import FillTiming
from atb.managers.kernel_state import BarOutcome, KernelState, StepResult
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.plan import plan_close, resting_orders, review_bar
from atb.managers.positions import PositionAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.volatility import PriceHistory
from atb.ports import ExecutionVenue
from atb.venues.simulated import SimulatedVenue

P = TypeVar("P", bound=Position)

__all__ = ["BarDriver", "BarFills"]

BarFills = tuple[Book[P], bool, float | None]
"""What `fill_book` leaves for the close: the book after the bar's fills, whether the bar was
ambiguous, and the equity the other extreme order would have given (None when not ambiguous)."""


class BarDriver(Generic[P]):
    """Runs the per-bar step for one symbol, one configuration, one decider, one venue."""

    def __init__(
        self,
        *,
        config: RunConfiguration,
        instrument: Instrument,
        positions: PositionAdapter[P],
        decider: Decider,
        bar_interval: timedelta,
        id_prefix: str = "bt",
        history_bars: int | None = None,
        venue: ExecutionVenue | None = None,
    ) -> None:
        self.context = KernelContext.build(
            config=config,
            instrument=instrument,
            positions=positions,
            bar_interval=bar_interval,
            id_prefix=id_prefix,
            history_bars=history_bars,
        )
        self.decider = decider
        self.venue: ExecutionVenue = venue or SimulatedVenue.build(
            config.costs, config.fills.intrabar, instrument
        )

    @property
    def config(self) -> RunConfiguration:
        """The run's configuration."""
        return self.context.config

    @property
    def instrument(self) -> Instrument:
        """The market's rules."""
        return self.context.instrument

    @property
    def bar_interval(self) -> timedelta:
        """The bar length."""
        return self.context.bar_interval

    def initial_state(self, cash: float) -> KernelState[P]:
        """A flat account holding `cash` (quote currency)."""
        return self.context.initial_state(cash)

    def step(
        self,
        state: KernelState[P],
        bar: Bar,
        bar_index: int,
        history: PriceHistory | None = None,
        detail: Sequence[Bar] | None = None,
    ) -> StepResult[P]:
        """Process one closed bar from `state` (DESIGN §3, steps 1–6).

        `history` answers ATR questions for ATR-based trailing. `detail` holds the bar's
        lower-timeframe candles (in order, inside the bar): resting levels are then walked on
        them instead of by the intrabar policy.
        """
        book = Book(self.context, state, bar)
        outcome = self.advance(book, bar_index, history, detail)
        return StepResult.of(book.snapshot(), outcome)

    def advance(
        self,
        book: Book[P],
        bar_index: int,
        history: PriceHistory | None = None,
        detail: Sequence[Bar] | None = None,
    ) -> BarOutcome:
        """`step` on a run's own book, already at its bar (`Book.begin`): the book is left in
        the state after the bar, and nothing is frozen (ADR 0022)."""
        fills = self.fill_book(book, detail)
        orders = plan_close(book, self.decider, bar_index, history)
        return self.finish_book(fills, orders)

    def fill_book(self, book: Book[P], detail: Sequence[Bar] | None = None) -> BarFills[P]:
        """Steps 1–2 of the bar: the pending market orders at the open, then the resting
        levels along the path — everything the venue fills in the bar, folded into the book.
        (A portfolio fills every symbol's bar before any symbol decides, each with the `others`
        of the portfolio in its book's account: ADR 0017.)"""
        book.begin_fills()
        ambiguous = self._fills(book, detail, reverse=False)
        alternative = self._alternative_equity(book, detail) if ambiguous else None
        book.end_fills()
        return book, ambiguous, alternative

    def review(
        self, fills: BarFills[P], bar_index: int, history: PriceHistory | None = None
    ) -> MarketOrder | None:
        """Step 3 alone (a portfolio's first pass over its symbols at a close): the position
        from the completed bar; a due time exit's order."""
        return review_bar(fills[0], bar_index, history)

    def decide(self, fills: BarFills[P], bar_index: int) -> Decision:
        """The strategy's decision at the close of the bar `fill_book` filled."""
        book = fills[0]
        return self.decider.decide(bar_index, book.bar, book.position)

    def finish_bar(self, fills: BarFills[P], orders: Sequence[MarketOrder]) -> StepResult[P]:
        """`finish_book`, with the state after the bar frozen."""
        outcome = self.finish_book(fills, orders)
        return StepResult.of(fills[0].snapshot(), outcome)

    def finish_book(self, fills: BarFills[P], orders: Sequence[MarketOrder]) -> BarOutcome:
        """The end of the bar: `orders` held for the next open (or executed at this close with
        `fills.timing = close`), equity at the close and its peak."""
        book, ambiguous, alternative = fills
        bar = book.bar
        if self.context.config.fills.timing is FillTiming.NEXT_OPEN:
            book.pending = tuple(orders)
        else:
            book.pending = ()
            for order in orders:
                self._market(book, order, bar.close, bar.time + self.context.bar_interval)
        equity = book.equity(bar.close)
        position = book.position
        exposure = 0.0
        if position is not None and equity > 0:
            exposure = position.quantity * bar.close / equity
        opening_equity = book.close_equity
        book.close_equity = equity
        book.peak_equity = max(book.peak_equity, equity)
        if ambiguous:
            book.ambiguous_bars += 1
        return BarOutcome(
            events=tuple(book.events),
            equity=equity,
            exposure=exposure,
            ambiguous=ambiguous,
            alternative_equity=alternative,
            ambiguous_pnl=None
            if alternative is None
            else _band(equity - opening_equity, alternative - opening_equity),
            attached_policies=tuple(book.attached),
        )

    def close_at(self, result: StepResult[P], bar: Bar, reason: str) -> StepResult[P]:
        """Close the open position at `bar`'s close, after its step (end of data, when asked).

        Orders still pending for a next bar that will never come are dropped.
        """
        if result.state.position is None:
            return result
        book = Book(self.context, result.state, bar)
        outcome = self.close_book(book, result, reason)
        return StepResult.of(book.snapshot(), outcome)

    def close_book(self, book: Book[P], outcome: BarOutcome, reason: str) -> BarOutcome:
        """`close_at` on a run's own book, after its bar's step gave `outcome`."""
        if book.position is None:
            return outcome
        bar = book.bar
        first = len(book.events)
        order = book.new_order(OrderIntent.CLOSE, reason, exit=ExitReason.END_OF_DATA)
        book.events.append(
            OrderPlaced(time=bar.time, order_id=order.order_id, intent=order.intent, reason=reason)
        )
        self._market(book, order, bar.close, bar.time + self.context.bar_interval)
        equity = book.equity(bar.close)
        book.pending = ()
        book.close_equity = equity
        book.peak_equity = max(book.peak_equity, equity)
        return BarOutcome(
            events=(*outcome.events, *book.events[first:]),
            equity=equity,
            exposure=0.0,
            ambiguous=outcome.ambiguous,
            alternative_equity=outcome.alternative_equity,
            ambiguous_pnl=outcome.ambiguous_pnl,
            attached_policies=outcome.attached_policies,
        )

    def open_next(
        self, state: KernelState[P], deciding: Bar
    ) -> tuple[tuple[RestingOrder, ...], str | None, AccountView]:
        """Execute now the market orders decided at `deciding`'s close, and say which levels
        the position then rests at (with its id and the account after those fills).

        A real venue calls this right after the deciding bar is stored, so its orders trade at
        the next bar's open and its protective orders are on the exchange while that bar
        trades. The venue prices and sizes at `deciding`'s close (the last price known); the
        fills it reports are what the kernel applies again when it steps the next bar. The
        book here is a scratch copy: nothing it records is kept.
        """
        opening = deciding.time + self.context.bar_interval
        price = deciding.close
        book = Book(self.context, state, Bar(opening, price, price, price, price))
        for order in state.pending:
            self._market(book, order, price, opening)
        position = book.position
        return (
            resting_orders(book),
            None if position is None else position.position_id,
            book.account(),
        )

    def flatten(
        self, state: KernelState[P], bar: Bar, reason: str, keep: Sequence[MarketOrder] = ()
    ) -> tuple[KernelState[P], tuple[OrderPlaced, ...]]:
        """The state after `bar` with a CLOSE of the position queued for the next fill point,
        outside the strategy (`atb live stop --flatten`, a daily-loss rail). Of the orders the
        strategy decided at `bar`'s close only `keep` stay (those already at an exchange); an
        entry among them is closed too."""
        book = Book(self.context, state, bar)
        entering = any(
            order.intent in (OrderIntent.OPEN_LONG, OrderIntent.OPEN_SHORT) for order in keep
        )
        if state.position is None and not entering:
            return attrs.evolve(state, pending=tuple(keep)), ()
        order = book.new_order(OrderIntent.CLOSE, reason, exit=ExitReason.FLATTEN)
        placed = OrderPlaced(
            time=bar.time, order_id=order.order_id, intent=order.intent, reason=reason
        )
        flattened = attrs.evolve(state, pending=(*keep, order), order_seq=book.order_seq)
        return flattened, (placed,)

    # --- steps 1 and 2: the venue, folded by apply -------------------------------------------

    def _fills(self, book: Book[P], detail: Sequence[Bar] | None, *, reverse: bool) -> bool:
        """Market orders at the open, then resting levels along the path; True if ambiguous."""
        bar = book.bar
        for order in book.pending:
            self._market(book, order, bar.open, bar.time)
        return self._resting(book, detail, reverse=reverse)

    def _market(self, book: Book[P], order: MarketOrder, reference: float, time: datetime) -> None:
        """One market order: checked against the book, executed by the venue, applied."""
        if order.intent is OrderIntent.SWAP_POLICIES:
            swap_policies(book, order)
            return
        if order.intent is OrderIntent.CLOSE:
            if book.position is None:
                book.reject(order.order_id, "no open position to close")
                return
        elif book.position is not None:
            book.reject(order.order_id, "a position is already open")
            return
        for report in self.venue.submit(order, reference, time, book.bar, book.account()):
            apply_report(book, report)

    def _resting(self, book: Book[P], detail: Sequence[Bar] | None, *, reverse: bool) -> bool:
        """Walk the resting orders along each path bar (the bar, or its finer candles).

        The venue names the levels the path reaches, in order; before each is executed the
        resting orders are planned again from the book, so a level a fill made stale is
        skipped and sizes follow the position.
        """
        ambiguous = False
        for path in detail or (book.bar,):
            position = book.position
            if position is None:
                break
            book.path_bar = path
            walk = self.venue.walk(resting_orders(book), path, position.side, reverse=reverse)
            for reached in walk.reached:
                if book.position is None:
                    break
                current = {order.key: order for order in resting_orders(book)}
                order = current.get(reached.order.key)
                if order is None or order.level.price != reached.order.level.price:
                    continue  # made stale by an earlier fill of this bar
                for report in self.venue.execute(order, reached.price, path, book.account()):
                    apply_report(book, report)
            ambiguous = ambiguous or walk.ambiguous
        book.path_bar = book.bar
        return ambiguous

    def _alternative_equity(self, book: Book[P], detail: Sequence[Bar] | None) -> float:
        """Equity at this close had the other extreme come first (fills only), from the state
        the bar's fills started from."""
        other = Book(self.context, book.started(), book.bar, book.others)
        self._fills(other, detail, reverse=True)
        return other.equity(book.bar.close)


def _band(chosen: float, other: float) -> tuple[float, float]:
    """(worse, better) of the two readings of an ambiguous bar's PnL."""
    return (min(chosen, other), max(chosen, other))
