"""`SimulatedVenue`: fills from the bar's own price path, for the backtest and paper trading.

Market orders fill at the reference the kernel gives (the next bar's open, or the deciding bar's
close) with slippage against the trader; resting levels fill along the bar path (open → first
extreme → second extreme → close, the intrabar policy choosing which extreme comes first): a
level gapped through at the open fills at the open, otherwise at the level — stop-market fills
take slippage and the taker fee, limits fill at the level with the maker fee. Every price stays
inside its bar. Entries sized as a fraction of equity become a quantity here, at the fill
price; a scale-in is cut to what still fits under the position cap at its fill price. In a
portfolio, entries and scale-ins are also cut to what fits under the cap on all positions
together, with the other symbols' positions at their current prices. Orders the
market's rules refuse (below the lot step, the minimum quantity or order value) are rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
from atb.domain.sides import PositionSide
from atb.managers.costs import CostCalculator, PricedExecution
from atb.managers.execution import (
    AccountView,
    LevelReached,
    RestingOrder,
    RestingWalk,
    VenueAck,
    VenueFill,
    VenueOrder,
    VenueRejection,
    VenueReport,
)
from atb.managers.execution_config import CostConfig, IntrabarPolicy
from atb.managers.fills import FillModel, LevelKind
from atb.managers.orders import MarketOrder, OrderIntent

ENTRY_TOO_SMALL = "order below the instrument's minimum notional"
PARTIAL_TOO_SMALL = "partial exit below the lot or minimum notional"
SCALE_IN_REFUSED = "scale-in exceeds the position cap or minimum notional"
EXPOSURE_FULL = "the portfolio's exposure cap is reached"

_NOT_REACHED = RestingWalk((), ambiguous=False)


@attrs.frozen(slots=True)
class SimulatedVenue:
    """The bar-path venue for one instrument, one cost model and one intrabar policy."""

    costs: CostCalculator
    fill_model: FillModel

    @classmethod
    def build(
        cls, costs: CostConfig, intrabar: IntrabarPolicy, instrument: Instrument
    ) -> SimulatedVenue:
        """The venue for these costs, intrabar policy and instrument."""
        return cls(CostCalculator(costs, instrument), FillModel(intrabar))

    @property
    def instrument(self) -> Instrument:
        """The market's rules."""
        return self.costs.instrument

    # --- the ExecutionVenue port -------------------------------------------------------------

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """Fill a market order at `reference` (with slippage) inside `bar`, stamped `time`."""
        costs = self.costs
        if order.intent is OrderIntent.CLOSE:
            position = account.position
            if position is None:  # the kernel checks first; nothing to fill
                return ()
            priced = costs.taker_fill(
                reference, position.side.exit_action, position.quantity, bar.low, bar.high
            )
            return (_fill(order, priced, position.quantity, time),)
        side = PositionSide.LONG if order.intent is OrderIntent.OPEN_LONG else PositionSide.SHORT
        action = side.entry_action
        price = costs.taker_price(reference, action, bar.low, bar.high)
        equity = account.equity(price)
        quantity = costs.entry_quantity(order.fraction or 0.0, equity, price)
        room = account.exposure_room(equity)
        if room is not None:
            # A portfolio: the other symbols' positions may have moved since the decision.
            if room <= 0:
                return (VenueRejection(order, EXPOSURE_FULL, "the portfolio is at its cap"),)
            quantity = min(quantity, self.instrument.round_quantity(room / price))
        problem = self.instrument.order_problem(price, quantity)
        if problem is not None:
            return (VenueRejection(order, ENTRY_TOO_SMALL, problem),)
        return (_fill(order, costs.taker_execution(price, reference, quantity), quantity, time),)

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        """Nothing rests here between bars: a cancel is acknowledged at once."""
        return (VenueAck(order, "cancelled"),)

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        """The resting orders `path` reaches, in path order (`reverse` visits the extremes in
        the order the intrabar policy did not choose), and whether the bar is ambiguous."""
        low, high = path.low, path.high
        for order in orders:
            if order.level.within(low, high):
                break
        else:
            return _NOT_REACHED  # most bars reach no level: nothing to map
        by_level = {order.level: order for order in orders}
        walk = self.fill_model.walk(tuple(by_level), path, side, reverse=reverse)
        if not walk.hits and not walk.ambiguous:
            return _NOT_REACHED
        reached = tuple(
            LevelReached(by_level[hit.level], hit.price, hit.gapped) for hit in walk.hits
        )
        return RestingWalk(reached, walk.ambiguous)

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """Fill a resting order the path reached at `price` (the level, or the gapped open)."""
        position = account.position
        if position is None:
            return ()
        costs = self.costs
        kind = order.level.kind
        time = path.time
        if kind is LevelKind.STOP_LOSS:
            priced = costs.taker_fill(
                price, position.side.exit_action, position.quantity, path.low, path.high
            )
            return (_fill(order, priced, position.quantity, time),)
        if kind is LevelKind.TAKE_PROFIT:
            return (
                _fill(order, costs.maker_fill(price, position.quantity), position.quantity, time),
            )
        if kind is LevelKind.PARTIAL_EXIT:
            priced = costs.maker_fill(price, order.quantity)
            if not order.closes_position:
                problem = self.instrument.order_problem(price, order.quantity)
                if problem is not None:
                    return (VenueRejection(order, PARTIAL_TOO_SMALL, problem),)
            return (_fill(order, priced, order.quantity, time),)
        return self._scale_in(order, price, path, account)

    def _scale_in(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        position = account.position
        assert position is not None
        costs = self.costs
        action = position.side.entry_action
        fill_price = costs.taker_price(price, action, path.low, path.high)
        # Total notional stays within the per-position cap of the equity at the fill price.
        equity = account.equity(fill_price)
        cap = (order.position_cap or 0.0) * equity
        portfolio_room = account.exposure_room(equity)
        if portfolio_room is not None:
            cap = min(cap, portfolio_room)
        room = self.instrument.round_quantity(cap / fill_price - position.quantity)
        quantity = min(order.quantity, room)
        problem = (
            "the position is at its cap"
            if room <= 0
            else self.instrument.order_problem(fill_price, quantity)
        )
        if problem is not None:
            return (VenueRejection(order, SCALE_IN_REFUSED, problem),)
        priced = costs.taker_execution(fill_price, price, quantity)
        return (_fill(order, priced, quantity, path.time),)

    def open_orders(self) -> Sequence[VenueOrder]:
        """Nothing rests here: the kernel hands the resting levels to every bar's walk."""
        return ()

    def balance(self) -> float | None:
        """A simulation holds no money of its own: the kernel's book is the account."""
        return None


def _fill(order: VenueOrder, priced: PricedExecution, quantity: float, time: datetime) -> VenueFill:
    return VenueFill(
        order=order,
        price=priced.price,
        quantity=quantity,
        fee=priced.fee,
        slippage=priced.slippage,
        liquidity=priced.liquidity,
        time=time,
    )
