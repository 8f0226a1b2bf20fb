"""One execution: a leg of a position (entry, scale-in, partial exit or exit)."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from atb.domain.sides import OrderAction
from atb.domain.validation import (
    aware_datetime,
    finite_non_negative,
    finite_positive,
    instance_of,
    non_empty_str,
)


class FillKind(enum.Enum):
    """What a fill did to its position."""

    ENTRY = "entry"
    SCALE_IN = "scale-in"
    PARTIAL_EXIT = "partial-exit"
    EXIT = "exit"

    @property
    def increases(self) -> bool:
        """True for fills that add quantity (entry, scale-in)."""
        return self in _INCREASING


# Looked up once: asked for every leg of every closed trade.
_INCREASING = (FillKind.ENTRY, FillKind.SCALE_IN)


class Liquidity(enum.Enum):
    """Maker (resting limit) or taker (market and stop orders): decides the fee rate."""

    MAKER = "maker"
    TAKER = "taker"


@attrs.frozen(slots=True)
class Fill:
    """One execution.

    Units: `price` in quote per base unit (after slippage), `quantity` in base units (> 0),
    `fee` and `slippage` in quote currency (`slippage` is the cost of the price moving against the
    trader: |fill price − reference price| × quantity).
    """

    time: datetime = attrs.field(validator=aware_datetime)
    action: OrderAction = attrs.field(validator=instance_of(OrderAction))
    price: float = attrs.field(validator=finite_positive)
    quantity: float = attrs.field(validator=finite_positive)
    fee: float = attrs.field(validator=finite_non_negative)
    slippage: float = attrs.field(validator=finite_non_negative)
    reason: str = attrs.field(validator=non_empty_str)
    kind: FillKind = attrs.field(validator=instance_of(FillKind))
    liquidity: Liquidity = attrs.field(validator=instance_of(Liquidity))
    order_id: str = attrs.field(validator=non_empty_str)

    @property
    def notional(self) -> float:
        """price × quantity, in quote currency."""
        return self.price * self.quantity
