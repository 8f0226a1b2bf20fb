"""Market orders the kernel creates at a bar's close and executes at the next fill point."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from atb.domain.policies import PositionPolicies


class OrderIntent(enum.Enum):
    """What a market order is for."""

    OPEN_LONG = "open long"
    OPEN_SHORT = "open short"
    CLOSE = "close"
    SWAP_POLICIES = "swap policies"


@attrs.frozen(slots=True)
class MarketOrder:
    """A pending market order.

    For entries, `fraction` is the fraction of equity to commit, already capped and scaled by
    the dynamic-risk factor; the quantity is fixed once, at the fill. `stop_loss_pct` and
    `take_profit_pct` are distances from the fill price; `policies` are the hydrated policies
    the new (or current, for SWAP_POLICIES) position takes.
    """

    order_id: str
    created_at: datetime
    intent: OrderIntent
    reason: str
    fraction: float | None = None
    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    policies: PositionPolicies | None = None
