"""From the kernel's resting levels to the orders that protect a spot position on the exchange.

A long spot position of quantity Q rests at up to four kinds of level: a stop loss and a take
profit for all of Q, partial-exit targets for slices of it, and scale-in thresholds that buy
more. Sent as they are, the sells would reserve more than Q (the stop alone needs all of it),
and the exchange would refuse the second. So the sells are cut into **tranches**, each a
one-cancels-the-other list of a limit and a stop-limit for the same quantity:

    tranche per partial target:  limit at the target (never above the take profit) + stop, q_i
    the rest, Q − Σ q_i:         limit at the take profit + stop   (a lone stop without target)

Together the stops cover Q exactly once, and so do the limits: nothing is over-committed, and
when the stop price trades every tranche's stop fires. When a target fills, the exchange expires
its tranche's stop, and the other tranches still cover what is left. Scale-ins are buy
stop-limits (they reserve quote, not base). A tranche the market's rules would refuse (below
the minimum order value) joins the rest.

A stop-limit's limit sits `STOP_LIMIT_ROOM` beyond its stop, so a fast market still fills it.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from atb.domain.instruments import Instrument
from atb.managers.execution import AccountView, RestingOrder
from atb.managers.fills import LevelKind
from atb.managers.order_journal import OrderShape

__all__ = ["STOP_LIMIT_ROOM", "PlannedLeg", "PlannedOrder", "protection_plan"]

STOP_LIMIT_ROOM = 0.005
"""How far beyond its stop a stop-limit's limit price sits (0.5 %)."""


@attrs.frozen(slots=True)
class PlannedLeg:
    """One order the exchange should hold for a level of the kernel."""

    level: LevelKind
    rung: int
    side: str
    shape: OrderShape
    quantity: float
    price: float
    stop_price: float | None = None


@attrs.frozen(slots=True)
class PlannedOrder:
    """A lone order (one leg) or an OCO list (a limit leg and a stop leg, in that order)."""

    legs: tuple[PlannedLeg, ...]

    @property
    def is_list(self) -> bool:
        """True for a one-cancels-the-other list."""
        return len(self.legs) == 2


def protection_plan(
    orders: Sequence[RestingOrder], instrument: Instrument, account: AccountView
) -> tuple[PlannedOrder, ...]:
    """The exchange orders that hold the kernel's resting `orders` of a long position."""
    position = account.position
    if position is None or not orders:
        return ()
    by_kind: dict[LevelKind, list[RestingOrder]] = {}
    for order in orders:
        by_kind.setdefault(order.level.kind, []).append(order)
    stop = next(iter(by_kind.get(LevelKind.STOP_LOSS, ())), None)
    target = next(iter(by_kind.get(LevelKind.TAKE_PROFIT, ())), None)
    ceiling = None if target is None else target.level.price
    planned: list[PlannedOrder] = []
    rest = instrument.snap_quantity(position.quantity)
    for partial in sorted(by_kind.get(LevelKind.PARTIAL_EXIT, ()), key=lambda o: o.level.price):
        price = partial.level.price if ceiling is None else min(partial.level.price, ceiling)
        quantity = min(instrument.round_quantity(partial.quantity), rest)
        if partial.closes_position or quantity <= 0:
            continue  # the last rung sells what is left: it is the rest's target
        if instrument.order_problem(price, quantity) is not None:
            continue
        planned.append(_tranche(partial, price, quantity, stop, instrument))
        rest = instrument.snap_quantity(rest - quantity)
    last = _last_target(by_kind.get(LevelKind.PARTIAL_EXIT, ()), target, ceiling)
    if rest > 0:
        if last is not None:
            price = last.level.price if ceiling is None else min(last.level.price, ceiling)
            rest_order = _tranche(last, price, rest, stop, instrument)
        elif stop is not None:
            rest_order = PlannedOrder((_stop_leg(stop, rest, instrument),))
        else:
            rest_order = None
        if rest_order is not None:
            if all(instrument.order_problem(leg.price, rest) is None for leg in rest_order.legs):
                planned.append(rest_order)
            elif planned:
                # Too small to rest alone: the last tranche takes it, so all of Q stays covered.
                planned[-1] = _grown(planned[-1], rest, instrument)
    for scale_in in by_kind.get(LevelKind.SCALE_IN, ()):
        leg = _scale_in_leg(scale_in, instrument, account)
        if leg is not None:
            planned.append(PlannedOrder((leg,)))
    return tuple(planned)


def _grown(order: PlannedOrder, extra: float, instrument: Instrument) -> PlannedOrder:
    return PlannedOrder(
        tuple(
            attrs.evolve(leg, quantity=instrument.snap_quantity(leg.quantity + extra))
            for leg in order.legs
        )
    )


def _last_target(
    partials: Sequence[RestingOrder], target: RestingOrder | None, ceiling: float | None
) -> RestingOrder | None:
    """The level that sells the rest: a closing rung below the take profit, else the take
    profit."""
    closing = [order for order in partials if order.closes_position]
    if closing and (ceiling is None or closing[0].level.price < ceiling):
        return closing[0]
    return target


def _tranche(
    target: RestingOrder,
    price: float,
    quantity: float,
    stop: RestingOrder | None,
    instrument: Instrument,
) -> PlannedOrder:
    limit = PlannedLeg(
        target.level.kind, target.level.rung, "sell", OrderShape.LIMIT, quantity, price
    )
    if stop is None:
        return PlannedOrder((limit,))
    return PlannedOrder((limit, _stop_leg(stop, quantity, instrument)))


def _stop_leg(stop: RestingOrder, quantity: float, instrument: Instrument) -> PlannedLeg:
    trigger = stop.level.price
    limit = instrument.round_price_down(trigger * (1.0 - STOP_LIMIT_ROOM))
    return PlannedLeg(
        LevelKind.STOP_LOSS, stop.level.rung, "sell", OrderShape.STOP, quantity, limit, trigger
    )


def _scale_in_leg(
    order: RestingOrder, instrument: Instrument, account: AccountView
) -> PlannedLeg | None:
    position = account.position
    assert position is not None
    trigger = order.level.price
    # Sized to fit the position cap at the trigger (the simulated venue sizes at its fill).
    cap = (order.position_cap or 0.0) * account.equity(trigger)
    room = instrument.round_quantity(cap / trigger - position.quantity)
    quantity = min(instrument.round_quantity(order.quantity), room)
    if quantity <= 0 or instrument.order_problem(trigger, quantity) is not None:
        return None
    limit = instrument.round_price_up(trigger * (1.0 + STOP_LIMIT_ROOM))
    return PlannedLeg(
        LevelKind.SCALE_IN, order.level.rung, "buy", OrderShape.STOP, quantity, limit, trigger
    )
