"""Exchange trades folded into one kernel fill: tranche sums on the lot grid at their exact price,
a buy's base commission and dust booked as fee, an exit filled in part marked incomplete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from atb.domain.fills import Liquidity
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade
from atb.domain.sides import PositionSide
from atb.managers.execution import AccountView, RestingOrder, VenueFill
from atb.managers.fills import Level, LevelKind, Trigger
from atb.managers.order_journal import ExchangeTrade
from atb.venues.exchange.trade_folding import fold_trades
from tests.support.builders import make_position

RULES = Instrument("BTCUSDT", 0.01, 1e-5, 5.0, base_asset="BTC", quote_asset="USDT")
T0 = datetime(2025, 2, 7, 22, tzinfo=UTC)
STOP = RestingOrder(Level(38_834.64, Trigger.DOWN, LevelKind.STOP_LOSS), "p1", 0.02014, True)


def _trade(
    side: str, price: float, quantity: float, commission: float, asset: str
) -> ExchangeTrade:
    return ExchangeTrade(
        trade_id=f"{side}-{quantity}",
        client_id="c",
        side=side,
        price=price,
        quantity=quantity,
        commission=commission,
        commission_asset=asset,
        time=T0,
    )


def _fold(trades: list[ExchangeTrade], position: ActiveTrade | None) -> VenueFill:
    account = AccountView(10_000.0, position)
    return fold_trades(
        STOP, trades, time=T0, liquidity=Liquidity.TAKER, account=account, instrument=RULES
    )


def test_a_stop_over_two_tranches_is_one_fill_on_the_grid_at_its_exact_price() -> None:
    position = make_position(PositionSide.LONG, entry_price=39_627.19, quantity=0.02014)
    trades = [
        _trade("sell", 38_834.64, 0.00503, 0.19533823, "USDT"),
        _trade("sell", 38_834.64, 0.01511, 0.58679141, "USDT"),
    ]
    fill = _fold(trades, position)
    assert 0.00503 + 0.01511 != 0.02014  # the float sum is off the grid …
    assert (fill.quantity, fill.price, fill.complete) == (
        0.02014,
        38_834.64,
        True,
    )  # … not the fill
    assert fill.fee == pytest.approx(0.19533823 + 0.58679141)


def test_a_buy_holds_what_it_can_sell_and_books_commission_and_dust_as_fee() -> None:
    # 0.02014 bought, 0.00002014 BTC commission: 0.02011986 received, 0.02011 sellable.
    trades = [_trade("buy", 39_709.25, 0.02014, 0.00002014, "BTC")]
    fill = _fold(trades, None)
    assert fill.quantity == 0.02011
    assert fill.fee == pytest.approx(0.00003 * 39_709.25)
    assert fill.complete


def test_an_exit_filled_in_part_is_incomplete_and_prices_average_by_volume() -> None:
    position = make_position(PositionSide.LONG, entry_price=40_000.0, quantity=0.02)
    trades = [
        _trade("sell", 39_000.0, 0.004, 0.156, "USDT"),
        _trade("sell", 38_900.0, 0.004, 0.1556, "USDT"),
    ]
    fill = _fold(trades, position)
    assert (fill.quantity, fill.complete) == (0.008, False)
    assert fill.price == pytest.approx(38_950.0)
    assert fill.fee == pytest.approx(0.3116)
