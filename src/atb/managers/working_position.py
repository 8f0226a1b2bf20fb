"""`WorkingPosition`: the open position as the kernel changes it inside a run (ADR 0022).

The engines' own classes, `ActiveTrade` and `LivePosition`, are frozen values: what a state
snapshot, the store and a result hold. Inside a run the book keeps the open position as one
mutable object with the same fields, so a bar that moves the excursions or a stop writes two
fields instead of copying twenty. It satisfies the `Position` protocol, so managers read it as
they read the frozen classes; they still compute new values, and only the book and `apply`
write them. An engine's `PositionAdapter` freezes it into the engine's class at a snapshot
(validated there, once); `thaw` starts one from a snapshot.

Whoever is handed a working position (a strategy's `decide`, a venue's account view) may read
it during that call only: the next bar changes it in place.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from atb.domain.fills import Fill
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide

if TYPE_CHECKING:  # the adapters build frozen classes from working positions
    from atb.managers.positions import PositionAdapter

P = TypeVar("P", bound=Position)

__all__ = ["PROTOCOL_FIELDS", "PositionChanges", "WorkingPosition"]


@attrs.frozen(slots=True, kw_only=True)
class PositionChanges:
    """New values for some position fields; `None` means "unchanged".

    Managers never clear a stop or a target (stops only tighten), so `None` is never needed as
    a new value.
    """

    entry_price: float | None = None
    quantity: float | None = None
    original_quantity: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_active: bool | None = None
    breakeven_active: bool | None = None
    partial_exits_taken: int | None = None
    scale_ins_taken: int | None = None
    best_price: float | None = None
    worst_price: float | None = None
    realized_pnl: float | None = None
    fees_paid: float | None = None
    slippage_paid: float | None = None
    legs: tuple[Fill, ...] | None = None
    policies: PositionPolicies | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The changed fields by name."""
        return {
            name: value for name in _CHANGE_FIELDS if (value := getattr(self, name)) is not None
        }


_CHANGE_FIELDS = tuple(field.name for field in attrs.fields(PositionChanges))


class WorkingPosition(Generic[P]):
    """The open position of a run, changed in place (see the module docstring)."""

    __slots__ = (
        "best_price",
        "breakeven_active",
        "entry_price",
        "entry_time",
        "fees_paid",
        "first_entry_price",
        "frozen",
        "legs",
        "origin",
        "original_quantity",
        "partial_exits_taken",
        "policies",
        "position_id",
        "quantity",
        "realized_pnl",
        "scale_ins_taken",
        "side",
        "slippage_paid",
        "stop_loss",
        "symbol",
        "take_profit",
        "trailing_active",
        "worst_price",
    )

    position_id: str
    symbol: str
    side: PositionSide
    entry_price: float
    first_entry_price: float
    entry_time: datetime
    quantity: float
    original_quantity: float
    stop_loss: float | None
    take_profit: float | None
    trailing_active: bool
    breakeven_active: bool
    partial_exits_taken: int
    scale_ins_taken: int
    best_price: float
    worst_price: float
    realized_pnl: float
    fees_paid: float
    slippage_paid: float
    legs: tuple[Fill, ...]
    policies: PositionPolicies
    origin: P | None
    """The last frozen value of this position (the one it was thawed from, or the last
    `freeze_with` built; None for one opened in the run and never frozen): what an engine's
    class keeps beyond the protocol (a live position's ids) comes from it."""
    frozen: P | None
    """The engine's frozen value equal to this position now, once built (`freeze_with`);
    every change clears it."""

    @classmethod
    def opened(
        cls,
        *,
        position_id: str,
        symbol: str,
        side: PositionSide,
        fill: Fill,
        stop_loss: float | None,
        take_profit: float | None,
        policies: PositionPolicies,
    ) -> WorkingPosition[P]:
        """A new position after its entry fill."""
        position: WorkingPosition[P] = cls.__new__(cls)
        position.position_id = position_id
        position.symbol = symbol
        position.side = side
        position.entry_price = position.first_entry_price = fill.price
        position.entry_time = fill.time
        position.quantity = position.original_quantity = fill.quantity
        position.stop_loss = stop_loss
        position.take_profit = take_profit
        position.trailing_active = position.breakeven_active = False
        position.partial_exits_taken = position.scale_ins_taken = 0
        position.best_price = position.worst_price = fill.price
        position.realized_pnl = 0.0
        position.fees_paid = fill.fee
        position.slippage_paid = fill.slippage
        position.legs = (fill,)
        position.policies = policies
        position.origin = position.frozen = None
        return position

    @classmethod
    def thaw(cls, frozen: P) -> WorkingPosition[P]:
        """A working copy of a frozen position (a snapshot's)."""
        position: WorkingPosition[P] = cls.__new__(cls)
        position._load(_protocol_values(frozen))
        position.origin = position.frozen = frozen
        return position

    def copy(self) -> WorkingPosition[P]:
        """An independent copy (what the book changes while a bar's fills run, so that the
        position they started from stays as it was: `Book.changing_position`)."""
        clone: WorkingPosition[P] = WorkingPosition.__new__(WorkingPosition)
        clone._load(_protocol_values(self))
        clone.origin, clone.frozen = self.origin, self.frozen
        return clone

    def _load(self, values: tuple[Any, ...]) -> None:
        # One unpacking in `_FIELDS` order (a stateless `BarDriver.step` thaws at every bar).
        (
            self.position_id,
            self.symbol,
            self.side,
            self.entry_price,
            self.first_entry_price,
            self.entry_time,
            self.quantity,
            self.original_quantity,
            self.stop_loss,
            self.take_profit,
            self.trailing_active,
            self.breakeven_active,
            self.partial_exits_taken,
            self.scale_ins_taken,
            self.best_price,
            self.worst_price,
            self.realized_pnl,
            self.fees_paid,
            self.slippage_paid,
            self.legs,
            self.policies,
        ) = values

    def fields(self) -> dict[str, Any]:
        """The protocol's fields by name (the keyword arguments of the frozen classes)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def freeze_with(self, adapter: PositionAdapter[P]) -> P:
        """The engine's frozen class of this position now, through its adapter (built once
        per change; every field passes its validator there)."""
        frozen = self.frozen
        if frozen is None:
            frozen = self.frozen = self.origin = adapter.freeze(self)
        return frozen

    def apply(self, changes: PositionChanges) -> None:
        """Write the changed fields."""
        for name, value in changes.as_kwargs().items():
            setattr(self, name, value)
        self.frozen = None

    def move_excursions(self, best: float, worst: float) -> None:
        """New best and worst prices (the most frequent change: one per bar in a position)."""
        self.best_price = best
        self.worst_price = worst
        self.frozen = None

    def __repr__(self) -> str:
        return f"WorkingPosition({', '.join(f'{k}={v!r}' for k, v in self.fields().items())})"


_FIELDS = (
    "position_id",
    "symbol",
    "side",
    "entry_price",
    "first_entry_price",
    "entry_time",
    "quantity",
    "original_quantity",
    "stop_loss",
    "take_profit",
    "trailing_active",
    "breakeven_active",
    "partial_exits_taken",
    "scale_ins_taken",
    "best_price",
    "worst_price",
    "realized_pnl",
    "fees_paid",
    "slippage_paid",
    "legs",
    "policies",
)
_protocol_values = operator.attrgetter(*_FIELDS)
PROTOCOL_FIELDS = frozenset(_FIELDS)
"""The fields a working position holds (the `Position` protocol's members)."""
