"""`plan`: the pure half of a bar that decides — managers, risk and the strategy — never fills.

Two questions, both answered from the book alone:

- `resting_orders`: which price levels the open position rests at the venue now (stop loss,
  take profit, partial-exit targets and scale-in thresholds, with their sizes). Asked again
  after every fill, so a level a fill made stale (a rung taken, a scale-in after the first
  partial exit) is gone and sizes follow the position.
- `plan_close`: at the bar's close, from the completed bar — excursions, the trailing stop and
  breakeven (they apply from the next bar), time exits, the drawdown tier and the close-only
  latch, then the strategy's decision — the market orders for the next fill point, with the
  events that explain them.

`plan_close` is three steps a portfolio runs separately (ADR 0017): `review_bar` for every
symbol, `assess_risk` once on the portfolio's equity, then `plan_orders` for every symbol with
the decisions of all symbols known to the `EntryGate`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import attrs

from atb.domain.decisions import Action, Decider, Decision
from atb.domain.events import (
    CloseOnlyLatched,
    DecisionMade,
    EntryReduced,
    KernelEvent,
    OrderPlaced,
    StopMoved,
    TierChanged,
)
from atb.domain.intents import ExitReason
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide
from atb.managers.book import Book, KernelContext
from atb.managers.dynamic_risk import RiskTier
from atb.managers.execution import RestingOrder
from atb.managers.fills import Level, LevelKind, levels_for_exit
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.portfolio_risk import EntryGate
from atb.managers.volatility import PriceHistory
from atb.managers.working_position import PositionChanges

P = TypeVar("P", bound=Position)

__all__ = [
    "RiskOutcome",
    "assess_risk",
    "plan_close",
    "plan_orders",
    "position_levels",
    "resting_orders",
    "review_bar",
]

_ENTRY_SIDES = {Action.ENTER_LONG: PositionSide.LONG, Action.ENTER_SHORT: PositionSide.SHORT}


def position_levels(
    context: KernelContext[P], position: Position, close_only: bool
) -> tuple[Level, ...]:
    """The price levels of an open position: stop loss and take profit, then the ladder's
    rungs still open (no scale-in under the close-only latch)."""
    levels = levels_for_exit(position.side, position.stop_loss, position.take_profit)
    partials = position.policies.partials
    if partials is not None:
        levels += context.partials.levels(position, partials, not close_only)
    return levels


def resting_orders(book: Book[P]) -> tuple[RestingOrder, ...]:
    """The open position's price levels as orders, with their sizes (empty when flat)."""
    position = book.position
    if position is None:
        return ()
    if position.policies.partials is not None:
        return _planned_resting_orders(book, position)
    # Without a ladder the orders follow from the stop, the target and the quantity alone: the
    # book keeps the last plan, asked again at every path bar and after every fill.
    key = (position, position.stop_loss, position.take_profit, position.quantity)
    memo = book.resting_memo
    if memo is not None and memo[0] == key:
        return memo[1]
    orders = _planned_resting_orders(book, position)
    book.resting_memo = (key, orders)
    return orders


def _planned_resting_orders(book: Book[P], position: Position) -> tuple[RestingOrder, ...]:
    context = book.context
    levels = position_levels(context, position, book.close_only)
    partials = position.policies.partials
    orders: list[RestingOrder] = []
    for level in levels:
        if level.kind is LevelKind.PARTIAL_EXIT:
            assert partials is not None
            exit_slice = context.partials.exit_slice(position, partials, level.rung)
            orders.append(
                RestingOrder(
                    level,
                    position.position_id,
                    exit_slice.quantity,
                    closes_position=exit_slice.closes_position,
                )
            )
        elif level.kind is LevelKind.SCALE_IN:
            assert partials is not None
            wanted = context.partials.scale_in_quantity(position, partials, level.rung)
            orders.append(
                RestingOrder(
                    level,
                    position.position_id,
                    wanted,
                    position_cap=context.config.risk.limits.position_cap,
                )
            )
        else:
            orders.append(RestingOrder(level, position.position_id, position.quantity, True))
    return tuple(orders)


