"""How the kernel turns its working positions into an engine's own class.

The kernel is generic over `P` (bound to `Position`). Inside a run the book holds the open
position as a `WorkingPosition` (changed in place, ADR 0022); a snapshot freezes it through the
engine's `PositionAdapter[P]`. The backtest runs the kernel with `ActiveTradeAdapter`, the live
engine with `LivePositionAdapter`; there is no `isinstance` on either class anywhere.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import attrs

from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.protocols import Position
from atb.managers.working_position import PROTOCOL_FIELDS, WorkingPosition

P = TypeVar("P", bound=Position)
T = TypeVar("T", ActiveTrade, LivePosition)


class PositionAdapter(Protocol[P]):
    """Builds an engine's own (frozen) position class."""

    def freeze(self, position: WorkingPosition[P]) -> P:
        """The frozen value of `position` now; every field passes its validator here."""
        ...


@attrs.frozen(slots=True)
class ActiveTradeAdapter:
    """`ActiveTrade`s for the backtest engine."""

    def freeze(self, position: WorkingPosition[ActiveTrade]) -> ActiveTrade:
        """A backtest position."""
        if position.origin is not None:
            return _changed_copy(position.origin, position)
        return ActiveTrade(**position.fields())


@attrs.frozen(slots=True)
class LivePositionAdapter:
    """`LivePosition`s for the live engine; the client order id is the entry order's id."""

    def freeze(self, position: WorkingPosition[LivePosition]) -> LivePosition:
        """A live position (exchange ids and store id carried over from the one it was thawed
        from)."""
        origin = position.origin
        if origin is None:
            return LivePosition(client_order_id=position.legs[0].order_id, **position.fields())
        return _changed_copy(origin, position)


def _changed_copy(origin: T, position: WorkingPosition[T]) -> T:
    """`origin` with the working position's values, validating only the fields that differ
    (the others passed their validators when `origin` was built); the fields beyond the
    protocol (a live position's ids) are `origin`'s.

    What `attrs.evolve` does, without re-running twenty validators: a position in a portfolio
    or a live session is frozen after every bar it changed in.
    """
    kind = type(origin)
    copier = _COPIERS.get(kind) or _Copier.of(kind)  # a subclass: built on the spot
    clone = object.__new__(kind)
    set_field = object.__setattr__  # frozen classes refuse normal assignment
    for name, kept in zip(copier.names, copier.values(origin), strict=True):
        value = kept
        if name in PROTOCOL_FIELDS:
            value = getattr(position, name)
            if value is not kept and value != kept:
                field = copier.fields[name]
                if field.validator is not None:
                    field.validator(origin, field, value)
        set_field(clone, name, value)
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


__all__ = ["ActiveTradeAdapter", "LivePositionAdapter", "PositionAdapter"]
