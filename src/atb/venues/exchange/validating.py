"""`ValidatingVenue`: paper fills, with every market order first checked by the exchange.

`atb live --validate-only` runs a paper session (the simulated venue fills every order, as in a
backtest) but sends each market order, with its real size and client id, to the exchange's
test-order endpoint first: the exchange checks it against the market's current rules and the
API key's permissions without executing it. An order the exchange would refuse is rejected in
the session with the exchange's words — the rehearsal before the first real order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from atb.domain.bars import Bar
from atb.domain.sides import PositionSide
from atb.managers.execution import (
    AccountView,
    RestingOrder,
    RestingWalk,
    VenueFill,
    VenueOrder,
    VenueRejection,
    VenueReport,
)
from atb.managers.orders import MarketOrder, OrderIntent
from atb.venues.exchange.spot_client import OrderRefusedError, SpotClient
from atb.venues.simulated import SimulatedVenue

__all__ = ["EXCHANGE_REFUSED", "ValidatingVenue"]

EXCHANGE_REFUSED = "the exchange's test-order endpoint refused it"

Log = Callable[..., None]


class ValidatingVenue:
    """The simulated venue, with market orders validated by the exchange first."""

    def __init__(self, simulated: SimulatedVenue, client: SpotClient, log: Log) -> None:
        self.simulated = simulated
        self.client = client
        self.log = log

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """Size and fill the order as the simulation does, after the exchange accepted it."""
        reports = self.simulated.submit(order, reference, time, bar, account)
        fills = [report for report in reports if isinstance(report, VenueFill)]
        if not fills:
            return reports
        side = "sell" if _sells(order, account) else "buy"
        quantity = sum(fill.quantity for fill in fills)
        try:
            self.client.validate(order.order_id, side, quantity)
        except OrderRefusedError as refusal:
            self.log("order_rejected", client_id=order.order_id, reason=str(refusal))
            return (VenueRejection(order, EXCHANGE_REFUSED, str(refusal)),)
        self.log("order_validated", client_id=order.order_id, side=side, quantity=quantity)
        return reports

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        """As the simulation."""
        return self.simulated.cancel(order)

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        """As the simulation."""
        return self.simulated.walk(orders, path, side, reverse=reverse)

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        """As the simulation."""
        return self.simulated.execute(order, price, path, account)

    def open_orders(self) -> Sequence[VenueOrder]:
        """As the simulation."""
        return self.simulated.open_orders()

    def balance(self) -> float | None:
        """As the simulation."""
        return self.simulated.balance()


def _sells(order: MarketOrder, account: AccountView) -> bool:
    if order.intent is OrderIntent.CLOSE:
        position = account.position
        return position is not None and position.side is PositionSide.LONG
    return order.intent is OrderIntent.OPEN_SHORT
