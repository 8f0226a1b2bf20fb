"""The kernel's state between two bars, and what one step returns."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from atb.domain.events import KernelEvent
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.managers.dynamic_risk import RiskTier
from atb.managers.orders import MarketOrder

P = TypeVar("P", bound=Position)


@attrs.frozen(slots=True, kw_only=True)
class KernelState(Generic[P]):
    """Everything the kernel needs to process the next bar; frozen, so it can be stored,
    compared and resumed exactly (the live engine persists it after every bar).

    `cash` is quote currency (margin style: moves by realized PnL and fees only), `pending` the
    market orders decided at the last close, `peak_equity` the highest close equity so far,
    and `order_seq`/`position_seq` the counters behind deterministic ids.
    """

    cash: float
    position: P | None
    pending: tuple[MarketOrder, ...]
    equity: float
    peak_equity: float
    tier: RiskTier
    close_only: bool
    order_seq: int
    position_seq: int
    ambiguous_bars: int

    def marked(self, position: P | None, equity: float, peak_equity: float) -> KernelState[P]:
        """This state after bars that moved only the marks: the position's excursions, the
        equity and its peak (the backtest's quiet spans). `attrs.evolve` would do the same
        at twice the cost, by looking the fields up on every call."""
        return KernelState(
            cash=self.cash,
            position=position,
            pending=self.pending,
            equity=equity,
            peak_equity=peak_equity,
            tier=self.tier,
            close_only=self.close_only,
            order_seq=self.order_seq,
            position_seq=self.position_seq,
            ambiguous_bars=self.ambiguous_bars,
        )


@attrs.frozen(slots=True, kw_only=True)
class StepResult(Generic[P]):
    """The state after one bar, the events of that bar, the equity marked at its close and the
    exposure (|position notional| / equity) at that close.

    On an ambiguous bar, `alternative_equity` is the equity this close would have had if the
    bar's other extreme had come first (same state before the bar); None otherwise.
    """

    state: KernelState[P]
    events: tuple[KernelEvent, ...]
    equity: float
    exposure: float
    ambiguous: bool
    alternative_equity: float | None = None
    ambiguous_pnl: tuple[float, float] | None = None
    """On an ambiguous bar: the bar's PnL (equity change) under the worse and the better of
    the two extreme orders, from the same state before the bar; None otherwise."""
    attached_policies: tuple[PositionPolicies, ...] = ()
    """Policies attached to a position during the bar (at its entry, or by a swap): what
    actually governed positions, for the run's record."""
