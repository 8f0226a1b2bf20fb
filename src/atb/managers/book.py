"""The kernel's frozen context (what stays fixed for a run) and its book (the run's working
state).

`KernelContext` carries the configuration, the instrument, the position class adapter and the
managers; every part of a bar's step reads it instead of reaching back to an owner. `Book` is
the mutable working state of a run: `plan` and `apply` change it bar after bar, and
`snapshot` freezes it into a `KernelState` when one is needed — after every bar for the live
engine's store, at the end (or at a segment's end) for a backtest (ADR 0022).
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
from atb.domain.sides import PositionSide
from atb.managers.dynamic_risk import NO_TIER, DynamicRiskHandler, RiskTier
from atb.managers.execution import AccountView, OtherHoldings, RestingOrder
from atb.managers.kernel_state import KernelState
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.partials import PartialOperationsManager
from atb.managers.policies import PolicyHydrator
from atb.managers.positions import PositionAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.time_exits import TimeExitManager
from atb.managers.trailing import TrailingStopManager
from atb.managers.working_position import WorkingPosition

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
    """The working state of a run at its current bar: cash, the position, the pending orders,
    counters, risk flags, and — for the current bar — the events so far and the policies
    attached to positions during it."""

    bar: Bar
    """The bar being processed (set by `begin`)."""
    path_bar: Bar
    """The bar whose path is being walked: the bar itself, or one of its finer candles."""

    __slots__ = (
        "_filling",
        "_start",
        "_start_position",
        "ambiguous_bars",
        "attached",
        "bar",
        "cash",
        "close_equity",
        "close_only",
        "context",
        "events",
        "order_seq",
        "others",
        "path_bar",
        "peak_equity",
        "pending",
        "position",
        "position_seq",
        "resting_memo",
        "tier",
    )

    def __init__(
        self,
        context: KernelContext[P],
        state: KernelState[P],
        bar: Bar | None = None,
        others: OtherHoldings | None = None,
    ) -> None:
        """The book of `state`, at `bar` when given (otherwise `begin` starts the first bar)."""
        self.context = context
        self.cash = state.cash
        held = state.position
        self.position: WorkingPosition[P] | None = (
            None if held is None else WorkingPosition.thaw(held)
        )
        self.pending: tuple[MarketOrder, ...] = state.pending
        # Equity at the last close: the start of the next bar's PnL.
        self.close_equity = state.equity
        self.peak_equity = state.peak_equity
        self.tier: RiskTier = state.tier
        self.close_only = state.close_only
        self.order_seq = state.order_seq
        self.position_seq = state.position_seq
        self.ambiguous_bars = state.ambiguous_bars
        # What the bar's fills started from (`begin_fills`): a plain tuple, built every bar.
        self._start: (
            tuple[float, tuple[MarketOrder, ...], float, float, RiskTier, bool, int, int, int]
            | None
        ) = None
        self._start_position: WorkingPosition[P] | None = None
        self._filling = False
        self.resting_memo: tuple[tuple[object, ...], tuple[RestingOrder, ...]] | None = None
        """The last resting orders planned for a position without a ladder, with what they
        follow from (`plan.resting_orders`)."""
        self.others = others
        self.events: list[KernelEvent] = []
        self.attached: list[PositionPolicies] = []
        if bar is not None:
            self.begin(bar, others)

    def begin(self, bar: Bar, others: OtherHoldings | None = None) -> None:
        """Start processing `bar`: its events and attached policies start empty."""
        # In a portfolio: the other symbols' holdings, in the equity and the venue's view.
        self.others = others
        self.bar = bar
        self.path_bar = bar
        self.events = []
        self.attached = []

    def snapshot(self) -> KernelState[P]:
        """The run's state now, frozen (what the store persists and a restart resumes)."""
        return KernelState(
            cash=self.cash,
            position=self._frozen(self.position),
            pending=self.pending,
            equity=self.close_equity,
            peak_equity=self.peak_equity,
            tier=self.tier,
            close_only=self.close_only,
            order_seq=self.order_seq,
            position_seq=self.position_seq,
            ambiguous_bars=self.ambiguous_bars,
        )

    def _frozen(self, position: WorkingPosition[P] | None) -> P | None:
        """The engine's frozen class of `position` (built once per change)."""
        return None if position is None else position.freeze_with(self.context.positions)

    def changing_position(self) -> WorkingPosition[P]:
        """The open position, to be changed in place. While the bar's fills run, the position
        they started from stays as it was (the other reading of an ambiguous bar starts from
        it): the book changes a copy instead."""
        position = self.position
        assert position is not None, "no open position to change"
        if self._filling and position is self._start_position:
            position = self.position = position.copy()
        return position

    def widen_excursions(self, high: float, low: float) -> None:
        """Move the open position's best and worst prices by a high and a low it lived
        through (a completed bar, or a quiet span's extremes)."""
        position = self.position
        if position is None:
            return
        if position.side is PositionSide.LONG:
            best, worst = max(position.best_price, high), min(position.worst_price, low)
        else:
            best, worst = min(position.best_price, low), max(position.worst_price, high)
        if best != position.best_price or worst != position.worst_price:
            self.changing_position().move_excursions(best, worst)

    def pass_quiet_span(
        self, high: float | None, low: float | None, close_equity: float, peak_equity: float
    ) -> None:
        """Take over bars that moved only the marks (the backtest's quiet spans): the
        position's excursions, the equity at the last close and its peak."""
        if high is not None and low is not None:
            self.widen_excursions(high, low)
        self.close_equity = close_equity
        self.peak_equity = peak_equity

    def begin_fills(self) -> None:
        """Remember the state the bar's fills start from (`started` rebuilds it, until
        `end_fills`)."""
        self._start = (
            self.cash,
            self.pending,
            self.close_equity,
            self.peak_equity,
            self.tier,
            self.close_only,
            self.order_seq,
            self.position_seq,
            self.ambiguous_bars,
        )
        self._start_position = self.position
        self._filling = True

    def end_fills(self) -> None:
        """The bar's fills are done: its position changes in place again."""
        self._start = self._start_position = None
        self._filling = False

    def started(self) -> KernelState[P]:
        """The state at `begin_fills`: where the other extreme's reading of an ambiguous bar
        starts from."""
        assert self._start is not None, "begin_fills() comes first"
        (
            cash,
            pending,
            close_equity,
            peak_equity,
            tier,
            close_only,
            order_seq,
            position_seq,
            ambiguous_bars,
        ) = self._start
        return KernelState(
            cash=cash,
            position=self._frozen(self._start_position),
            pending=pending,
            equity=close_equity,
            peak_equity=peak_equity,
            tier=tier,
            close_only=close_only,
            order_seq=order_seq,
            position_seq=position_seq,
            ambiguous_bars=ambiguous_bars,
        )

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
