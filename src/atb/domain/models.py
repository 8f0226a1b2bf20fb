"""Concrete domain classes: the two open-position classes (one per engine) and the closed trade.

`ActiveTrade` (backtest) and `LivePosition` (live) hold the same position state and both satisfy
`atb.domain.protocols.Position`; `LivePosition` adds the identifiers a live venue and the store
need. `Trade` is a closed round trip with every leg. All are frozen attrs classes: managers
compute new values and the engines build the next version with `attrs.evolve`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.intents import ExitReason
from atb.domain.policies import PositionPolicies
from atb.domain.sides import OrderAction, PositionSide
from atb.domain.validation import (
    aware_datetime,
    finite,
    finite_non_negative,
    finite_positive,
    instance_of,
    non_empty_str,
    non_negative_int,
    optional_finite_positive,
)

__all__ = [
    "ActiveTrade",
    "Fill",
    "FillKind",
    "Liquidity",
    "LivePosition",
    "OrderAction",
    "PositionSide",
    "Trade",
]


@attrs.frozen(slots=True, kw_only=True)
class _OpenPositionFields:
    """The state shared by both open-position classes (the `Position` protocol's members).

    Not a public base: managers never depend on it (they are generic over the Protocols). It
    exists so both engine classes declare the fields and validators once.
    """

    position_id: str = attrs.field(validator=non_empty_str)
    symbol: str = attrs.field(validator=non_empty_str)
    side: PositionSide = attrs.field(validator=instance_of(PositionSide))
    entry_price: float = attrs.field(validator=finite_positive)
    first_entry_price: float = attrs.field(validator=finite_positive)
    entry_time: datetime = attrs.field(validator=aware_datetime)
    quantity: float = attrs.field(validator=finite_positive)
    original_quantity: float = attrs.field(validator=finite_positive)
    stop_loss: float | None = attrs.field(default=None, validator=optional_finite_positive)
    take_profit: float | None = attrs.field(default=None, validator=optional_finite_positive)
    trailing_active: bool = attrs.field(default=False, validator=instance_of(bool))
    breakeven_active: bool = attrs.field(default=False, validator=instance_of(bool))
    partial_exits_taken: int = attrs.field(default=0, validator=non_negative_int)
    scale_ins_taken: int = attrs.field(default=0, validator=non_negative_int)
    best_price: float = attrs.field(validator=finite_positive)
    worst_price: float = attrs.field(validator=finite_positive)
    realized_pnl: float = attrs.field(default=0.0, validator=finite)
    fees_paid: float = attrs.field(default=0.0, validator=finite_non_negative)
    slippage_paid: float = attrs.field(default=0.0, validator=finite_non_negative)
    legs: tuple[Fill, ...] = attrs.field(default=())
    policies: PositionPolicies = attrs.field(
        factory=PositionPolicies, validator=instance_of(PositionPolicies)
    )


@attrs.frozen(slots=True, kw_only=True)
class ActiveTrade(_OpenPositionFields):
    """An open position in the backtest engine."""


@attrs.frozen(slots=True, kw_only=True)
class LivePosition(_OpenPositionFields):
    """An open position in the live engine.

    Adds the client order id of the opening order (deterministic, never reused), the exchange's
    order ids for every leg placed so far, and the row id in the store (None until persisted).
    """

    client_order_id: str = attrs.field(validator=non_empty_str)
    exchange_order_ids: tuple[str, ...] = attrs.field(default=())
    store_id: int | None = attrs.field(default=None)


@attrs.frozen(slots=True, kw_only=True)
class Trade:
    """A closed round trip: every leg from the entry to the final exit.

    `entry_price` is the average entry (after scale-ins), `exit_price` the quantity-weighted
    average of the exit legs, `quantity` the total quantity bought (long) or sold (short) to
    build the position. `gross_pnl` is the realized price PnL; `pnl` = gross − fees (slippage is
    already inside the fill prices; `slippage` reports its cost separately).
    """

    trade_id: str = attrs.field(validator=non_empty_str)
    symbol: str = attrs.field(validator=non_empty_str)
    side: PositionSide = attrs.field(validator=instance_of(PositionSide))
    entry_time: datetime = attrs.field(validator=aware_datetime)
    exit_time: datetime = attrs.field(validator=aware_datetime)
    entry_price: float = attrs.field(validator=finite_positive)
    exit_price: float = attrs.field(validator=finite_positive)
    quantity: float = attrs.field(validator=finite_positive)
    gross_pnl: float = attrs.field(validator=finite)
    fees: float = attrs.field(validator=finite_non_negative)
    slippage: float = attrs.field(validator=finite_non_negative)
    exit_reason: str = attrs.field(validator=non_empty_str)
    legs: tuple[Fill, ...] = attrs.field()
    partial_exits: int = attrs.field(default=0, validator=non_negative_int)
    scale_ins: int = attrs.field(default=0, validator=non_negative_int)
    best_price: float = attrs.field(validator=finite_positive)
    worst_price: float = attrs.field(validator=finite_positive)
    exit: ExitReason = attrs.field(default=ExitReason.SIGNAL, validator=instance_of(ExitReason))
    """Why the position was closed (`exit_reason` is the words)."""

    @legs.validator
    def _check_legs(self, _attribute: attrs.Attribute[tuple[Fill, ...]], value: object) -> None:
        if not isinstance(value, tuple) or not value:
            raise ValueError(f"legs must be a non-empty tuple of Fill, got {value!r}")

    @property
    def pnl(self) -> float:
        """Net PnL in quote currency: gross price PnL minus every fee paid on the trade."""
        return self.gross_pnl - self.fees

    @property
    def entry_notional(self) -> float:
        """Quote currency committed: average entry × total quantity."""
        return self.entry_price * self.quantity

    @property
    def return_pct(self) -> float:
        """Net PnL as a fraction of the entry notional."""
        return self.pnl / self.entry_notional

    @property
    def holding_time(self) -> timedelta:
        """Exit time minus entry time (bar times)."""
        return self.exit_time - self.entry_time
