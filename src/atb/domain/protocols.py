"""The Protocols every manager is written against.

`PositionState` is what the managers read; `Position` adds identity and cost fields; `Trade` is a
closed round trip. Members are read-only properties, so frozen and mutable classes both satisfy
them. `ActiveTrade` and `LivePosition` satisfy `Position`, `atb.domain.models.Trade` satisfies
`Trade` (checked by mypy in `tests/typing/` and at runtime with `isinstance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from atb.domain.fills import Fill
from atb.domain.intents import ExitReason
from atb.domain.policies import PositionPolicies
from atb.domain.sides import PositionSide


@runtime_checkable
class PositionState(Protocol):
    """What the managers read from an open position."""

    @property
    def symbol(self) -> str:
        """Instrument symbol, e.g. "BTCUSDT"."""
        ...

    @property
    def side(self) -> PositionSide:
        """LONG or SHORT; the side carries the sign, quantities are always > 0."""
        ...

    @property
    def entry_price(self) -> float:
        """Average entry price (quote per base unit), re-averaged by scale-ins."""
        ...

    @property
    def first_entry_price(self) -> float:
        """Fill price of the first entry; partial and scale-in levels are fixed from it."""
        ...

    @property
    def entry_time(self) -> datetime:
        """Bar time (UTC) of the first entry fill."""
        ...

    @property
    def quantity(self) -> float:
        """Current open quantity in base units (> 0)."""
        ...

    @property
    def original_quantity(self) -> float:
        """Quantity of the first entry fill (base units); partial sizes are fractions of it."""
        ...

    @property
    def stop_loss(self) -> float | None:
        """Stop-loss price (quote per base unit), or None when there is none."""
        ...

    @property
    def take_profit(self) -> float | None:
        """Take-profit price (quote per base unit), or None when there is none."""
        ...

    @property
    def trailing_active(self) -> bool:
        """True once the trailing stop has activated (sticky)."""
        ...

    @property
    def breakeven_active(self) -> bool:
        """True once the stop has been moved to breakeven (sticky)."""
        ...

    @property
    def partial_exits_taken(self) -> int:
        """Number of partial-exit rungs filled so far."""
        ...

    @property
    def scale_ins_taken(self) -> int:
        """Number of scale-in rungs filled so far."""
        ...

    @property
    def best_price(self) -> float:
        """Most favourable price seen since entry (high for a long, low for a short)."""
        ...

    @property
    def worst_price(self) -> float:
        """Most adverse price seen since entry (low for a long, high for a short)."""
        ...


@runtime_checkable
class Position(PositionState, Protocol):
    """An open position with identity, costs and its attached policies."""

    @property
    def position_id(self) -> str:
        """Unique id of the position within its run or session."""
        ...

    @property
    def realized_pnl(self) -> float:
        """Gross PnL (quote) already realized by partial exits."""
        ...

    @property
    def fees_paid(self) -> float:
        """Fees (quote) paid on every leg so far."""
        ...

    @property
    def slippage_paid(self) -> float:
        """Slippage cost (quote) of every leg so far."""
        ...

    @property
    def legs(self) -> Sequence[Fill]:
        """Every fill of the position so far, in time order."""
        ...

    @property
    def policies(self) -> PositionPolicies:
        """Trailing, partial and time-exit policies attached to this position."""
        ...


@runtime_checkable
class Trade(Protocol):
    """A closed round trip."""

    @property
    def trade_id(self) -> str:
        """Unique id (the position id of the position it closed)."""
        ...

    @property
    def symbol(self) -> str:
        """Instrument symbol."""
        ...

    @property
    def side(self) -> PositionSide:
        """LONG or SHORT."""
        ...

    @property
    def entry_time(self) -> datetime:
        """Bar time of the first entry fill (UTC)."""
        ...

    @property
    def exit_time(self) -> datetime:
        """Bar time of the final exit fill (UTC)."""
        ...

    @property
    def entry_price(self) -> float:
        """Average entry price (quote per base unit)."""
        ...

    @property
    def exit_price(self) -> float:
        """Quantity-weighted average exit price (quote per base unit)."""
        ...

    @property
    def quantity(self) -> float:
        """Total quantity entered, scale-ins included (base units)."""
        ...

    @property
    def gross_pnl(self) -> float:
        """Realized price PnL before fees (quote)."""
        ...

    @property
    def pnl(self) -> float:
        """Net PnL after fees (quote)."""
        ...

    @property
    def fees(self) -> float:
        """Total fees paid (quote)."""
        ...

    @property
    def slippage(self) -> float:
        """Total slippage cost (quote), already inside the fill prices."""
        ...

    @property
    def exit_reason(self) -> str:
        """Why the final leg closed the position, in words (the strategy's reason for a signal
        exit, the rule otherwise)."""
        ...

    @property
    def exit(self) -> ExitReason:
        """Why the final leg closed the position, typed."""
        ...

    @property
    def legs(self) -> Sequence[Fill]:
        """Every fill, in time order."""
        ...

    @property
    def partial_exits(self) -> int:
        """Partial-exit legs taken."""
        ...

    @property
    def scale_ins(self) -> int:
        """Scale-in legs taken."""
        ...
