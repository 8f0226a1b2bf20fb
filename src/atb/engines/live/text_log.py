"""`TextLog`: the live session's log for a person watching it, one line per closed bar.

Each processed bar becomes one line: its open time, close, the position after it, the equity at
its close, and what happened on it (orders placed, fills, closed trades with their PnL, stop
moves, risk tiers, rejections), e.g.::

    2023-01-06 00:00 UTC  close 16,853.5  long 0.03954 @ 16,840.27 stop 16,503.46  equity
    9,999.85  entry buy 0.03954 @ 16,840.27 (bullish cross)

(one line on screen; wrapped here).

Session events (started, resumed, health URL, gaps, feed errors, stopped) get a short sentence.
The JSON form (`JsonLog`) keeps every field for machines; this one never shows ids.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import IO, assert_never

from atb.domain.bars import Bar
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
from atb.domain.models import LivePosition
from atb.engines.live.log import PortfolioBarTime
from atb.managers.kernel_state import StepResult
from atb.reporting import display


class TextLog:
    """Writes one plain line per bar and per session event to a stream (stderr by default).

    With `bars=False` the per-bar lines are left out (an unpaced replay, whose bars go by faster
    than anyone reads, shows a progress display instead). No colour, no escape codes: the lines
    read the same in a terminal, a pipe or a file.
    """

    def __init__(self, stream: IO[str] | None = None, *, bars: bool = True) -> None:
        self._stream = stream
        self.bars = bars

    def write(self, event: str, **fields: object) -> None:
        """One sentence for a session event."""
        line = _session_line(event, fields)
        if line is not None:
            self._emit(line)

    def bar(self, bar: Bar, result: StepResult[LivePosition]) -> None:
        """One line for a processed bar."""
        if self.bars:
            self._emit(bar_line(bar, result))

    def bar_time(self, step: PortfolioBarTime) -> None:
        """One line for a portfolio's processed bar time."""
        if self.bars:
            self._emit(bar_time_line(step))

    def _emit(self, line: str) -> None:
        # sys.stderr is looked up at each write: a progress display may have redirected it.
        stream = self._stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()


def bar_line(bar: Bar, result: StepResult[LivePosition]) -> str:
    """`time  close C  position  equity E  what happened` for one processed bar."""
    position = result.state.position
    if position is None:
        held = "flat"
    else:
        held = (
            f"{position.side.value} {display.price(position.quantity)} "
            f"@ {display.price(position.entry_price)}"
        )
        if position.stop_loss is not None:
            held += f" stop {display.price(position.stop_loss)}"
    happened = [text for text in map(_describe, result.events) if text]
    parts = [
        display.when(bar.time),
        f"close {display.price(bar.close)}",
        held,
        f"equity {display.money(result.equity)}",
    ]
    if happened:
        parts.append("; ".join(happened))
    return "  ".join(parts)


def bar_time_line(step: PortfolioBarTime) -> str:
    """`time  N/M symbols  equity E  positions  what happened` for a portfolio's bar time."""
    held = ", ".join(
        f"{symbol} {position.side.value} {display.price(position.quantity)}"
        for symbol, position in sorted(step.positions.items())
    )
    happened = [
        f"{symbol or 'account'}: {text}"
        for symbol, text in ((symbol, _describe(event)) for symbol, event in step.events)
        if text
    ]
    parts = [
        display.when(step.time),
        f"{len(step.present)} symbol(s)",
        held or "flat",
        f"equity {display.money(step.equity)}",
    ]
    if happened:
        parts.append("; ".join(happened))
    return "  ".join(parts)


def _describe(event: KernelEvent) -> str:
    if isinstance(event, DecisionMade):
        return ""  # the order it places (or the rejection) says it, with the reason
    if isinstance(event, OrderPlaced):
        return f"order {event.intent.value} ({event.reason})"
    if isinstance(event, OrderFilled):
        fill = event.fill
        return (
            f"{fill.kind.value} {fill.action.value} {display.price(fill.quantity)} "
            f"@ {display.price(fill.price)} ({fill.reason})"
        )
    if isinstance(event, PositionClosed):
        return f"closed, PnL {event.trade.pnl:+,.2f}"
    if isinstance(event, StopMoved):
        return (
            f"stop {display.price(event.old_stop)} → {display.price(event.new_stop)} "
            f"({event.cause})"
        )
    if isinstance(event, TierChanged):
        return (
            f"risk tier {event.old_tier} → {event.new_tier} (size ×{display.ratio(event.factor)}, "
            f"drawdown {display.pct(event.drawdown)})"
        )
    if isinstance(event, OrderRejected):
        return f"rejected: {event.reason}"
    if isinstance(event, EntryReduced):
        return (
            f"entry cut to {display.pct(event.given)} of equity from "
            f"{display.pct(event.asked)} ({event.rule})"
        )
    if isinstance(event, CloseOnlyLatched):
        return f"close-only from now on (drawdown {display.pct(event.drawdown)})"
    if isinstance(event, PoliciesSwapped):
        return "policies swapped"
    assert_never(event)  # mypy proves every kernel event has a sentence


def _session_line(event: str, fields: dict[str, object]) -> str | None:
    session = fields.get("session")
    if session is None and fields.get("portfolio") is not None:
        session = f"{fields.get('portfolio')} (portfolio)"
    if event == "session_started":
        return f"session {session} started with {fields.get('history_bars')} warm-up bars"
    if event == "session_resumed":
        return f"session {session} resumed after the bar of {_text(fields.get('last_bar'))}"
    if event == "health":
        return f"health: {fields.get('url')}"
    if event == "gap":
        return (
            f"gap: {fields.get('missing_bars')} bar(s) missing from "
            f"{_text(fields.get('first_missing'))} (the exchange has none; not invented)"
        )
    if event == "feed_error":
        return f"feed error: {fields.get('error')}; retrying in {fields.get('retry_in')} s"
    if event == "stopped":
        return f"session {session} stopped"
    if event == "fatal":
        return None  # the command prints the error itself, as its last line
    if event == "exchange_fill":
        return (
            f"exchange: {fields.get('side')} {fields.get('qty')} @ "
            f"{display.price(_number(fields.get('price')))} ({fields.get('client_id')})"
        )
    if event == "flattened":
        return f"session {session} flattened ({fields.get('reason')}) and stops"
    if event == "max_daily_loss":
        return (
            f"daily loss {display.money(_number(fields.get('loss')))} reached the limit of "
            f"{display.money(_number(fields.get('limit')))}"
        )
    details = ", ".join(f"{key}={_text(value)}" for key, value in fields.items())
    return f"{event}: {details}" if details else event


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def _text(value: object) -> str:
    return display.when(value) if isinstance(value, datetime) else str(value)
