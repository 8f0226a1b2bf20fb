"""`apply`: fold what a venue reports into the book — `position.apply(fill)`, for any venue.

A fill opens, grows, reduces, scales into, partially exits or closes the position, moving cash
margin style (fees and realized PnL only) and emitting the events both engines record. A
rejection is recorded, and a refused ladder rung is consumed so it does not refire. Partial
fills fold too: the first part of an entry opens the position, later parts add to it; a part of
an exit reduces the position, the last part closes it.

`apply` never prices or sizes anything: the venue did that. The same reports give the same
state, which is what makes a paper session, a backtest and a real session comparable.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from atb.domain.events import OrderFilled, PoliciesSwapped, PositionClosed
from atb.domain.fills import Fill, FillKind
from atb.domain.intents import ExitReason
from atb.domain.protocols import Position
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.book import Book
from atb.managers.execution import (
    RestingOrder,
    VenueAck,
    VenueFill,
    VenueRejection,
    VenueReport,
)
from atb.managers.fills import LevelKind
from atb.managers.ledger import (
    cash_change,
    close,
    grow_changes,
    partial_exit_changes,
    reduce_changes,
    scale_in_changes,
)
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.partials import PARTIALS_COMPLETE
from atb.managers.working_position import PositionChanges, WorkingPosition

P = TypeVar("P", bound=Position)

__all__ = ["apply_report", "stop_reason", "swap_policies"]


def stop_reason(position: Position) -> str:
    """Exit reason of a stop fill: which rule last placed the stop."""
    if position.trailing_active:
        return "trailing stop"
    if position.breakeven_active:
        return "breakeven stop"
    return LevelKind.STOP_LOSS.value


def apply_report(book: Book[P], report: VenueReport) -> None:
    """Fold one venue report into `book` (fills, rejections; an acknowledgement changes
    nothing until its fills arrive)."""
    if isinstance(report, VenueAck):
        return
    order = report.order
    if isinstance(report, VenueRejection):
        if isinstance(order, MarketOrder):
            book.reject(order.order_id, report.reason, report.detail)
        else:
            _consume_rung(book, order, report)
        return
    if isinstance(order, MarketOrder):
        _market_fill(book, order, report)
    else:
        _resting_fill(book, order, report)


def swap_policies(book: Book[P], order: MarketOrder) -> None:
    """Attach a swap order's policies to the open position (nothing to execute at a venue)."""
    position = book.position
    if position is None or order.policies is None:
        return
    book.changing_position().apply(PositionChanges(policies=order.policies))
    book.attached.append(order.policies)
    book.events.append(PoliciesSwapped(time=book.bar.time, position_id=position.position_id))


# --- market orders ------------------------------------------------------------------------------


def _market_fill(book: Book[P], order: MarketOrder, report: VenueFill) -> None:
    position = book.position
    if order.intent is OrderIntent.CLOSE:
        if position is None:
            return  # nothing left to close (a venue reporting a fill twice)
        # An exit's execution gets an id of its own (the kernel's ids have always been so).
        if report.complete or report.quantity >= position.quantity:
            order_id, reason = book.next_order_id(), order.reason
            exit = order.exit or ExitReason.from_text(reason)
            _close(
                book,
                position,
                report,
                order_id=order_id,
                time=report.time,
                reason=reason,
                exit=exit,
            )
        else:
            _reduce(book, position, report, order.reason)
        return
    if position is not None and position.legs[0].order_id == order.order_id:
        _grow(book, position, report, order)  # a later part of this position's entry order
        return
    _open(book, order, report)


def _fill(
    book: Book[P],
    report: VenueFill,
    *,
    action: OrderAction,
    quantity: float,
    time: datetime,
    reason: str,
    kind: FillKind,
    order_id: str,
    position_id: str,
) -> Fill:
    fill = Fill(
        time=time,
        action=action,
        price=report.price,
        quantity=quantity,
        fee=report.fee,
        slippage=report.slippage,
        reason=reason,
        kind=kind,
        liquidity=report.liquidity,
        order_id=order_id,
    )
    book.events.append(OrderFilled(time=book.bar.time, position_id=position_id, fill=fill))
    return fill


def _close(
    book: Book[P],
    position: Position,
    report: VenueFill,
    *,
    order_id: str,
    time: datetime,
    reason: str,
    exit: ExitReason,
) -> None:
    fill = _fill(
        book,
        report,
        action=position.side.exit_action,
        quantity=position.quantity,
        time=time,
        reason=reason,
        kind=FillKind.EXIT,
        order_id=order_id,
        position_id=position.position_id,
    )
    book.cash += cash_change(position, fill)
    trade = close(position, fill, reason, exit)
    book.events.append(PositionClosed(time=book.bar.time, trade=trade))
    book.position = None


def _reduce(book: Book[P], position: Position, report: VenueFill, reason: str) -> None:
    """An exit that sold only part of the position (a market exit or a level filled in part)."""
    fill = _fill(
        book,
        report,
        action=position.side.exit_action,
        quantity=report.quantity,
        time=report.time,
        reason=reason,
        kind=FillKind.EXIT,
        order_id=book.next_order_id(),
        position_id=position.position_id,
    )
    book.cash += cash_change(position, fill)
    remaining = book.context.instrument.snap_quantity(position.quantity - fill.quantity)
    book.changing_position().apply(reduce_changes(position, fill, remaining))


