"""Fill quality: each real fill beside the fill the simulated venue would have made.

A real session stores, for every fill the exchange made, the fill the simulated venue of the
session's own config would have made for the same order on the same bar (`FillPair`, written by
the exchange venue as it folds the fill). Measured over a session, the pairs give the
deviations a trader needs to trust a backtest:

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

import attrs

from atb.domain.fills import Liquidity
from atb.managers.order_journal import FillPair

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


def fill_quality(pairs: Sequence[FillPair], *, configured_slippage: float) -> FillQuality:
    """Measure the stored pairs: each real fill against the simulated venue's fill of the same
    order on the same bar."""
    price_bps: list[float] = []
    taker_bps: list[float] = []
    fees: list[float] = []
    delays: list[float] = []
    unpaired = 0
    for pair in pairs:
        if pair.slot.startswith("market:"):
            delays.append((pair.real_time - pair.bar_time).total_seconds())
        if pair.simulated_price is None or pair.simulated_fee is None:
            unpaired += 1  # the model would not have filled it on that bar
            continue
        sign = 1.0 if pair.side == "buy" else -1.0
        against = sign * (pair.real_price - pair.simulated_price) / pair.simulated_price * 1e4
        price_bps.append(against)
        if pair.liquidity == Liquidity.TAKER.value:
            taker_bps.append(against)
        fees.append(pair.real_fee - pair.simulated_fee)
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
