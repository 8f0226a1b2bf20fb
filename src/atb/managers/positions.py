"""How the kernel creates and changes positions without knowing their class.

The kernel is generic over `P` (bound to `Position`) and goes through a `PositionAdapter[P]`:
`open` builds the engine's own class from an entry fill, `update` applies a `PositionChanges`.
The backtest runs the kernel with `ActiveTradeAdapter`, the live engine with
`LivePositionAdapter`; there is no `isinstance` on either class anywhere.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import attrs

from atb.domain.fills import Fill
from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide

P = TypeVar("P", bound=Position)


@attrs.frozen(slots=True, kw_only=True)
class Opening:
    """Everything known about a new position at its entry fill."""

    position_id: str
    symbol: str
    side: PositionSide
    fill: Fill
    stop_loss: float | None
    take_profit: float | None
    policies: PositionPolicies


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
        """The changed fields by name (validated again when applied)."""
        return {
            name: value for name in _CHANGE_FIELDS if (value := getattr(self, name)) is not None
        }


_CHANGE_FIELDS = tuple(field.name for field in attrs.fields(PositionChanges))


class PositionAdapter(Protocol[P]):
    """Builds and changes an engine's own position class."""

    def open(self, opening: Opening) -> P:
        """The new position after its entry fill."""
        ...

    def update(self, position: P, changes: PositionChanges) -> P:
        """`position` with `changes` applied (a new object; positions are frozen)."""
        ...


def _fields(opening: Opening) -> dict[str, Any]:
    # Keyword arguments shared by both position classes; attrs validates each value.
    fill = opening.fill
    return {
        "position_id": opening.position_id,
        "symbol": opening.symbol,
        "side": opening.side,
        "entry_price": fill.price,
        "first_entry_price": fill.price,
        "entry_time": fill.time,
        "quantity": fill.quantity,
        "original_quantity": fill.quantity,
        "stop_loss": opening.stop_loss,
        "take_profit": opening.take_profit,
        "best_price": fill.price,
        "worst_price": fill.price,
        "fees_paid": fill.fee,
        "slippage_paid": fill.slippage,
        "legs": (fill,),
        "policies": opening.policies,
    }


T = TypeVar("T", ActiveTrade, LivePosition)


def _replace(position: T, changes: PositionChanges) -> T:
    """A copy of `position` with `changes`, validating only the changed fields.

    Equivalent to `attrs.evolve` (each new value passes its field's validator), without
    re-running the validators of the fields that did not change: positions change on every
    eventful bar, and a full re-validation of 20+ fields dominated the kernel's step time.
    """
    values = changes.as_kwargs()
    kind = type(position)
    copier = _COPIERS.get(kind) or _Copier.of(kind)  # a subclass: built on the spot
    fields = copier.fields
    for name, value in values.items():
        field = fields[name]
        if field.validator is not None:
            field.validator(position, field, value)
    # A field-by-field copy (what `copy.copy` does for slotted attrs classes, through
    # `__reduce_ex__` and a state dict, several times slower).
    clone = object.__new__(kind)
    set_field = object.__setattr__  # frozen classes refuse normal assignment
    for name, value in zip(copier.names, copier.values(position), strict=True):
        set_field(clone, name, values.get(name, value))
    return clone


@attrs.frozen(slots=True)
class _Copier:
    """A position class's fields by name, and a getter of all their values at once."""

    fields: dict[str, attrs.Attribute[Any]]
    names: tuple[str, ...]
    values: Callable[[object], tuple[Any, ...]]

    @classmethod
    def of(cls, kind: type) -> _Copier:
        fields = attrs.fields_dict(kind)
        names = tuple(fields)
        return cls(fields, names, operator.attrgetter(*names))


_COPIERS = {kind: _Copier.of(kind) for kind in (ActiveTrade, LivePosition)}


@attrs.frozen(slots=True)
class ActiveTradeAdapter:
    """`ActiveTrade`s for the backtest engine."""

    def open(self, opening: Opening) -> ActiveTrade:
        """A new backtest position."""
        return ActiveTrade(**_fields(opening))

    def update(self, position: ActiveTrade, changes: PositionChanges) -> ActiveTrade:
        """The next version of a backtest position."""
        return _replace(position, changes)


@attrs.frozen(slots=True)
class LivePositionAdapter:
    """`LivePosition`s for the live engine; the client order id is the entry order's id."""

    def open(self, opening: Opening) -> LivePosition:
        """A new live position."""
        return LivePosition(client_order_id=opening.fill.order_id, **_fields(opening))

    def update(self, position: LivePosition, changes: PositionChanges) -> LivePosition:
        """The next version of a live position (exchange ids and store id carried over)."""
        return _replace(position, changes)


__all__ = [
    "ActiveTradeAdapter",
    "LivePositionAdapter",
    "Opening",
    "PositionAdapter",
    "PositionChanges",
]
