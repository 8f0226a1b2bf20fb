"""The kernel's frozen context (what stays fixed for a run) and its book (the state of one bar
while it is being processed).

`KernelContext` carries the configuration, the instrument, the position class adapter and the
managers; every part of a bar's step reads it instead of reaching back to an owner. `Book` is
the mutable working copy of a `KernelState` for one bar: `plan` and `apply` change it, and it is
frozen again into the next `KernelState` when the bar is done.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Generic, TypeVar

import attrs

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderRejected
from atb.domain.instruments import Instrument
from atb.domain.intents import ExitReason
from atb.domain.pnl import unrealized_pnl
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.managers.dynamic_risk import NO_TIER, DynamicRiskHandler, RiskTier
from atb.managers.execution import AccountView, OtherHoldings
from atb.managers.kernel_state import KernelState
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.partials import PartialOperationsManager
from atb.managers.policies import PolicyHydrator
from atb.managers.positions import PositionAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.time_exits import TimeExitManager
from atb.managers.trailing import TrailingStopManager

P = TypeVar("P", bound=Position)


@attrs.frozen(slots=True, kw_only=True)
class KernelContext(Generic[P]):
    """Everything fixed for a run: config, instrument, how positions are built, the managers."""

    config: RunConfiguration
    instrument: Instrument
    positions: PositionAdapter[P]
    bar_interval: timedelta
    id_prefix: str
    trailing: TrailingStopManager
    partials: PartialOperationsManager
    time_exits: TimeExitManager
    hydrator: PolicyHydrator
    dynamic_risk: DynamicRiskHandler | None
    default_policies: PositionPolicies

    @classmethod
    def build(
        cls,
        *,
        config: RunConfiguration,
        instrument: Instrument,
        positions: PositionAdapter[P],
        bar_interval: timedelta,
        id_prefix: str = "bt",
        history_bars: int | None = None,
    ) -> KernelContext[P]:
        """The context with its managers; `history_bars` bounds the look-back a strategy's
        policies may ask for (`atb.managers.lookback`)."""
        hydrator = PolicyHydrator(config.risk, max_lookback=history_bars)
        return cls(
            config=config,
            instrument=instrument,
            positions=positions,
            bar_interval=bar_interval,
            id_prefix=id_prefix,
            trailing=TrailingStopManager(instrument),
            partials=PartialOperationsManager(instrument),
            time_exits=TimeExitManager(bar_interval),
            hydrator=hydrator,
            dynamic_risk=DynamicRiskHandler(config.risk.dynamic_risk)
            if config.risk.dynamic_risk
            else None,
            default_policies=hydrator.hydrate(None),
        )

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


class Book(Generic[P]):
    """The working state of one bar: cash, the position, counters, risk flags, the events so
    far, and the policies attached to positions during the bar."""

    __slots__ = (
        "attached",
        "bar",
        "cash",
        "close_only",
        "context",
        "events",
        "order_seq",
        "others",
        "path_bar",
        "peak_equity",
        "position",
        "position_seq",
        "tier",
    )

    def __init__(
        self,
        context: KernelContext[P],
        state: KernelState[P],
        bar: Bar,
        others: OtherHoldings | None = None,
    ) -> None:
        self.context = context
        # In a portfolio: the other symbols' holdings, in the equity and the venue's view.
        self.others = others
        self.bar = bar
        # The bar whose path is being walked: the bar itself, or one of its finer candles.
        self.path_bar = bar
        self.cash = state.cash
        self.position: P | None = state.position
        self.peak_equity = state.peak_equity
        self.tier: RiskTier = state.tier
        self.close_only = state.close_only
        self.order_seq = state.order_seq
        self.position_seq = state.position_seq
        self.events: list[KernelEvent] = []
        self.attached: list[PositionPolicies] = []

    def next_order_id(self) -> str:
        """A new deterministic order id (prefix + sequence number; never reused)."""
        self.order_seq += 1
        return f"{self.context.id_prefix}-o{self.order_seq:07d}"

    def next_position_id(self) -> str:
        """A new deterministic position id."""
        self.position_seq += 1
        return f"{self.context.id_prefix}-p{self.position_seq:06d}"

    def new_order(
        self,
        intent: OrderIntent,
        reason: str,
        policies: PositionPolicies | None = None,
        *,
        exit: ExitReason | None = None,
    ) -> MarketOrder:
        """A market order without sizing (close, policy swap); `exit` says why a CLOSE."""
        return MarketOrder(
            order_id=self.next_order_id(),
            created_at=self.bar.time,
            intent=intent,
            reason=reason,
            policies=policies,
            exit=exit,
        )

    def equity(self, mark: float) -> float:
        """Cash plus the open position's unrealized PnL at `mark` (and, in a portfolio, the
        other symbols' at their marks)."""
        others = self.others
        base = self.cash if others is None else self.cash + others.pnl
        position = self.position
        if position is None:
            return base
        return base + unrealized_pnl(position.side, position.entry_price, position.quantity, mark)

    def account(self) -> AccountView:
        """What a venue may see of the account now."""
        return AccountView(self.cash, self.position, self.others)

    def reject(self, order_id: str, reason: str, detail: str = "") -> None:
        """Record that an order could not execute."""
        self.events.append(
            OrderRejected(time=self.bar.time, order_id=order_id, reason=reason, detail=detail)
        )


def symbol_id_prefix(prefix: str, symbol: str, symbols: int) -> str:
    """Order and position ids of one symbol of a portfolio: the run's prefix, tagged with the
    symbol when the portfolio has more than one (ids never repeat across symbols; one symbol
    keeps the single-symbol run's ids)."""
    return prefix if symbols == 1 else f"{prefix}-{symbol}"
