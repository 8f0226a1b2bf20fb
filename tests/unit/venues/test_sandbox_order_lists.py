"""OCO order lists and orders that expire (IOC, FOK) on the sandbox exchange, without HTTP."""

from __future__ import annotations

import pytest

from atb.venues.sandbox.exchange import (
    ExchangeRefusalError,
    OcoLeg,
    OrderType,
    SandboxExchange,
    SandboxOrderList,
    TimeInForce,
)
from tests.unit.venues.test_sandbox_matching import (
    BARS,
    HOUR_MS,
    _bars,
    _Clock,
    _exchange,
    _open_ms,
)

TAKE_PROFIT = OcoLeg(OrderType.LIMIT_MAKER, 105.0, client_order_id="tp")
STOP = OcoLeg(OrderType.STOP_LOSS_LIMIT, 98.0, stop_price=98.0, client_order_id="sl")


def _sell_oco(exchange: SandboxExchange, quantity: float = 0.5) -> SandboxOrderList:
    return exchange.place_oco(
        list_client_order_id="exit", side="SELL", quantity=quantity, above=TAKE_PROFIT, below=STOP
    )


def test_the_legs_of_a_list_share_one_reservation() -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock)
    order_list = _sell_oco(exchange, 0.6)
    assert exchange.balances()["BTC"] == pytest.approx((0.4, 0.6))  # locked once, not twice
    assert [leg.client_order_id for leg in order_list.legs] == ["sl", "tp"]  # below first
    assert {leg.order_list_id for leg in order_list.legs} == {order_list.list_id}
    # A second list for the rest of the balance still fits; one for more does not.
    with pytest.raises(ExchangeRefusalError, match="insufficient balance"):
        exchange.place_oco(
            list_client_order_id="more",
            side="SELL",
            quantity=0.5,
            above=OcoLeg(OrderType.LIMIT_MAKER, 105.0),
            below=OcoLeg(OrderType.STOP_LOSS_LIMIT, 98.0, stop_price=98.0),
        )


def test_the_stop_fills_first_when_one_bar_reaches_both_legs() -> None:
    bars = _bars((100.0, 101.0, 99.0, 100.0), (100.0, 106.0, 97.0, 105.0))
    clock = _Clock(_open_ms(bars, 1))
    exchange = _exchange(bars, clock)
    order_list = _sell_oco(exchange)
    clock.now += HOUR_MS  # bar 1 closed: down to 97 first, then up to 106
    stop, target = exchange.order_list(order_list.list_id, None).legs
    assert (stop.status, target.status) == ("FILLED", "EXPIRED")
    assert (order_list.list_status, order_list.order_status) == ("ALL_DONE", "ALL_DONE")
    assert [(trade.order_id, trade.price) for trade in exchange.trades()] == [(1, 98.0)]
    assert exchange.balances() == {
        "BTC": pytest.approx((0.5, 0.0)),
        "USDT": pytest.approx((10_000.0 + 0.5 * 98.0, 0.0)),
    }


def test_a_partly_filled_leg_expires_the_other_and_keeps_its_own_reservation() -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock, participation=0.4)  # 0.4 BTC of each 1-BTC bar
    order_list = exchange.place_oco(
        list_client_order_id=None,
        side="SELL",
        quantity=0.6,
        above=OcoLeg(OrderType.LIMIT_MAKER, 104.5),
        below=OcoLeg(OrderType.STOP_LOSS_LIMIT, 90.0, stop_price=90.0),
    )
    clock.now = _open_ms(BARS, 4)  # bar 3 (97 → 96 → 106) closed: the target filled 0.4
    stop, target = exchange.order_list(None, "sandbox-list-1").legs
    assert (stop.status, target.status) == ("EXPIRED", "PARTIALLY_FILLED")
    assert order_list.client_list_id == "sandbox-list-1"
    assert order_list.list_status == "EXEC_STARTED"  # the target still rests
    assert exchange.balances()["BTC"] == pytest.approx((0.4, 0.2))
    clock.now += HOUR_MS  # bar 4 opens at 105: the rest fills there
    assert exchange.order(target.order_id, None).status == "FILLED"
    assert (order_list.list_status, order_list.order_status) == ("ALL_DONE", "ALL_DONE")
    assert [trade.price for trade in exchange.trades()] == [104.5, 105.0]
    assert exchange.balances()["BTC"] == pytest.approx((0.4, 0.0))


def test_a_buy_list_reserves_at_its_higher_price_and_releases_the_rest() -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock)
    exchange.place_oco(
        list_client_order_id="entry",
        side="BUY",
        quantity=1.0,
        above=OcoLeg(OrderType.STOP_LOSS_LIMIT, 103.0, stop_price=102.0),
        below=OcoLeg(OrderType.LIMIT_MAKER, 97.0),
    )
    assert exchange.balances()["USDT"] == pytest.approx((10_000.0 - 103.0, 103.0))
    clock.now = _open_ms(BARS, 3)  # bar 2 opens at 96: the buy limit fills there
    below, above = exchange.order_list(None, "entry").legs
    assert (below.status, above.status) == ("FILLED", "EXPIRED")
    assert exchange.balances()["USDT"] == pytest.approx((10_000.0 - 96.0, 0.0))


