"""Position accounting: applying a fill to a position, and closing it into a `Trade`.

Margin style: cash moves only by realized PnL and fees. An entry or scale-in costs its fee; an
exit leg returns its gross PnL minus its fee. Average-cost accounting: a scale-in re-averages the
entry price; exits realize against that average.
"""

from __future__ import annotations

from atb.domain.fills import Fill
from atb.domain.intents import ExitReason
from atb.domain.models import Trade
from atb.domain.pnl import average_entry, leg_pnl
from atb.domain.protocols import Position
from atb.managers.working_position import PositionChanges


def cash_change(position: Position, fill: Fill) -> float:
    """How much cash moves when `fill` executes against `position` (quote currency)."""
    if fill.kind.increases:
        return -fill.fee
    return leg_pnl(position.side, position.entry_price, fill.price, fill.quantity) - fill.fee


def scale_in_changes(
    position: Position, fill: Fill, quantity: float | None = None
) -> PositionChanges:
    """Changes of a scale-in fill: larger, re-averaged, one more scale-in taken.

    `quantity` is the new open quantity when the caller snapped it to the lot grid.
    """
    return PositionChanges(
        entry_price=average_entry(
            position.entry_price, position.quantity, fill.price, fill.quantity
        ),
        quantity=position.quantity + fill.quantity if quantity is None else quantity,
        scale_ins_taken=position.scale_ins_taken + 1,
        fees_paid=position.fees_paid + fill.fee,
        slippage_paid=position.slippage_paid + fill.slippage,
        legs=(*position.legs, fill),
    )


def partial_exit_changes(
    position: Position, fill: Fill, remaining: float | None = None
) -> PositionChanges:
    """Changes of a partial-exit fill that leaves some quantity open.

    `remaining` is the open quantity left when the caller snapped it to the lot grid.
    """
    if remaining is None:
        remaining = position.quantity - fill.quantity
    if remaining <= 0:
        raise ValueError(f"partial exit of {fill.quantity} would close {position.quantity}")
    return PositionChanges(
        quantity=remaining,
        partial_exits_taken=position.partial_exits_taken + 1,
        realized_pnl=position.realized_pnl
        + leg_pnl(position.side, position.entry_price, fill.price, fill.quantity),
        fees_paid=position.fees_paid + fill.fee,
        slippage_paid=position.slippage_paid + fill.slippage,
        legs=(*position.legs, fill),
    )


def grow_changes(position: Position, fill: Fill, quantity: float) -> PositionChanges:
    """Changes of a later part of the entry order (a partial fill completing): larger,
    re-averaged, and the original quantity grows with it (it is still the first entry)."""
    return PositionChanges(
        entry_price=average_entry(
            position.entry_price, position.quantity, fill.price, fill.quantity
        ),
        quantity=quantity,
        original_quantity=position.original_quantity + fill.quantity,
        fees_paid=position.fees_paid + fill.fee,
        slippage_paid=position.slippage_paid + fill.slippage,
        legs=(*position.legs, fill),
    )


def reduce_changes(position: Position, fill: Fill, remaining: float) -> PositionChanges:
    """Changes of a part of an exit order (a partial fill): smaller, PnL realized, no ladder
    rung used."""
    if remaining <= 0:
        raise ValueError(f"an exit part of {fill.quantity} would close {position.quantity}")
    return PositionChanges(
        quantity=remaining,
        realized_pnl=position.realized_pnl
        + leg_pnl(position.side, position.entry_price, fill.price, fill.quantity),
        fees_paid=position.fees_paid + fill.fee,
        slippage_paid=position.slippage_paid + fill.slippage,
        legs=(*position.legs, fill),
    )


def close(position: Position, fill: Fill, reason: str, exit: ExitReason) -> Trade:
    """The closed trade after the final exit `fill` (which must be the whole open quantity)."""
    legs = (*position.legs, fill)
    exits = [leg for leg in legs if not leg.kind.increases]
    exit_quantity = sum(leg.quantity for leg in exits)
    exit_price = sum(leg.price * leg.quantity for leg in exits) / exit_quantity
    last_rung = exit is ExitReason.PARTIALS_COMPLETE
    partial_exits = position.partial_exits_taken + (1 if last_rung else 0)
    return Trade(
        trade_id=position.position_id,
        symbol=position.symbol,
        side=position.side,
        entry_time=position.entry_time,
        exit_time=fill.time,
        entry_price=position.entry_price,
        exit_price=exit_price,
        quantity=sum(leg.quantity for leg in legs if leg.kind.increases),
        gross_pnl=position.realized_pnl
        + leg_pnl(position.side, position.entry_price, fill.price, fill.quantity),
        fees=position.fees_paid + fill.fee,
        slippage=position.slippage_paid + fill.slippage,
        exit_reason=reason,
        legs=legs,
        partial_exits=partial_exits,
        scale_ins=position.scale_ins_taken,
        best_price=position.best_price,
        worst_price=position.worst_price,
        exit=exit,
    )
