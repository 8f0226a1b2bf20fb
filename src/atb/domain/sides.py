"""Position and order sides. Explicit enums; there is never a default side."""

from __future__ import annotations

import enum


class PositionSide(enum.Enum):
    """Direction of a position. `sign` is +1 for long, -1 for short."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short: PnL = sign × (exit − entry) × quantity."""
        return 1 if self is PositionSide.LONG else -1

    @property
    def opposite(self) -> PositionSide:
        """The other side."""
        return PositionSide.SHORT if self is PositionSide.LONG else PositionSide.LONG

    @property
    def entry_action(self) -> OrderAction:
        """The order action that opens or adds to a position of this side."""
        return OrderAction.BUY if self is PositionSide.LONG else OrderAction.SELL

    @property
    def exit_action(self) -> OrderAction:
        """The order action that reduces or closes a position of this side."""
        return OrderAction.SELL if self is PositionSide.LONG else OrderAction.BUY


class OrderAction(enum.Enum):
    """Buy or sell, as an exchange sees an order."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy (price slippage pushes up), -1 for sell."""
        return 1 if self is OrderAction.BUY else -1