def test_cancelling_a_leg_cancels_the_list_and_releases_the_reservation() -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock)
    order_list = _sell_oco(exchange)
    cancelled = exchange.cancel(None, "tp")
    assert cancelled.status == "CANCELED"
    assert [leg.status for leg in order_list.legs] == ["CANCELED", "CANCELED"]
    assert order_list.list_status == "ALL_DONE"
    assert exchange.balances()["BTC"] == (1.0, 0.0)
    with pytest.raises(ExchangeRefusalError, match="Unknown order sent") as refused:
        exchange.cancel_order_list(order_list.list_id, None)
    assert refused.value.code == -2011


@pytest.mark.parametrize(
    ("above", "below", "code", "message"),
    [
        (OcoLeg(OrderType.LIMIT_MAKER, 100.0), STOP, -2010, "would immediately match"),
        (TAKE_PROFIT, OcoLeg(OrderType.STOP_LOSS_LIMIT, 100.0, 100.0), -2010, "trigger"),
        (STOP, TAKE_PROFIT, -1102, "'aboveType'"),
        (TAKE_PROFIT, OcoLeg(OrderType.LIMIT_MAKER, 98.0), -1102, "'belowType'"),
        (TAKE_PROFIT, OcoLeg(OrderType.STOP_LOSS_LIMIT, 98.005, 98.0), -1013, "PRICE_FILTER"),
        (OcoLeg(OrderType.LIMIT_MAKER, 105.0, client_order_id="sl"), STOP, -2010, "Duplicate"),
    ],
)
def test_lists_are_refused_as_binance_refuses_them(
    above: OcoLeg, below: OcoLeg, code: int, message: str
) -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)  # the price now: bar 0's open, 100
    exchange = _exchange(BARS, clock)
    with pytest.raises(ExchangeRefusalError, match=message) as refused:
        exchange.place_oco(
            list_client_order_id="x", side="SELL", quantity=0.5, above=above, below=below
        )
    assert refused.value.code == code
    assert exchange.balances()["BTC"] == (1.0, 0.0)
    assert exchange.open_orders() == []


def test_a_list_client_id_is_used_once() -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock)
    _sell_oco(exchange, 0.2)
    with pytest.raises(ExchangeRefusalError, match="Duplicate order sent"):
        exchange.place_oco(
            list_client_order_id="exit",
            side="SELL",
            quantity=0.2,
            above=OcoLeg(OrderType.LIMIT_MAKER, 105.0),
            below=OcoLeg(OrderType.STOP_LOSS_LIMIT, 98.0, stop_price=98.0),
        )


@pytest.mark.parametrize(
    ("time_in_force", "price", "status", "filled"),
    [
        (TimeInForce.IOC, 100.0, "EXPIRED", 0.4),  # 0.4 of the bar's 1 BTC now, the rest never
        (TimeInForce.FOK, 100.0, "EXPIRED", 0.0),  # all or nothing: nothing
        (TimeInForce.IOC, 99.5, "EXPIRED", 0.0),  # not marketable at the open, 100
    ],
)
def test_ioc_and_fok_orders_settle_at_once_against_the_open(
    time_in_force: TimeInForce, price: float, status: str, filled: float
) -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock, participation=0.4)
    order = exchange.place(
        client_order_id="now",
        side="BUY",
        order_type=OrderType.LIMIT,
        quantity=1.0,
        price=price,
        stop_price=None,
        time_in_force=time_in_force,
    )
    assert order.status == status
    assert order.executed == pytest.approx(filled)
    assert [trade.price for trade in exchange.trades()] == ([100.0] if filled else [])
    assert exchange.balances()["USDT"] == pytest.approx((10_000.0 - 100.0 * filled, 0.0))
    clock.now += 5 * HOUR_MS  # an expired order never rests
    assert exchange.order(order.order_id, None).executed == pytest.approx(filled)


def test_a_fok_order_that_fits_fills_completely() -> None:
    clock = _Clock(_open_ms(BARS, 0) + 1)
    exchange = _exchange(BARS, clock, participation=0.4)
    order = exchange.place(
        client_order_id="now",
        side="SELL",
        order_type=OrderType.LIMIT,
        quantity=0.3,
        price=99.0,
        stop_price=None,
        time_in_force=TimeInForce.FOK,
    )
    assert (order.status, order.executed) == ("FILLED", 0.3)
    assert [(trade.price, trade.time_ms) for trade in exchange.trades()] == [
        (100.0, _open_ms(BARS, 0) + 1)
    ]


def test_a_limit_maker_rests_or_is_refused() -> None:
    exchange = _exchange(BARS, _Clock(_open_ms(BARS, 0)))  # the price now: 100
    with pytest.raises(ExchangeRefusalError, match="would immediately match") as refused:
        exchange.place(
            client_order_id="m1",
            side="BUY",
            order_type=OrderType.LIMIT_MAKER,
            quantity=0.1,
            price=100.0,
            stop_price=None,
        )
    assert refused.value.code == -2010
    maker = exchange.place(
        client_order_id="m2",
        side="BUY",
        order_type=OrderType.LIMIT_MAKER,
        quantity=0.1,
        price=99.5,
        stop_price=None,
    )
    assert maker.status == "NEW"
    assert exchange.balances()["USDT"] == pytest.approx((10_000.0 - 9.95, 9.95))


def test_only_limit_orders_take_ioc_or_fok() -> None:
    exchange = _exchange(BARS, _Clock(_open_ms(BARS, 0)))
    with pytest.raises(ExchangeRefusalError, match="'timeInForce' sent when not required"):
        exchange.place(
            client_order_id="m",
            side="BUY",
            order_type=OrderType.MARKET,
            quantity=0.1,
            price=None,
            stop_price=None,
            time_in_force=TimeInForce.IOC,
        )
