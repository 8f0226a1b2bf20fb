"""What the kernel reports for each bar: the event stream both engines record and `atb parity`
compares event by event.

Every event carries the bar time it belongs to (`time`) and a `kind` tag for serialisation.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from atb.domain.fills import Fill
from atb.domain.intents import OrderIntent
from atb.domain.models import Trade


@attrs.frozen(slots=True)
class DecisionMade:
    """The strategy's non-hold decision at a bar's close."""

    kind: ClassVar[str] = "decision"
    time: datetime
    action: str
    size: float | None
    reason: str


@attrs.frozen(slots=True)
class OrderPlaced:
    """A market order intent, created at a bar's close, to execute at the next fill point."""

    kind: ClassVar[str] = "order"
    time: datetime
    order_id: str
    intent: OrderIntent
    reason: str


@attrs.frozen(slots=True)
class OrderRejected:
    """An order or level that could not execute (caps, close-only latch, too small).

    `reason` is the rule that refused it (a fixed text, so rejections can be counted by it);
    `detail` says by how much, in the instrument's units (e.g. `order value 0.0009 BTC below the
    minimum 0.001 BTC`), or is empty.
    """

    kind: ClassVar[str] = "rejected"
    time: datetime
    order_id: str
    reason: str
    detail: str = ""


@attrs.frozen(slots=True)
class EntryReduced:
    """A portfolio rule cut a new position's size before it was sent: `rule` names it (a fixed
    text), `asked` and `given` are the fractions of equity before and after."""

    kind: ClassVar[str] = "reduced"
    time: datetime
    order_id: str
    rule: str
    asked: float
    given: float


@attrs.frozen(slots=True)
class OrderFilled:
    """One execution."""

    kind: ClassVar[str] = "fill"
    time: datetime
    position_id: str
    fill: Fill


@attrs.frozen(slots=True)
class StopMoved:
    """The stop of a position tightened (breakeven or trailing); applies from the next bar."""

    kind: ClassVar[str] = "stop"
    time: datetime
    position_id: str
    old_stop: float | None
    new_stop: float | None
    cause: str


@attrs.frozen(slots=True)
class TierChanged:
    """The dynamic-risk tier changed at a bar's close."""

    kind: ClassVar[str] = "tier"
    time: datetime
    old_tier: int
    new_tier: int
    factor: float
    drawdown: float


@attrs.frozen(slots=True)
class CloseOnlyLatched:
    """The max-drawdown limit was breached: no new entries or scale-ins from now on."""

    kind: ClassVar[str] = "close_only"
    time: datetime
    drawdown: float


@attrs.frozen(slots=True)
class PoliciesSwapped:
    """A decision replaced the policies attached to the open position."""

    kind: ClassVar[str] = "policies"
    time: datetime
    position_id: str


@attrs.frozen(slots=True)
class PositionClosed:
    """A position closed; the trade holds every leg."""

    kind: ClassVar[str] = "closed"
    time: datetime
    trade: Trade


KernelEvent = (
    DecisionMade
    | OrderPlaced
    | OrderRejected
    | EntryReduced
    | OrderFilled
    | StopMoved
    | TierChanged
    | CloseOnlyLatched
    | PoliciesSwapped
    | PositionClosed
)
"""Any event the kernel emits."""