def plan_close(
    book: Book[P],
    decider: Decider,
    bar_index: int,
    history: PriceHistory | None,
) -> tuple[MarketOrder, ...]:
    """Steps 3–5 of the bar (DESIGN §3): update the position from the completed bar, the
    risk state from equity at the close, then turn the strategy's decision into market
    orders. Events go to the book."""
    time_exit = review_bar(book, bar_index, history)
    _update_risk(book)
    decision = decider.decide(bar_index, book.bar, book.position)
    return plan_orders(book, decision, time_exit)


def review_bar(book: Book[P], bar_index: int, history: PriceHistory | None) -> MarketOrder | None:
    """Step 3: the position's excursions, trailing stop and breakeven from the completed bar
    (they apply from the next bar); a time exit's CLOSE order when one is due."""
    if book.position is None:
        return None
    context = book.context
    bar = book.bar
    book.widen_excursions(bar.high, bar.low)
    position = book.changing_position()  # after the fills: changed in place
    trailing = position.policies.trailing
    if trailing is not None:
        atr = None
        if trailing.atr_multiple is not None and history is not None:
            atr = history.atr(bar_index, trailing.atr_period)
        update = context.trailing.update(position, bar, trailing, atr)
        if update is not None:
            if update.stop_loss != position.stop_loss:
                book.events.append(
                    StopMoved(
                        time=bar.time,
                        position_id=position.position_id,
                        old_stop=position.stop_loss,
                        new_stop=update.stop_loss,
                        cause=update.cause,
                    )
                )
            position.apply(
                PositionChanges(
                    stop_loss=update.stop_loss,
                    breakeven_active=update.breakeven_active,
                    trailing_active=update.trailing_active,
                )
            )
    time_policy = position.policies.time_exit
    if time_policy is None:
        return None
    reason = context.time_exits.exit_reason(position, bar, time_policy)
    if reason is None:
        return None
    return book.new_order(OrderIntent.CLOSE, reason, exit=ExitReason.TIME_EXIT)


@attrs.frozen(slots=True)
class RiskOutcome:
    """The account's risk state after a close: equity peak, drawdown tier, close-only latch,
    and the events that changed them."""

    peak_equity: float
    tier: RiskTier
    close_only: bool
    events: tuple[KernelEvent, ...]


def assess_risk(
    context: KernelContext[P],
    time: datetime,
    *,
    equity: float,
    peak_equity: float,
    tier: RiskTier,
    close_only: bool,
) -> RiskOutcome:
    """Step 4: the equity peak, the drawdown tier and the close-only latch from the account's
    equity at the close of the bar at `time` (one symbol's, or a portfolio's)."""
    peak = max(peak_equity, equity)
    drawdown = max(0.0, 1.0 - equity / peak)
    events: list[KernelEvent] = []
    if context.dynamic_risk is not None:
        new_tier = context.dynamic_risk.update(tier, drawdown)
        if new_tier != tier:
            events.append(
                TierChanged(
                    time=time,
                    old_tier=tier.tier,
                    new_tier=new_tier.tier,
                    factor=new_tier.factor,
                    drawdown=drawdown,
                )
            )
            tier = new_tier
    limit = context.config.risk.limits.max_drawdown
    if limit is not None and not close_only and drawdown >= limit:
        close_only = True
        events.append(CloseOnlyLatched(time=time, drawdown=drawdown))
    return RiskOutcome(peak, tier, close_only, tuple(events))


def _update_risk(book: Book[P]) -> None:
    bar = book.bar
    context = book.context
    equity = book.equity(bar.close)
    limit = context.config.risk.limits.max_drawdown
    if context.dynamic_risk is None and (limit is None or book.close_only):
        # Nothing but the peak can change (no tiers, no latch left to set): `assess_risk`'s
        # first line, without building an outcome on every bar.
        book.peak_equity = max(book.peak_equity, equity)
        return
    outcome = assess_risk(
        context,
        bar.time,
        equity=equity,
        peak_equity=book.peak_equity,
        tier=book.tier,
        close_only=book.close_only,
    )
    book.peak_equity = outcome.peak_equity
    book.tier = outcome.tier
    book.close_only = outcome.close_only
    book.events.extend(outcome.events)


