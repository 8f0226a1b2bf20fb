"""Market orders the kernel creates at a bar's close and executes at the next fill point."""

from __future__ import annotations

from datetime import datetime

import attrs

from atb.domain.intents import ExitReason, OrderIntent
from atb.domain.policies import PositionPolicies


@attrs.frozen(slots=True)
class MarketOrder:
    """A pending market order.

    For entries, `fraction` is the fraction of equity to commit, already capped and scaled by
    the dynamic-risk factor; the quantity is fixed once, at the fill. `stop_loss_pct` and
    `take_profit_pct` are distances from the fill price; `policies` are the hydrated policies
    the new (or current, for SWAP_POLICIES) position takes. `OrderIntent` lives in
    `atb.domain.intents` (events name it too) and is re-exported here.
    """

    order_id: str
    created_at: datetime
    intent: OrderIntent
    reason: str
    fraction: float | None = None
    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    policies: PositionPolicies | None = None
    exit: ExitReason | None = None
    """For a CLOSE order: why the position is being closed."""


__all__ = ["MarketOrder", "OrderIntent"]
