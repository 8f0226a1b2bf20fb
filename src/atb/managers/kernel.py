"""The per-bar kernel (DESIGN §3): the one step both engines run for every closed bar.

For bar t: (1) fill the market orders decided at t−1's close at open[t]; (2) walk the resting
levels (stop, target, partial exits, scale-ins) along the bar path; (3) from the completed bar,
update excursions and the trailing stop (applies from t+1) and check time exits; (4) update the
drawdown tier and the close-only latch; (5) ask the decider, turning its decision into market
orders for t+1's open (or for t's close with `fills.timing = close`); (6) mark equity at close[t].

The kernel is pure: state in, state and events out. It is generic over the position class and
does no IO, so the backtest and the live engine get identical results from identical bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Generic, TypeVar

import attrs

from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decider, Decision
from atb.domain.events import (
    CloseOnlyLatched,
    DecisionMade,
    OrderPlaced,
    OrderRejected,
    PoliciesSwapped,
    StopMoved,
    TierChanged,
)
from atb.domain.instruments import Instrument
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.sides import PositionSide
from atb.managers.costs import CostCalculator
from atb.managers.dynamic_risk import NO_TIER, DynamicRiskHandler
from atb.managers.fills import FillModel
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.kernel_step import BarStep
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.partials import PartialOperationsManager
from atb.managers.policies import PolicyHydrator
from atb.managers.positions import PositionAdapter, PositionChanges
from atb.managers.risk_config import FillTiming, RiskConfiguration
from atb.managers.time_exits import TimeExitManager
from atb.managers.trailing import TrailingStopManager
from atb.managers.volatility import PriceHistory

P = TypeVar("P", bound=Position)

_ENTRY_SIDES = {Action.ENTER_LONG: PositionSide.LONG, Action.ENTER_SHORT: PositionSide.SHORT}


class Kernel(Generic[P]):
    """Runs the per-bar step for one symbol, one configuration, one decider.

    `history_bars` is the history the engine keeps before each bar (`atb.managers.lookback`);
    a policy bundle that would need more is refused rather than computed on a short history.
    """

    def __init__(
        self,
        *,
        config: RiskConfiguration,
        instrument: Instrument,
        positions: PositionAdapter[P],
        decider: Decider,
        bar_interval: timedelta,
        id_prefix: str = "bt",
        history_bars: int | None = None,
    ) -> None:
        self.config = config
        self.instrument = instrument
        self.positions = positions
        self.decider = decider
        self.bar_interval = bar_interval
        self.id_prefix = id_prefix
        self.costs = CostCalculator(config.costs, instrument)
        self.fill_model = FillModel(config.fills.intrabar)
        self.trailing = TrailingStopManager(instrument)
        self.partials = PartialOperationsManager(instrument)
        self.time_exits = TimeExitManager(bar_interval)
        # Policies a strategy attaches may not read further back than the run's history.
        self.hydrator = PolicyHydrator(config, max_lookback=history_bars)
        self.dynamic_risk = DynamicRiskHandler(config.dynamic_risk) if config.dynamic_risk else None
        self.default_policies = self.hydrator.hydrate(None)

    def initial_state(self, cash: float) -> KernelState[P]:
        """A flat account holding `cash` (quote currency)."""
        if not cash > 0:
            raise ValueError(f"initial cash must be > 0, got {cash!r}")
        return KernelState(
            cash=cash,
            position=None,
            pending=(),
            equity=cash,
            peak_equity=cash,
            tier=NO_TIER,
            close_only=False,
            order_seq=0,
            position_seq=0,
            ambiguous_bars=0,
        )

    def step(
        self,
        state: KernelState[P],
        bar: Bar,
        bar_index: int,
        history: PriceHistory | None = None,
        detail: Sequence[Bar] | None = None,
    ) -> StepResult[P]:
        """Process one closed bar (DESIGN §3, steps 1–6).

        `history` answers ATR questions for ATR-based trailing (without it, trailing uses its
        percentage distance). `detail` holds the bar's lower-timeframe candles (in order, inside
        the bar's range): resting levels are then resolved on them instead of by the intrabar
        policy.
        """
        work = BarStep(self, state, bar)
        # 1. Market orders decided at the previous close fill at this open.
        for order in state.pending:
            work.execute(order, bar.open, bar.time)
        # 2. Resting levels along the bar path.
        ambiguous = work.walk_levels(detail=detail)
        alternative = self._alternative_equity(state, bar, detail) if ambiguous else None
        # 3. Excursions, trailing stop and time exits, from the completed bar.
        time_exit = self._after_bar(work, bar_index, history)
        # 4. Drawdown tier and close-only latch from equity at this close.
        self._update_risk(work)
        # 5. The decision, as market orders for the next fill point.
        orders = self._orders(work, self.decider.decide(bar_index, bar, work.position), time_exit)
        pending: tuple[MarketOrder, ...] = ()
        if self.config.fills.timing is FillTiming.NEXT_OPEN:
            pending = orders
        else:
            for order in orders:
                work.execute(order, bar.close, bar.time + self.bar_interval)
        # 6. Mark equity at the close.
        equity = work.equity(bar.close)
        position = work.position
        exposure = 0.0
        if position is not None and equity > 0:
            exposure = position.quantity * bar.close / equity
        new_state = KernelState(
            cash=work.cash,
            position=position,
            pending=pending,
            equity=equity,
            peak_equity=max(work.peak_equity, equity),
            tier=work.tier,
            close_only=work.close_only,
            order_seq=work.order_seq,
            position_seq=work.position_seq,
            ambiguous_bars=state.ambiguous_bars + (1 if ambiguous else 0),
        )
        return StepResult(
            state=new_state,
            events=tuple(work.events),
            equity=equity,
            exposure=exposure,
            ambiguous=ambiguous,
            alternative_equity=alternative,
            attached_policies=tuple(work.attached),
        )

    def _alternative_equity(
        self, state: KernelState[P], bar: Bar, detail: Sequence[Bar] | None
    ) -> float:
        """Equity at this close had the other extreme come first (fills only)."""
        work = BarStep(self, state, bar)
        for order in state.pending:
            work.execute(order, bar.open, bar.time)
        work.walk_levels(reverse_extremes=True, detail=detail)
        return work.equity(bar.close)

    def close_at(self, result: StepResult[P], bar: Bar, reason: str) -> StepResult[P]:
        """Close the open position at `bar`'s close, after its step (end of data, when asked).

        Orders still pending for a next bar that will never come are dropped.
        """
        state = result.state
        if state.position is None:
            return result
        work = BarStep(self, state, bar)
        order = work.new_order(OrderIntent.CLOSE, reason)
        work.events.append(
            OrderPlaced(
                time=bar.time, order_id=order.order_id, intent=order.intent.value, reason=reason
            )
        )
        work.execute(order, bar.close, bar.time + self.bar_interval)
        equity = work.equity(bar.close)
        closed = attrs.evolve(
            state,
            cash=work.cash,
            position=work.position,
            pending=(),
            equity=equity,
            peak_equity=max(state.peak_equity, equity),
            order_seq=work.order_seq,
        )
        return StepResult(
            state=closed,
            events=(*result.events, *work.events),
            equity=equity,
            exposure=0.0,
            ambiguous=result.ambiguous,
            attached_policies=result.attached_policies,
        )

    def _after_bar(
        self, work: BarStep[P], bar_index: int, history: PriceHistory | None
    ) -> MarketOrder | None:
        position = work.position
        if position is None:
            return None
        bar = work.bar
        if position.side is PositionSide.LONG:
            best, worst = max(position.best_price, bar.high), min(position.worst_price, bar.low)
        else:
            best, worst = min(position.best_price, bar.low), max(position.worst_price, bar.high)
        if best != position.best_price or worst != position.worst_price:
            changes = PositionChanges(best_price=best, worst_price=worst)
            position = self.positions.update(position, changes)
        trailing = position.policies.trailing
        if trailing is not None:
            atr = None
            if trailing.atr_multiple is not None and history is not None:
                atr = history.atr(bar_index, trailing.atr_period)
            update = self.trailing.update(position, bar, trailing, atr)
            if update is not None:
                if update.stop_loss != position.stop_loss:
                    work.events.append(
                        StopMoved(
                            time=bar.time,
                            position_id=position.position_id,
                            old_stop=position.stop_loss,
                            new_stop=update.stop_loss,
                            cause=update.cause,
                        )
                    )
                position = self.positions.update(
                    position,
                    PositionChanges(
                        stop_loss=update.stop_loss,
                        breakeven_active=update.breakeven_active,
                        trailing_active=update.trailing_active,
                    ),
                )
        work.position = position
        time_policy = position.policies.time_exit
        if time_policy is None:
            return None
        reason = self.time_exits.exit_reason(position, bar, time_policy)
        return None if reason is None else work.new_order(OrderIntent.CLOSE, reason)

    def _update_risk(self, work: BarStep[P]) -> None:
        bar = work.bar
        equity = work.equity(bar.close)
        work.peak_equity = max(work.peak_equity, equity)
        drawdown = max(0.0, 1.0 - equity / work.peak_equity)
        if self.dynamic_risk is not None:
            tier = self.dynamic_risk.update(work.tier, drawdown)
            if tier != work.tier:
                work.events.append(
                    TierChanged(
                        time=bar.time,
                        old_tier=work.tier.tier,
                        new_tier=tier.tier,
                        factor=tier.factor,
                        drawdown=drawdown,
                    )
                )
                work.tier = tier
        limit = self.config.risk.max_drawdown
        if limit is not None and not work.close_only and drawdown >= limit:
            work.close_only = True
            work.events.append(CloseOnlyLatched(time=bar.time, drawdown=drawdown))

    def _orders(
        self, work: BarStep[P], decision: Decision, time_exit: MarketOrder | None
    ) -> tuple[MarketOrder, ...]:
        if decision.action is Action.HOLD and decision.policies is None and time_exit is None:
            return ()  # the common case: nothing to order, nothing to report
        bar = work.bar
        position = work.position
        orders: list[MarketOrder] = [] if time_exit is None else [time_exit]
        if decision.action is not Action.HOLD:
            work.events.append(
                DecisionMade(
                    time=bar.time,
                    action=decision.action.value,
                    size=decision.size,
                    reason=decision.reason,
                )
            )
        if decision.action is Action.HOLD:
            if decision.policies is not None and position is not None:
                policies = self.hydrator.hydrate(decision.policies)
                orders.append(
                    work.new_order(OrderIntent.SWAP_POLICIES, decision.reason, policies=policies)
                )
        elif decision.action is Action.EXIT:
            if position is not None and time_exit is None:
                orders.append(work.new_order(OrderIntent.CLOSE, decision.reason))
        else:
            side = _ENTRY_SIDES[decision.action]
            if position is not None and position.side is side:
                pass  # already in: an entry signal in the same direction is a hold
            else:
                if position is not None and time_exit is None:
                    orders.append(work.new_order(OrderIntent.CLOSE, f"reverse: {decision.reason}"))
                orders.extend(self._entry(work, decision, side, blocked=time_exit is not None))
        for order in orders:
            work.events.append(
                OrderPlaced(
                    time=bar.time,
                    order_id=order.order_id,
                    intent=order.intent.value,
                    reason=order.reason,
                )
            )
        return tuple(orders)

    def _entry(
        self, work: BarStep[P], decision: Decision, side: PositionSide, *, blocked: bool
    ) -> list[MarketOrder]:
        order_id = work.next_order_id()
        refusal = None
        if work.close_only:
            refusal = "close-only: max drawdown breached"
        elif blocked or self.time_exits.blocks_entry(work.bar, self.config.time_exits):
            refusal = "time exit in force"
        if refusal is not None:
            work.events.append(OrderRejected(time=work.bar.time, order_id=order_id, reason=refusal))
            return []
        policies = self.hydrator.hydrate(decision.policies)
        size = decision.size if decision.size is not None else 0.0
        fraction = min(size, self._entry_cap(policies)) * work.tier.factor
        intent = OrderIntent.OPEN_LONG if side is PositionSide.LONG else OrderIntent.OPEN_SHORT
        return [
            MarketOrder(
                order_id=order_id,
                created_at=work.bar.time,
                intent=intent,
                reason=decision.reason,
                fraction=fraction,
                stop_loss_pct=decision.stop_loss_pct,
                take_profit_pct=decision.take_profit_pct,
                policies=policies,
            )
        ]

    def _entry_cap(self, policies: PositionPolicies) -> float:
        """Largest entry fraction: the position cap, shrunk so that the planned scale-ins
        (fractions of the original quantity) still fit under it."""
        cap = self.config.risk.position_cap
        partials = policies.partials
        if partials is None:
            return cap
        planned = partials.scale_in_thresholds[: partials.max_scale_ins]
        return cap / (1.0 + sum(size for _move, size in planned))


__all__ = ["Kernel", "KernelState", "PoliciesSwapped", "StepResult"]
