"""`CostCalculator`: fees, slippage, and turning a fraction of equity into a quantity.

Fees are a rate on notional per fill: taker for market and stop fills, maker for resting limits.
Slippage moves market and stop fills against the trader by a fraction of the reference price.
A fill never leaves its bar: the slipped price is clamped into [low, high], because no trade can
print outside the bar's range.
"""

from __future__ import annotations

import attrs

from atb.domain.fills import Liquidity
from atb.domain.instruments import Instrument
from atb.domain.sides import OrderAction
from atb.managers.execution_config import CostConfig


@attrs.frozen(slots=True)
class PricedExecution:
    """Price (after slippage and tick rounding), fee and slippage cost of one fill (quote)."""

    price: float
    fee: float
    slippage: float
    liquidity: Liquidity


@attrs.frozen(slots=True)
class CostCalculator:
    """Prices fills and sizes entries for one instrument under one cost configuration."""

    costs: CostConfig
    instrument: Instrument

    def fee_rate(self, liquidity: Liquidity) -> float:
        """The fee rate that applies to a maker or taker fill."""
        return self.costs.maker_fee if liquidity is Liquidity.MAKER else self.costs.taker_fee

    def taker_price(self, reference: float, action: OrderAction, low: float, high: float) -> float:
        """Price of a market or stop fill: `reference` moved against the trader by the slippage
        rate, rounded to the tick against the trader and clamped into the bar's [low, high]."""
        slipped = reference * (1.0 + action.sign * self.costs.slippage)
        # Round against the trader: rounding must never give back part of the slippage.
        if action is OrderAction.BUY:
            rounded = self.instrument.round_price_up(slipped)
        else:
            rounded = self.instrument.round_price_down(slipped)
        return min(max(rounded, low), high)

    def taker_fill(
        self, reference: float, action: OrderAction, quantity: float, low: float, high: float
    ) -> PricedExecution:
        """Execution of a market or stop order of `quantity` referenced at `reference`."""
        return self.taker_execution(
            self.taker_price(reference, action, low, high), reference, quantity
        )

    def taker_execution(self, price: float, reference: float, quantity: float) -> PricedExecution:
        """`taker_fill` at a `price` already given by `taker_price` for `reference` (an entry
        is priced first to be sized, then filled at that price)."""
        return PricedExecution(
            price=price,
            fee=price * quantity * self.costs.taker_fee,
            slippage=abs(price - reference) * quantity,
            liquidity=Liquidity.TAKER,
        )

    def maker_fill(self, price: float, quantity: float) -> PricedExecution:
        """Execution of a resting limit at `price`: no slippage, maker fee."""
        return PricedExecution(
            price=price,
            fee=price * quantity * self.costs.maker_fee,
            slippage=0.0,
            liquidity=Liquidity.MAKER,
        )

    def entry_quantity(self, fraction: float, equity: float, price: float) -> float:
        """Quantity that spends `fraction` of `equity` at `price`, taker fee included.

        qty = fraction × equity / (price × (1 + taker_fee)), rounded down to the lot step, so a
        fraction of 1.0 spends all equity with the fee paid and nothing left over.
        """
        if fraction <= 0 or equity <= 0:
            return 0.0
        raw = fraction * equity / (price * (1.0 + self.costs.taker_fee))
        return self.instrument.round_quantity(raw)
