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


@attrs.frozen(slots=True, kw_only=True)
class BarOutcome:
    """What one bar produced: its events, the equity marked at its close and the exposure
    (|position notional| / equity) at that close — what a recorder keeps of the bar.

    On an ambiguous bar, `alternative_equity` is the equity this close would have had if the
    bar's other extreme had come first (same state before the bar); None otherwise.
    """

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


@attrs.frozen(slots=True, kw_only=True)
class StepResult(BarOutcome, Generic[P]):
    """A bar's outcome with the kernel state after it (a snapshot of the run's book)."""

    state: KernelState[P]

    @classmethod
    def of(cls, state: KernelState[P], outcome: BarOutcome) -> StepResult[P]:
        """`outcome` with the state it left."""
        return cls(
            state=state,
            events=outcome.events,
            equity=outcome.equity,
            exposure=outcome.exposure,
            ambiguous=outcome.ambiguous,
            alternative_equity=outcome.alternative_equity,
            ambiguous_pnl=outcome.ambiguous_pnl,
            attached_policies=outcome.attached_policies,
        )
