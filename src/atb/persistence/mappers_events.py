"""Kernel events ↔ JSON objects, tagged by the event class's `kind`.

`event_to_dict(e)` writes `{"kind": e.kind, "time": …, <fields>}`; `event_from_dict` dispatches
on `kind` and refuses an unknown one with a `StoreError` that names it and lists the known kinds.
Same conventions as `atb.persistence.mappers` (exact floats, ISO 8601 UTC times).
"""

from __future__ import annotations

from collections.abc import Callable

from atb.domain.events import (
    CloseOnlyLatched,
    DecisionMade,
    EntryReduced,
    KernelEvent,
    OrderFilled,
    OrderPlaced,
    OrderRejected,
    PoliciesSwapped,
    PositionClosed,
    StopMoved,
    TierChanged,
)
from atb.domain.intents import OrderIntent
from atb.persistence.errors import StoreError
from atb.persistence.fields import Fields, JsonDict, dump_time
from atb.persistence.mappers import fill_from_dict, fill_to_dict, trade_from_dict, trade_to_dict

__all__ = ["EVENT_KINDS", "event_from_dict", "event_to_dict"]


def _fields(event: KernelEvent) -> JsonDict:
    # Fields after `kind` and `time`, per event class.
    match event:
        case DecisionMade():
            return {"action": event.action, "size": event.size, "reason": event.reason}
        case OrderPlaced():
            return {
                "order_id": event.order_id,
                "intent": event.intent.value,
                "reason": event.reason,
            }
        case OrderRejected():
            rejected: JsonDict = {"order_id": event.order_id, "reason": event.reason}
            if event.detail:
                rejected["detail"] = event.detail
            return rejected
        case EntryReduced():
            return {
                "order_id": event.order_id,
                "rule": event.rule,
                "asked": event.asked,
                "given": event.given,
            }
        case OrderFilled():
            return {"position_id": event.position_id, "fill": fill_to_dict(event.fill)}
        case StopMoved():
            return {
                "position_id": event.position_id,
                "old_stop": event.old_stop,
                "new_stop": event.new_stop,
                "cause": event.cause,
            }
        case TierChanged():
            return {
                "old_tier": event.old_tier,
                "new_tier": event.new_tier,
                "factor": event.factor,
                "drawdown": event.drawdown,
            }
        case CloseOnlyLatched():
            return {"drawdown": event.drawdown}
        case PoliciesSwapped():
            return {"position_id": event.position_id}
        case PositionClosed():
            return {"trade": trade_to_dict(event.trade)}
    raise StoreError(f"cannot store event of unknown type {type(event).__name__}: {event!r}")


def event_to_dict(event: KernelEvent) -> JsonDict:
    """One kernel event as a JSON object with its `kind` tag first."""
    return {"kind": event.kind, "time": dump_time(event.time), **_fields(event)}


def _decision(f: Fields) -> KernelEvent:
    return DecisionMade(f.time("time"), f.text("action"), f.opt_num("size"), f.text("reason"))


def _placed(f: Fields) -> KernelEvent:
    time, order_id = f.time("time"), f.text("order_id")
    return OrderPlaced(time, order_id, f.member("intent", OrderIntent), f.text("reason"))


def _rejected(f: Fields) -> KernelEvent:
    detail = f.text("detail") if f.has("detail") else ""
    return OrderRejected(f.time("time"), f.text("order_id"), f.text("reason"), detail)


def _reduced(f: Fields) -> KernelEvent:
    return EntryReduced(
        f.time("time"), f.text("order_id"), f.text("rule"), f.num("asked"), f.num("given")
    )


def _filled(f: Fields) -> KernelEvent:
    fill = fill_from_dict(f.raw("fill"), f.path("fill"))
    return OrderFilled(f.time("time"), f.text("position_id"), fill)


def _stop(f: Fields) -> KernelEvent:
    return StopMoved(
        f.time("time"),
        f.text("position_id"),
        f.opt_num("old_stop"),
        f.opt_num("new_stop"),
        f.text("cause"),
    )


def _tier(f: Fields) -> KernelEvent:
    return TierChanged(
        f.time("time"),
        f.integer("old_tier"),
        f.integer("new_tier"),
        f.num("factor"),
        f.num("drawdown"),
    )


def _latched(f: Fields) -> KernelEvent:
    return CloseOnlyLatched(f.time("time"), f.num("drawdown"))


def _swapped(f: Fields) -> KernelEvent:
    return PoliciesSwapped(f.time("time"), f.text("position_id"))


def _closed(f: Fields) -> KernelEvent:
    return PositionClosed(f.time("time"), trade_from_dict(f.raw("trade"), f.path("trade")))


_READERS: dict[str, Callable[[Fields], KernelEvent]] = {
    DecisionMade.kind: _decision,
    OrderPlaced.kind: _placed,
    OrderRejected.kind: _rejected,
    EntryReduced.kind: _reduced,
    OrderFilled.kind: _filled,
    StopMoved.kind: _stop,
    TierChanged.kind: _tier,
    CloseOnlyLatched.kind: _latched,
    PoliciesSwapped.kind: _swapped,
    PositionClosed.kind: _closed,
}

EVENT_KINDS: tuple[str, ...] = tuple(_READERS)
"""Every `kind` tag the store knows, one per class in `KernelEvent`."""


def event_from_dict(data: object, where: str = "event") -> KernelEvent:
    """The event `event_to_dict` wrote; `StoreError` for an unknown `kind` or a missing key."""
    f = Fields(data, where)
    kind = f.text("kind")
    reader = _READERS.get(kind)
    if reader is None:
        raise StoreError(
            f"{f.path('kind')}: unknown event kind {kind!r} (known: {', '.join(EVENT_KINDS)})"
        )
    return reader(f)
