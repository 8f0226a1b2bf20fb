"""How the kernel turns its working positions into an engine's own class.

The kernel is generic over `P` (bound to `Position`). Inside a run the book holds the open
position as a `WorkingPosition` (changed in place, ADR 0022); a snapshot freezes it through the
engine's `PositionAdapter[P]`. The backtest runs the kernel with `ActiveTradeAdapter`, the live
engine with `LivePositionAdapter`; there is no `isinstance` on either class anywhere.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import attrs

from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.protocols import Position
from atb.managers.working_position import WorkingPosition

P = TypeVar("P", bound=Position)


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
        return LivePosition(
            client_order_id=origin.client_order_id,
            exchange_order_ids=origin.exchange_order_ids,
            store_id=origin.store_id,
            **position.fields(),
        )


__all__ = ["ActiveTradeAdapter", "LivePositionAdapter", "PositionAdapter"]