def plan_orders(
    book: Book[P],
    decision: Decision,
    time_exit: MarketOrder | None,
    gate: EntryGate | None = None,
) -> tuple[MarketOrder, ...]:
    """Step 5: the market orders for the strategy's decision (and a due time exit), with the
    events that explain them; a portfolio's `gate` admits and sizes new positions."""
    if decision.action is Action.HOLD and decision.policies is None and time_exit is None:
        return ()  # the common case: nothing to order, nothing to report
    bar = book.bar
    position = book.position
    orders: list[MarketOrder] = [] if time_exit is None else [time_exit]
    if decision.action is not Action.HOLD:
        book.events.append(
            DecisionMade(
                time=bar.time,
                action=decision.action.value,
                size=decision.size,
                reason=decision.reason,
            )
        )
    if decision.action is Action.HOLD:
        if decision.policies is not None and position is not None:
            policies = book.context.hydrator.hydrate(decision.policies)
            orders.append(
                book.new_order(OrderIntent.SWAP_POLICIES, decision.reason, policies=policies)
            )
    elif decision.action is Action.EXIT:
        if position is not None and time_exit is None:
            orders.append(
                book.new_order(OrderIntent.CLOSE, decision.reason, exit=ExitReason.SIGNAL)
            )
    else:
        side = _ENTRY_SIDES[decision.action]
        if position is None or position.side is not side:
            if position is not None and time_exit is None:
                reverse = f"reverse: {decision.reason}"
                orders.append(book.new_order(OrderIntent.CLOSE, reverse, exit=ExitReason.REVERSAL))
            orders.extend(_entry(book, decision, side, blocked=time_exit is not None, gate=gate))
        # else: already in; an entry signal in the same direction is a hold
    for order in orders:
        book.events.append(
            OrderPlaced(
                time=bar.time,
                order_id=order.order_id,
                intent=order.intent,
                reason=order.reason,
            )
        )
    return tuple(orders)


def _entry(
    book: Book[P],
    decision: Decision,
    side: PositionSide,
    *,
    blocked: bool,
    gate: EntryGate | None,
) -> list[MarketOrder]:
    context = book.context
    order_id = book.next_order_id()
    refusal = None
    if book.close_only:
        refusal = "close-only: max drawdown breached"
    elif blocked or context.time_exits.blocks_entry(book.bar, context.config.risk.time_exits):
        refusal = "time exit in force"
    if refusal is not None:
        book.reject(order_id, refusal)
        return []
    policies = context.hydrator.hydrate(decision.policies)
    size = decision.size if decision.size is not None else 0.0
    fraction = min(size, _entry_cap(book, policies)) * book.tier.factor
    if gate is not None:
        admission = gate.admit(context.instrument.symbol, fraction)
        if admission.refusal is not None:
            book.reject(order_id, admission.refusal, admission.detail)
            return []
        for rule, asked, given in admission.cuts:
            book.events.append(
                EntryReduced(
                    time=book.bar.time, order_id=order_id, rule=rule, asked=asked, given=given
                )
            )
        fraction = admission.fraction
    intent = OrderIntent.OPEN_LONG if side is PositionSide.LONG else OrderIntent.OPEN_SHORT
    return [
        MarketOrder(
            order_id=order_id,
            created_at=book.bar.time,
            intent=intent,
            reason=decision.reason,
            fraction=fraction,
            stop_loss_pct=decision.stop_loss_pct,
            take_profit_pct=decision.take_profit_pct,
            policies=policies,
        )
    ]


def _entry_cap(book: Book[P], policies: PositionPolicies) -> float:
    """Largest entry fraction: the position cap, shrunk so that the planned scale-ins
    (fractions of the original quantity) still fit under it."""
    cap = book.context.config.risk.limits.position_cap
    partials = policies.partials
    if partials is None:
        return cap
    planned = partials.scale_in_thresholds[: partials.max_scale_ins]
    return cap / (1.0 + sum(size for _move, size in planned))
