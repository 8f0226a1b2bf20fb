"""The live session's log: what the engine reports, and its JSON form.

`SessionLog` is what the engine writes to: session-level events (`write`) and each processed
bar with its kernel events (`bar`). `JsonLog` writes one JSON object per line for every session
event, decision, order, fill and state change, so operators can grep and machines can parse the
same stream; `atb.engines.live.text_log.TextLog` is the form for people (one line per bar).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import IO, Protocol

import attrs

from atb.domain.bars import Bar
from atb.domain.events import (
    DecisionMade,
    KernelEvent,
    OrderFilled,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    StopMoved,
    TierChanged,
)
from atb.domain.models import LivePosition
from atb.managers.kernel_state import StepResult


class SessionLog(Protocol):
    """Where a live engine reports what it does."""

    def write(self, event: str, **fields: object) -> None:
        """A session-level event (`session_started`, `health`, `gap`, `feed_error`, …)."""
        ...

    def bar(self, bar: Bar, result: StepResult[LivePosition]) -> None:
        """A processed (and already committed) closed bar with the kernel's step result."""
        ...

    def bar_time(self, step: PortfolioBarTime) -> None:
        """A portfolio's processed (and already committed) bar time."""
        ...


@attrs.frozen(slots=True, kw_only=True)
class PortfolioBarTime:
    """What a live portfolio's bar time did, for its log: the time, the symbols stepped, the
    account's equity after it, each open position and every event with its symbol (None for
    the account's own)."""

    time: datetime
    present: tuple[str, ...]
    equity: float
    positions: Mapping[str, LivePosition]
    events: tuple[tuple[str | None, KernelEvent], ...]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def event_fields(event: KernelEvent) -> dict[str, object]:
    """The fields worth logging for a kernel event."""
    fields: dict[str, object] = {"event": event.kind, "bar_time": _iso(event.time)}
    if isinstance(event, DecisionMade):
        fields.update(action=event.action, size=event.size, reason=event.reason)
    elif isinstance(event, OrderPlaced):
        fields.update(order_id=event.order_id, intent=event.intent.value, reason=event.reason)
    elif isinstance(event, OrderRejected):
        fields.update(order_id=event.order_id, reason=event.reason)
        if event.detail:
            fields["detail"] = event.detail
    elif isinstance(event, OrderFilled):
        fill = event.fill
        fields.update(
            position_id=event.position_id,
            order_id=fill.order_id,
            kind=fill.kind.value,
            action=fill.action.value,
            price=fill.price,
            quantity=fill.quantity,
            fee=fill.fee,
            slippage=fill.slippage,
            reason=fill.reason,
        )
    elif isinstance(event, StopMoved):
        fields.update(
            position_id=event.position_id, old=event.old_stop, new=event.new_stop, cause=event.cause
        )
    elif isinstance(event, TierChanged):
        fields.update(old=event.old_tier, new=event.new_tier, factor=event.factor)
    elif isinstance(event, PositionClosed):
        trade = event.trade
        fields.update(trade_id=trade.trade_id, pnl=trade.pnl, reason=trade.exit_reason)
    else:
        fields.update(
            {
                name: value
                for name, value in attrs.asdict(event, recurse=False).items()
                if name != "time"
            }
        )
    return fields


class JsonLog:
    """Writes one JSON object per line to a stream (stderr by default), flushed at once."""

    def __init__(self, stream: IO[str] | None = None, **context: object) -> None:
        self.stream = stream or sys.stderr
        self.context = context

    def write(self, event: str, **fields: object) -> None:
        """Log `event` with `fields` and the logger's context (session, symbol, …)."""
        record = {"event": event, **self.context, **fields}
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def bar(self, bar: Bar, result: StepResult[LivePosition]) -> None:
        """Log each kernel event of the bar (a quiet bar writes nothing)."""
        for event in result.events:
            self.kernel_event(event)

    def bar_time(self, step: PortfolioBarTime) -> None:
        """Log each kernel event of the bar time, with its symbol."""
        for symbol, event in step.events:
            self.kernel_event(event, symbol=symbol)

    def kernel_event(self, event: KernelEvent, **context: object) -> None:
        """Log one kernel event (with `context` fields, such as its symbol)."""
        fields = event_fields(event)
        name = str(fields.pop("event"))
        self.write(name, **context, **fields)
