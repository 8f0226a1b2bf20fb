"""What the kernel and a venue say to each other: orders out, reports back.

`plan` turns state and a closed bar into orders: `MarketOrder`s (entries, exits, policy swaps,
decided at a bar's close) and `RestingOrder`s (the open position's price levels: stop loss, take
profit, partial-exit targets, scale-in thresholds). A venue executes them and answers with
`VenueReport`s — a `VenueFill` (with its own price, quantity, fee and liquidity; an order may
fill in several parts), a `VenueRejection`, or a `VenueAck` — which `apply` folds into the
state. A venue sees the account it trades for through an `AccountView`.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from atb.domain.fills import Liquidity
from atb.domain.pnl import unrealized_pnl
from atb.domain.protocols import PositionState
from atb.managers.fills import Level, LevelKind
from atb.managers.orders import MarketOrder


@attrs.frozen(slots=True)
class OtherHoldings:
    """The rest of a portfolio, as one symbol's venue sees it: the other symbols' positions
    marked at their current prices (`pnl` unrealized, `notional` their total |notional|, quote
    currency), and the cap on all positions together (`exposure_cap`, a fraction of equity)."""

    pnl: float
    notional: float
    exposure_cap: float


@attrs.frozen(slots=True)
class AccountView:
    """The account as a venue may see it: cash, the open position (or None) and, in a
    portfolio, the other symbols' holdings."""

    cash: float
    position: PositionState | None
    others: OtherHoldings | None = None

    def equity(self, mark: float) -> float:
        """Cash plus the unrealized PnL of the open position at `mark` (and of the other
        symbols' positions at their marks)."""
        others = self.others
        base = self.cash if others is None else self.cash + others.pnl
        position = self.position
        if position is None:
            return base
        return base + unrealized_pnl(position.side, position.entry_price, position.quantity, mark)

    def exposure_room(self, equity: float) -> float | None:
        """Notional (quote) this symbol's position may hold under the portfolio's cap on all
        positions, given `equity`; None outside a portfolio (the position cap is the bound)."""
        others = self.others
        if others is None:
            return None
        return others.exposure_cap * equity - others.notional


@attrs.frozen(slots=True)
class RestingOrder:
    """One price level of the open position, resting at the venue.

    `quantity` is what the level trades: the whole position for a stop loss or take profit,
    the rung's slice for a partial exit (`closes_position` when it is the last rung or would
    leave less than a lot), the rung's wanted size for a scale-in (a venue may reduce it to fit
    the position cap at the price it fills, `position_cap` of equity).
    """

    level: Level
    position_id: str
    quantity: float
    closes_position: bool = False
    position_cap: float | None = None

    @property
    def key(self) -> tuple[LevelKind, int]:
        """Which level this is (kind and rung): the same level keeps its key when re-planned."""
        return (self.level.kind, self.level.rung)

    @property
    def client_id(self) -> str:
        """A stable id for this level of this position (what a venue files it under)."""
        return f"{self.position_id}-{self.level.kind.name.lower()}-{self.level.rung}"


VenueOrder = MarketOrder | RestingOrder
"""Anything the kernel asks a venue to execute."""


@attrs.frozen(slots=True)
class VenueFill:
    """An execution of (part of) an order: price after slippage, quantity (> 0), fee and the
    slippage cost in quote, liquidity, and the time it happened. `complete` is False while more
    of the order is still to fill."""

    order: VenueOrder
    price: float
    quantity: float
    fee: float
    slippage: float
    liquidity: Liquidity
    time: datetime
    complete: bool = True


@attrs.frozen(slots=True)
class VenueRejection:
    """The venue refused an order: the rule (`reason`, a fixed text) and by how much (`detail`)."""

    order: VenueOrder
    reason: str
    detail: str = ""


@attrs.frozen(slots=True)
class VenueAck:
    """The venue accepted an order and will report its fills later (an exchange; the simulated
    venue fills at once)."""

    order: VenueOrder
    venue_order_id: str


VenueReport = VenueFill | VenueRejection | VenueAck
"""Anything a venue reports about an order."""


@attrs.frozen(slots=True)
class LevelReached:
    """A resting order the price path met, where it executes before costs (the level, or the
    open when the bar gapped through it)."""

    order: RestingOrder
    price: float
    gapped: bool


@attrs.frozen(slots=True)
class RestingWalk:
    """The resting orders one bar reached, in the order it reached them, and whether another
    path through the bar would have changed the outcome (ambiguous)."""

    reached: tuple[LevelReached, ...]
    ambiguous: bool
