"""`BarStep`: the working state of the kernel while it processes one bar.

It executes market orders and resting levels against the bar through the shared managers
(`CostCalculator`, `FillModel`, `PartialOperationsManager`, the ledger), keeping cash, the
position and the event list consistent. One instance lives for one `Kernel.step` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from atb.domain.bars import Bar
from atb.domain.events import (
    KernelEvent,
    OrderFilled,
    OrderRejected,
    PoliciesSwapped,
    PositionClosed,
)
from atb.domain.fills import Fill, FillKind
from atb.domain.pnl import unrealized_pnl
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.costs import PricedExecution
from atb.managers.fills import LevelHit, LevelKind, levels_for_exit
from atb.managers.kernel_state import KernelState
from atb.managers.ledger import cash_change, close, partial_exit_changes, scale_in_changes
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.partials import PARTIALS_COMPLETE
from atb.managers.positions import Opening, PositionChanges

if TYPE_CHECKING:
    from atb.managers.kernel import Kernel

P = TypeVar("P", bound=Position)


def stop_reason(position: Position) -> str:
    """Exit reason of a stop fill: which rule last placed the stop."""
    if position.trailing_active:
        return "trailing stop"
    if position.breakeven_active:
        return "breakeven stop"
    return LevelKind.STOP_LOSS.value


class BarStep(Generic[P]):
    """Mutable scratch state for one bar; the kernel freezes it into the next `KernelState`."""

    def __init__(self, kernel: Kernel[P], state: KernelState[P], bar: Bar) -> None:
        self.kernel = kernel
        self.bar = bar
        # The bar whose path is being walked: the bar itself, or one of its finer candles when
        # the step has lower-timeframe detail. Resting fills are clamped into it and stamped
        # with its time.
        self.path_bar = bar
        self.cash = state.cash
        self.position: P | None = state.position
        self.peak_equity = state.peak_equity
        self.tier = state.tier
        self.close_only = state.close_only
        self.order_seq = state.order_seq
        self.position_seq = state.position_seq
        self.events: list[KernelEvent] = []
        self.attached: list[PositionPolicies] = []
        """Policies attached to a position in this bar (opened with them, or swapped in)."""

    # -- ids -------------------------------------------------------------------------------
    def next_order_id(self) -> str:
        """A new deterministic order id (prefix + sequence number; never reused)."""
        self.order_seq += 1
        return f"{self.kernel.id_prefix}-o{self.order_seq:07d}"

    def new_order(
        self, intent: OrderIntent, reason: str, policies: PositionPolicies | None = None
    ) -> MarketOrder:
        """A market order without sizing (close, policy swap)."""
        return MarketOrder(
            order_id=self.next_order_id(),
            created_at=self.bar.time,
            intent=intent,
            reason=reason,
            policies=policies,
        )

    # -- valuation -------------------------------------------------------------------------
    def equity(self, mark: float) -> float:
        """Cash plus the open position's unrealized PnL at `mark`."""
        position = self.position
        if position is None:
            return self.cash
        return self.cash + unrealized_pnl(
            position.side, position.entry_price, position.quantity, mark
        )

    # -- fills -----------------------------------------------------------------------------
    def _fill(
        self,
        priced: PricedExecution,
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
            price=priced.price,
            quantity=quantity,
            fee=priced.fee,
            slippage=priced.slippage,
            reason=reason,
            kind=kind,
            liquidity=priced.liquidity,
            order_id=order_id,
        )
        self.events.append(OrderFilled(time=self.bar.time, position_id=position_id, fill=fill))
        return fill

    def _close(self, position: P, priced: PricedExecution, time: datetime, reason: str) -> None:
        order_id = self.next_order_id()
        fill = self._fill(
            priced,
            action=position.side.exit_action,
            quantity=position.quantity,
            time=time,
            reason=reason,
            kind=FillKind.EXIT,
            order_id=order_id,
            position_id=position.position_id,
        )
        self.cash += cash_change(position, fill)
        trade = close(position, fill, reason)
        self.events.append(PositionClosed(time=self.bar.time, trade=trade))
        self.position = None

    def execute(self, order: MarketOrder, reference: float, time: datetime) -> None:
        """Execute a market order at `reference` (the open, or the close) with costs."""
        bar = self.bar
        costs = self.kernel.costs
        position = self.position
        if order.intent is OrderIntent.SWAP_POLICIES:
            if position is not None and order.policies is not None:
                self.position = self.kernel.positions.update(
                    position, PositionChanges(policies=order.policies)
                )
                self.attached.append(order.policies)
                self.events.append(PoliciesSwapped(time=bar.time, position_id=position.position_id))
            return
        if order.intent is OrderIntent.CLOSE:
            if position is None:
                self._reject(order.order_id, "no open position to close")
                return
            priced = costs.taker_fill(
                reference, position.side.exit_action, position.quantity, bar.low, bar.high
            )
            self._close(position, priced, time, order.reason)
            return
        if position is not None:
            self._reject(order.order_id, "a position is already open")
            return
        self._open(order, reference, time)

    def _open(self, order: MarketOrder, reference: float, time: datetime) -> None:
        bar = self.bar
        kernel = self.kernel
        side = PositionSide.LONG if order.intent is OrderIntent.OPEN_LONG else PositionSide.SHORT
        action = side.entry_action
        price = kernel.costs.taker_price(reference, action, bar.low, bar.high)
        quantity = kernel.costs.entry_quantity(order.fraction or 0.0, self.equity(price), price)
        problem = kernel.instrument.order_problem(price, quantity)
        if problem is not None:
            self._reject(order.order_id, "order below the instrument's minimum notional", problem)
            return
        priced = kernel.costs.taker_fill(reference, action, quantity, bar.low, bar.high)
        self.position_seq += 1
        position_id = f"{kernel.id_prefix}-p{self.position_seq:06d}"
        fill = self._fill(
            priced,
            action=action,
            quantity=quantity,
            time=time,
            reason=order.reason,
            kind=FillKind.ENTRY,
            order_id=order.order_id,
            position_id=position_id,
        )
        self.cash -= fill.fee
        instrument = kernel.instrument
        stop = None
        if order.stop_loss_pct is not None:
            stop = instrument.round_stop(fill.price * (1.0 - side.sign * order.stop_loss_pct), side)
        target = None
        if order.take_profit_pct is not None:
            target = instrument.round_target(
                fill.price * (1.0 + side.sign * order.take_profit_pct), side
            )
        policies = order.policies or kernel.default_policies
        self.attached.append(policies)
        self.position = kernel.positions.open(
            Opening(
                position_id=position_id,
                symbol=kernel.instrument.symbol,
                side=side,
                fill=fill,
                # A level at or below zero can never be reached (a 100 % stop, a short's target
                # of 100 % or more): the position simply has none.
                stop_loss=stop if stop is not None and stop > 0 else None,
                take_profit=target if target is not None and target > 0 else None,
                policies=policies,
            )
        )

    def _reject(self, order_id: str, reason: str, detail: str = "") -> None:
        self.events.append(
            OrderRejected(time=self.bar.time, order_id=order_id, reason=reason, detail=detail)
        )

    # -- resting levels --------------------------------------------------------------------
    def walk_levels(
        self, *, reverse_extremes: bool = False, detail: Sequence[Bar] | None = None
    ) -> bool:
        """Fill the position's resting levels in path order; True if the bar is ambiguous.

        With `detail` (the bar's finer candles, in time order) each finer candle's path is
        walked in turn, so the order in which levels are met comes from the data; the intrabar
        policy only decides inside a finer candle, and only such candles can be ambiguous.
        `reverse_extremes` visits the extremes in the order the policy did not choose (used to
        value the alternative outcome of an ambiguous bar).
        """
        ambiguous = False
        for path_bar in detail or (self.bar,):
            position = self.position
            if position is None:
                break
            self.path_bar = path_bar
            kernel = self.kernel
            levels = levels_for_exit(position.side, position.stop_loss, position.take_profit)
            partials = position.policies.partials
            if partials is not None:
                levels += kernel.partials.levels(position, partials, not self.close_only)
            walk = kernel.fill_model.walk(levels, path_bar, position.side, reverse=reverse_extremes)
            for hit in walk.hits:
                if self.position is None:
                    break
                self._hit(self.position, hit)
            ambiguous = ambiguous or walk.ambiguous
        self.path_bar = self.bar
        return ambiguous

    def _hit(self, position: P, hit: LevelHit) -> None:
        kernel = self.kernel
        bar = self.path_bar
        kind = hit.level.kind
        if kind is LevelKind.STOP_LOSS:
            priced = kernel.costs.taker_fill(
                hit.price, position.side.exit_action, position.quantity, bar.low, bar.high
            )
            self._close(position, priced, bar.time, stop_reason(position))
        elif kind is LevelKind.TAKE_PROFIT:
            self._close(
                position,
                kernel.costs.maker_fill(hit.price, position.quantity),
                bar.time,
                kind.value,
            )
        elif kind is LevelKind.PARTIAL_EXIT:
            self._partial_exit(position, hit)
        else:
            self._scale_in(position, hit)

    def _partial_exit(self, position: P, hit: LevelHit) -> None:
        kernel = self.kernel
        policy = position.policies.partials
        if policy is None or position.partial_exits_taken != hit.level.rung:
            return
        exit_slice = kernel.partials.exit_slice(position, policy, hit.level.rung)
        priced = kernel.costs.maker_fill(hit.price, exit_slice.quantity)
        if exit_slice.closes_position:
            self._close(position, priced, self.path_bar.time, PARTIALS_COMPLETE)
            return
        problem = kernel.instrument.order_problem(hit.price, exit_slice.quantity)
        if problem is not None:
            # A rung smaller than a lot or than the minimum order: consumed, not filled.
            self._reject(
                self.next_order_id(), "partial exit below the lot or minimum notional", problem
            )
            consumed = PositionChanges(partial_exits_taken=position.partial_exits_taken + 1)
            self.position = kernel.positions.update(position, consumed)
            return
        fill = self._fill(
            priced,
            action=position.side.exit_action,
            quantity=exit_slice.quantity,
            time=self.path_bar.time,
            reason=f"partial exit {hit.level.rung + 1}",
            kind=FillKind.PARTIAL_EXIT,
            order_id=self.next_order_id(),
            position_id=position.position_id,
        )
        self.cash += cash_change(position, fill)
        remaining = kernel.instrument.snap_quantity(position.quantity - fill.quantity)
        changes = partial_exit_changes(position, fill, remaining)
        self.position = kernel.positions.update(position, changes)

    def _scale_in(self, position: P, hit: LevelHit) -> None:
        kernel = self.kernel
        bar = self.path_bar
        policy = position.policies.partials
        rung = hit.level.rung
        if policy is None or position.partial_exits_taken > 0 or position.scale_ins_taken != rung:
            return
        action = position.side.entry_action
        order_id = self.next_order_id()
        price = kernel.costs.taker_price(hit.price, action, bar.low, bar.high)
        wanted = kernel.partials.scale_in_quantity(position, policy, rung)
        # Total notional stays within the per-position cap of the equity at the fill price.
        cap = kernel.config.risk.position_cap * self.equity(price)
        room = kernel.instrument.round_quantity(cap / price - position.quantity)
        quantity = min(wanted, room)
        if self.close_only:
            problem: str | None = "close-only: max drawdown breached"
        elif room <= 0:
            problem = "the position is at its cap"
        else:
            problem = kernel.instrument.order_problem(price, quantity)
        if problem is not None:
            self._reject(order_id, "scale-in exceeds the position cap or minimum notional", problem)
            consumed = PositionChanges(scale_ins_taken=position.scale_ins_taken + 1)
            self.position = kernel.positions.update(position, consumed)
            return
        priced = kernel.costs.taker_fill(hit.price, action, quantity, bar.low, bar.high)
        fill = self._fill(
            priced,
            action=action,
            quantity=quantity,
            time=bar.time,
            reason=f"scale-in {rung + 1}",
            kind=FillKind.SCALE_IN,
            order_id=order_id,
            position_id=position.position_id,
        )
        self.cash += cash_change(position, fill)
        total = kernel.instrument.snap_quantity(position.quantity + fill.quantity)
        self.position = kernel.positions.update(position, scale_in_changes(position, fill, total))
