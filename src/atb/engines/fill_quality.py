"""Fill quality: each real fill beside the fill the simulated venue made on the same bar.

A real session's fills come from the exchange; the backtest of its candles (same config, same
decisions) says what the simulation would have filled. Pairing them fill by fill — same bar,
same kind, same side, in order — gives the deviations a trader needs to trust a backtest:

- **price**, in basis points *against* the trader (positive: reality was worse);
- **fee**, per fill, in quote (positive: reality charged more);
- **delay** of a market order: from the open of the bar it was meant to trade at to the
  exchange's fill time, in seconds.

`suggested_slippage` is the `costs.slippage` that would make the simulated taker fills (market
and stop orders) match reality at the median: the configured slippage plus the median adverse
deviation of those fills, never below zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import timedelta

import attrs

from atb.domain.events import KernelEvent, OrderFilled
from atb.domain.fills import Fill, Liquidity
from atb.domain.sides import OrderAction
from atb.managers.order_journal import ExchangeOrder, ExchangeTrade

__all__ = ["Distribution", "FillQuality", "fill_quality"]


@attrs.frozen(slots=True)
class Distribution:
    """Median, 90th percentile and extremes of one deviation."""

    count: int
    median: float
    p90: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution | None:
        """The distribution of `values` (None when there are none)."""
        if not values:
            return None
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return cls(len(ordered), statistics.median(ordered), p90, ordered[0], ordered[-1])

    def as_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {
            "count": self.count,
            "median": self.median,
            "p90": self.p90,
            "min": self.low,
            "max": self.high,
        }


@attrs.frozen(slots=True)
class FillQuality:
    """How a real session's fills compare with the simulation's."""

    paired: int
    unpaired: int
    price_bps: Distribution | None
    fee: Distribution | None
    delay_s: Distribution | None
    suggested_slippage: float | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "paired_fills": self.paired,
            "unpaired_fills": self.unpaired,
            "price_bps_against": None if self.price_bps is None else self.price_bps.as_dict(),
            "fee_difference": None if self.fee is None else self.fee.as_dict(),
            "market_delay_seconds": None if self.delay_s is None else self.delay_s.as_dict(),
            "suggested_slippage": self.suggested_slippage,
        }


def fill_quality(
    live: Sequence[KernelEvent],
    simulated: Sequence[KernelEvent],
    *,
    orders: Sequence[ExchangeOrder],
    trades: Sequence[ExchangeTrade],
    bar_interval: timedelta,
    configured_slippage: float,
) -> FillQuality:
    """Pair the session's fills with the backtest's and measure the differences."""
    real = _fills_by_slot(live)
    simulation = _fills_by_slot(simulated)
    price_bps: list[float] = []
    taker_bps: list[float] = []
    fees: list[float] = []
    unpaired = 0
    for slot, fills in real.items():
        others = simulation.get(slot, [])
        unpaired += abs(len(fills) - len(others))
        for fill, other in zip(fills, others, strict=False):
            against = _against_bps(fill, other)
            price_bps.append(against)
            if fill.liquidity is Liquidity.TAKER:
                taker_bps.append(against)
            fees.append(fill.fee - other.fee)
    unpaired += sum(len(fills) for slot, fills in simulation.items() if slot not in real)
    market = {o.client_id: o for o in orders if o.kernel_order_id is not None}
    delays = [
        (trade.time - (market[trade.client_id].created_at + bar_interval)).total_seconds()
        for trade in trades
        if trade.client_id in market
    ]
    suggestion = None
    if taker_bps:
        suggestion = max(0.0, configured_slippage + statistics.median(taker_bps) / 10_000.0)
    return FillQuality(
        paired=len(price_bps),
        unpaired=unpaired,
        price_bps=Distribution.of(price_bps),
        fee=Distribution.of(fees),
        delay_s=Distribution.of(delays),
        suggested_slippage=suggestion,
    )


def _fills_by_slot(events: Sequence[KernelEvent]) -> dict[tuple[object, ...], list[Fill]]:
    """Fills keyed by the bar they were applied on, their kind and side, in order."""
    slots: dict[tuple[object, ...], list[Fill]] = {}
    for event in events:
        if isinstance(event, OrderFilled):
            fill = event.fill
            slots.setdefault((event.time, fill.kind, fill.action), []).append(fill)
    return slots


def _against_bps(real: Fill, simulated: Fill) -> float:
    """How much worse (positive) or better the real price was, in basis points."""
    sign = 1.0 if real.action is OrderAction.BUY else -1.0
    return sign * (real.price - simulated.price) / simulated.price * 10_000.0
