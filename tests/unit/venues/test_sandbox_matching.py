"""How the sandbox matches resting orders against the bars after they were placed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
from atb.venues.sandbox.exchange import ExchangeRefusalError, OrderType, SandboxExchange

START = datetime(2025, 1, 1, tzinfo=UTC)
HOUR_MS = 3_600_000


def _bars(*rows: tuple[float, float, float, float]) -> list[Bar]:
    return [
        Bar(START + timedelta(hours=i), o, h, low, c, 1.0) for i, (o, h, low, c) in enumerate(rows)
    ]


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _exchange(
    bars: list[Bar], clock: _Clock, participation: float | None = None
) -> SandboxExchange:
    return SandboxExchange(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        instrument=Instrument("BTCUSDT", 0.01, 0.001, 5.0),
        bars=bars,
        bar_ms=HOUR_MS,
        balances={"USDT": 10_000.0, "BTC": 1.0},
        now_ms=clock,
        fee_rate=0.0,
        participation=participation,
    )


BARS = _bars(
    (100.0, 101.0, 99.0, 100.0),  # 0: placed in here
    (100.0, 100.5, 98.5, 99.0),  # 1
    (96.0, 97.0, 95.0, 96.5),  # 2: gaps below 98 at the open
    (97.0, 106.0, 96.0, 105.0),  # 3: reaches 105
    (105.0, 105.0, 104.0, 104.5),  # 4
)


@pytest.mark.parametrize(
    ("side", "order_type", "price", "filled_at", "bar"),
    [
        ("SELL", OrderType.STOP_LOSS_LIMIT, 98.8, 98.8, 1),  # touched inside bar 1
        ("SELL", OrderType.STOP_LOSS_LIMIT, 98.0, 96.0, 2),  # gapped through: the open
        ("SELL", OrderType.TAKE_PROFIT_LIMIT, 105.0, 105.0, 3),
        ("BUY", OrderType.STOP_LOSS_LIMIT, 105.5, 105.5, 3),  # a buy stop triggers upwards
        ("BUY", OrderType.LIMIT, 97.0, 96.0, 2),  # a limit fills at the better open
        ("SELL", OrderType.LIMIT, 100.4, 100.4, 1),
    ],
)
def test_resting_orders_fill_on_the_first_bar_that_reaches_them(
    side: str, order_type: OrderType, price: float, filled_at: float, bar: int
) -> None:
    clock = _Clock(HOUR_MS // 2 + int(START.timestamp() * 1000))
    exchange = _exchange(BARS, clock)
    order = exchange.place(
        client_order_id="c1",
        side=side,
        order_type=order_type,
        quantity=0.1,
        price=price,
        stop_price=None if order_type is OrderType.LIMIT else price,
    )
    clock.now += 10 * HOUR_MS
    assert exchange.order(order.order_id, None).status == "FILLED"
    (trade,) = exchange.trades()
    assert trade.price == filled_at
    assert trade.time_ms == int(BARS[bar].time.timestamp() * 1000) + HOUR_MS - 1


def test_the_bar_an_order_was_placed_in_is_never_matched() -> None:
    clock = _Clock(HOUR_MS // 2 + int(START.timestamp() * 1000))
    exchange = _exchange(BARS, clock)
    exchange.place(
        client_order_id="c1",
        side="SELL",
        order_type=OrderType.STOP_LOSS_LIMIT,
        quantity=0.1,
        price=99.5,
        stop_price=99.5,  # bar 0's low (99) reached it before the order existed
    )
    clock.now = int(BARS[1].time.timestamp() * 1000) + 1  # bar 0 closed, bar 1 forming
    assert exchange.open_orders()[0].status == "NEW"


def test_reservations_refuse_what_the_account_cannot_pay() -> None:
    clock = _Clock(int(START.timestamp() * 1000))
    exchange = _exchange(BARS, clock)
    with pytest.raises(ExchangeRefusalError, match="insufficient balance") as refused:
        exchange.place(
            client_order_id="c1",
            side="SELL",
            order_type=OrderType.LIMIT,
            quantity=1.5,
            price=120.0,
            stop_price=None,
        )
    assert refused.value.code == -2010
    with pytest.raises(ExchangeRefusalError, match="Filter failure: PRICE_FILTER"):
        exchange.place(
            client_order_id="c2",
            side="SELL",
            order_type=OrderType.LIMIT,
            quantity=0.5,
            price=120.005,
            stop_price=None,
        )
    assert exchange.balances() == {"BTC": (1.0, 0.0), "USDT": (10_000.0, 0.0)}


def test_a_large_resting_order_fills_in_parts_by_its_share_of_each_bar() -> None:
    clock = _Clock(HOUR_MS // 2 + int(START.timestamp() * 1000))
    exchange = _exchange(BARS, clock, participation=0.4)  # 0.4 BTC of each 1-BTC bar
    order = exchange.place(
        client_order_id="big",
        side="BUY",
        order_type=OrderType.LIMIT,
        quantity=1.0,
        price=100.0,
        stop_price=None,
    )
    clock.now = int(BARS[2].time.timestamp() * 1000) + 1  # bar 1 closed
    assert exchange.order(order.order_id, None).status == "PARTIALLY_FILLED"
    assert exchange.order(order.order_id, None).executed == pytest.approx(0.4)
    assert exchange.balances()["USDT"] == pytest.approx((10_000.0 - 100.0, 60.0))
    cancelled = exchange.cancel(order.order_id, None)  # the rest goes back, the part stays
    assert cancelled.status == "CANCELED"
    assert exchange.balances() == {
        "BTC": pytest.approx((1.4, 0.0)),
        "USDT": pytest.approx((10_000.0 - 40.0, 0.0)),
    }
    assert [trade.quantity for trade in exchange.trades()] == [pytest.approx(0.4)]


def test_parts_continue_bar_after_bar_until_filled() -> None:
    clock = _Clock(HOUR_MS // 2 + int(START.timestamp() * 1000))
    exchange = _exchange(BARS, clock, participation=0.4)
    order = exchange.place(
        client_order_id="big",
        side="SELL",
        order_type=OrderType.LIMIT,
        quantity=1.0,
        price=96.0,  # every later bar reaches it
        stop_price=None,
    )
    clock.now += 10 * HOUR_MS
    trades = exchange.trades()
    assert [round(trade.quantity, 3) for trade in trades] == [0.4, 0.4, 0.2]
    assert [trade.price for trade in trades] == [100.0, 96.0, 97.0]  # the better open
    assert exchange.order(order.order_id, None).status == "FILLED"
    assert exchange.balances()["BTC"] == pytest.approx((0.0, 0.0))
