"""The write-ahead order journal's vocabulary: what a real session sends, and what came back.

A session that trades on an exchange writes an `ExchangeOrder` (status `INTENT`) to its store
**before** the order is sent, under a client order id that is derived from the kernel's own ids
and therefore the same after a restart. Every answer — the acknowledgement, each fill
(`ExchangeTrade`), a rejection, a cancellation — is written as it arrives. The venue
(`atb.venues.exchange`) reads the journal back to know, after any crash, what it has already
sent and what the exchange did with it; the kernel only ever sees the fills, through `apply`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from atb.managers.fills import LevelKind

__all__ = [
    "AccountBaseline",
    "ExchangeOrder",
    "ExchangeTrade",
    "FillPair",
    "JournalStatus",
    "OrderShape",
]


class JournalStatus(enum.Enum):
    """Where an order of the journal stands."""

    INTENT = "intent"
    """Written, maybe sent: after a crash the exchange is asked for its client id first."""
    OPEN = "open"
    """Acknowledged and resting (or partly filled)."""
    FILLED = "filled"
    CANCEL_INTENT = "cancel_intent"
    """A cancel was decided (written before it is sent)."""
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    """Ended by the exchange unfilled (the other leg of an OCO list filled, IOC/FOK)."""
    REJECTED = "rejected"
    ABANDONED = "abandoned"
    """Never reached the exchange and no longer wanted (replaced before it was sent)."""

    @property
    def final(self) -> bool:
        """True once nothing more can happen to the order."""
        return self in _FINAL

    @property
    def live(self) -> bool:
        """True while the order may be resting on the exchange."""
        return self in (JournalStatus.INTENT, JournalStatus.OPEN, JournalStatus.CANCEL_INTENT)


_FINAL = frozenset(
    {
        JournalStatus.FILLED,
        JournalStatus.CANCELLED,
        JournalStatus.EXPIRED,
        JournalStatus.REJECTED,
        JournalStatus.ABANDONED,
    }
)


class OrderShape(enum.Enum):
    """How an order rests on a spot exchange."""

    MARKET = "market"
    LIMIT = "limit"
    """A resting limit (a target, or the take-profit leg of an OCO list)."""
    STOP = "stop"
    """A stop-limit: triggers at `stop_price`, then a limit at `price` (below it for a sell,
    above it for a buy) so a gap still fills."""


@attrs.frozen(slots=True, kw_only=True)
class ExchangeOrder:
    """One order of the journal.

    `kernel_order_id` names the kernel's market order it executes; for a resting level,
    `level` and `rung` name the kernel's level (a stop loss on the exchange may be several
    orders, one per OCO list, all with the same level). `list_id` groups the two legs of one
    OCO list; `created_at` is the time of the bar whose close planned the order.
    """

    client_id: str
    position_id: str | None
    kernel_order_id: str | None
    level: LevelKind | None
    rung: int
    list_id: str | None
    side: str
    """`buy` or `sell`."""
    shape: OrderShape
    quantity: float
    price: float | None
    stop_price: float | None
    status: JournalStatus
    exchange_id: str | None
    created_at: datetime
    detail: str = ""
    """Why it was rejected, cancelled or abandoned (the exchange's words, never a secret)."""

    @property
    def key(self) -> tuple[LevelKind, int] | None:
        """The kernel's key of the level this order rests for (None for a market order)."""
        return None if self.level is None else (self.level, self.rung)

    def now(
        self, status: JournalStatus, *, exchange_id: str | None = None, detail: str | None = None
    ) -> ExchangeOrder:
        """This order in `status` (with its exchange id or a detail, when given)."""
        return attrs.evolve(
            self,
            status=status,
            exchange_id=self.exchange_id if exchange_id is None else exchange_id,
            detail=self.detail if detail is None else detail,
        )


@attrs.frozen(slots=True, kw_only=True)
class ExchangeTrade:
    """One fill as the exchange reported it (the commission in the asset it was taken in)."""

    trade_id: str
    client_id: str
    side: str
    price: float
    quantity: float
    commission: float
    commission_asset: str
    time: datetime


@attrs.frozen(slots=True, kw_only=True)
class AccountBaseline:
    """What the account held that is not the session's, recorded when the session started.

    Reconciliation compares the exchange's totals minus these amounts with what the session's
    own state says it holds. `adopted` records a difference the user took over with
    `--adopt` (empty when none).
    """

    base_asset: str
    quote_asset: str
    outside_base: float
    outside_quote: float
    adopted: str = ""


@attrs.frozen(slots=True, kw_only=True)
class FillPair:
    """A real fill beside the fill the simulated venue would have made for the same order on
    the same bar (`simulated_*` None when the model would not have filled it there).

    `slot` names what filled: `market:<kernel order id>` for a market order, else the level
    (`stop loss:0`, `partial exit:1`, …); `real_time` is when the exchange filled it (its first
    trade).
    """

    bar_time: datetime
    client_id: str
    slot: str
    side: str
    liquidity: str
    real_price: float
    real_quantity: float
    real_fee: float
    real_time: datetime
    simulated_price: float | None
    simulated_quantity: float | None
    simulated_fee: float | None