def _leaves_some(book: Book[P], position: Position, report: VenueFill) -> bool:
    """True when a fill leaves at least one lot of the position (on the lot grid)."""
    return book.context.instrument.snap_quantity(position.quantity - report.quantity) > 0


def _grow(book: Book[P], position: Position, report: VenueFill, order: MarketOrder) -> None:
    fill = _fill(
        book,
        report,
        action=position.side.entry_action,
        quantity=report.quantity,
        time=report.time,
        reason=order.reason,
        kind=FillKind.ENTRY,
        order_id=order.order_id,
        position_id=position.position_id,
    )
    book.cash += cash_change(position, fill)
    total = book.context.instrument.snap_quantity(position.quantity + fill.quantity)
    book.changing_position().apply(grow_changes(position, fill, total))


def _open(book: Book[P], order: MarketOrder, report: VenueFill) -> None:
    context = book.context
    side = PositionSide.LONG if order.intent is OrderIntent.OPEN_LONG else PositionSide.SHORT
    position_id = book.next_position_id()
    fill = _fill(
        book,
        report,
        action=side.entry_action,
        quantity=report.quantity,
        time=report.time,
        reason=order.reason,
        kind=FillKind.ENTRY,
        order_id=order.order_id,
        position_id=position_id,
    )
    book.cash -= fill.fee
    instrument = context.instrument
    stop = None
    if order.stop_loss_pct is not None:
        stop = instrument.round_stop(fill.price * (1.0 - side.sign * order.stop_loss_pct), side)
    target = None
    if order.take_profit_pct is not None:
        target = instrument.round_target(
            fill.price * (1.0 + side.sign * order.take_profit_pct), side
        )
    policies = order.policies or context.default_policies
    book.attached.append(policies)
    book.position = WorkingPosition.opened(
        position_id=position_id,
        symbol=instrument.symbol,
        side=side,
        fill=fill,
        # A level at or below zero can never be reached (a 100 % stop, a short's target of
        # 100 % or more): the position simply has none.
        stop_loss=stop if stop is not None and stop > 0 else None,
        take_profit=target if target is not None and target > 0 else None,
        policies=policies,
    )


# --- resting orders -----------------------------------------------------------------------------


def _resting_fill(book: Book[P], order: RestingOrder, report: VenueFill) -> None:
    position = book.position
    if position is None:
        return
    kind = order.level.kind
    if kind in (LevelKind.STOP_LOSS, LevelKind.TAKE_PROFIT):
        reason = stop_reason(position) if kind is LevelKind.STOP_LOSS else kind.value
        if not report.complete and _leaves_some(book, position, report):
            # An exchange filled only part of the level (thin volume): the rest stays open,
            # still protected by the level, and closes when the remainder fills.
            _reduce(book, position, report, reason)
            return
        order_id = book.next_order_id()
        exit = ExitReason(reason)  # the stop's rule or "take profit": typed and in words alike
        _close(
            book, position, report, order_id=order_id, time=report.time, reason=reason, exit=exit
        )
    elif kind is LevelKind.PARTIAL_EXIT:
        _partial_exit(book, position, order, report)
    else:
        _scale_in(book, position, order, report)


def _partial_exit(
    book: Book[P], position: Position, order: RestingOrder, report: VenueFill
) -> None:
    if order.closes_position and not report.complete and _leaves_some(book, position, report):
        # The last rung filled only in part (thin volume): the rest stays at the rung.
        _reduce(book, position, report, f"partial exit {order.level.rung + 1}")
        return
    order_id = book.next_order_id()
    if order.closes_position:
        _close(
            book,
            position,
            report,
            order_id=order_id,
            time=report.time,
            reason=PARTIALS_COMPLETE,
            exit=ExitReason.PARTIALS_COMPLETE,
        )
        return
    fill = _fill(
        book,
        report,
        action=position.side.exit_action,
        quantity=report.quantity,
        time=report.time,
        reason=f"partial exit {order.level.rung + 1}",
        kind=FillKind.PARTIAL_EXIT,
        order_id=order_id,
        position_id=position.position_id,
    )
    book.cash += cash_change(position, fill)
    remaining = book.context.instrument.snap_quantity(position.quantity - fill.quantity)
    book.changing_position().apply(partial_exit_changes(position, fill, remaining))


def _scale_in(book: Book[P], position: Position, order: RestingOrder, report: VenueFill) -> None:
    fill = _fill(
        book,
        report,
        action=position.side.entry_action,
        quantity=report.quantity,
        time=report.time,
        reason=f"scale-in {order.level.rung + 1}",
        kind=FillKind.SCALE_IN,
        order_id=book.next_order_id(),
        position_id=position.position_id,
    )
    book.cash += cash_change(position, fill)
    total = book.context.instrument.snap_quantity(position.quantity + fill.quantity)
    book.changing_position().apply(scale_in_changes(position, fill, total))


def _consume_rung(book: Book[P], order: RestingOrder, report: VenueRejection) -> None:
    """A refused partial-exit or scale-in rung is recorded and used up (it would otherwise
    refire on every later bar)."""
    book.reject(book.next_order_id(), report.reason, report.detail)
    position = book.position
    if position is None:
        return
    if order.level.kind is LevelKind.PARTIAL_EXIT:
        consumed = PositionChanges(partial_exits_taken=position.partial_exits_taken + 1)
    elif order.level.kind is LevelKind.SCALE_IN:
        consumed = PositionChanges(scale_ins_taken=position.scale_ins_taken + 1)
    else:
        return
    book.changing_position().apply(consumed)
