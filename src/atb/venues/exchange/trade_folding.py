"""How an exchange's trades become one kernel fill.

One kernel fill per order (a market order) or per level and bar (a resting level whose tranches
may fill as several trades):

- **quantity**: the trades' sum, snapped back onto the lot grid (float sums of grid quantities
  pick up binary noise);
- **price**: the one price when every trade has it (a stop's tranches: kept exactly), else the
  volume-weighted average;
- **fee**, in quote: a commission taken in quote as it is, one taken in base at the trade's
  price. A spot *buy* pays its commission in the asset bought, so the position holds what can be
  sold again — the quantity received, rounded down to the lot step — and the unsellable rest
  (commission and dust) is booked as fee; the dust stays in the account, below one lot per buy;
- **complete**: False for a sell that leaves part of the position (thin volume filled an exit
  level in parts): the kernel then reduces the position instead of closing it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from atb.domain.fills import Liquidity
from atb.domain.instruments import Instrument
from atb.managers.execution import AccountView, VenueFill, VenueOrder
from atb.managers.order_journal import ExchangeTrade

__all__ = ["fold_trades"]


def fold_trades(
    order: VenueOrder,
    trades: Sequence[ExchangeTrade],
    *,
    time: datetime,
    liquidity: Liquidity,
    account: AccountView,
    instrument: Instrument,
) -> VenueFill:
    """The trades of one order (or one level in one bar) as one kernel fill at `time`."""
    quantity = instrument.snap_quantity(math.fsum(trade.quantity for trade in trades))
    prices = {trade.price for trade in trades}
    if len(prices) == 1:
        (price,) = prices
    else:
        notional = math.fsum(trade.price * trade.quantity for trade in trades)
        price = notional / math.fsum(trade.quantity for trade in trades)
    fee = 0.0
    received = quantity
    for trade in trades:
        if trade.commission_asset == instrument.quote_asset:
            fee += trade.commission
        elif trade.commission_asset == instrument.base_asset:
            fee += trade.commission * trade.price
            if trade.side == "buy":
                received -= trade.commission
    buying = trades[0].side == "buy"
    if buying:
        held = instrument.round_quantity(received)
        fee = (quantity - held) * price
        quantity = held
    position = account.position
    complete = position is None or buying or quantity >= position.quantity - instrument.lot_step / 2
    return VenueFill(
        order=order,
        price=price,
        quantity=quantity,
        fee=fee,
        slippage=0.0,
        liquidity=liquidity,
        time=time,
        complete=complete,
    )
