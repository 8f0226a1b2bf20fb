"""How the sandbox matches resting orders against the bars from the one they were placed in:
bar by bar, each bar along its path open → low → high → close."""

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


def _open_ms(bars: list[Bar], index: int) -> int:
    return int(bars[index].time.timestamp() * 1000)


PLACED_MS = _open_ms(BARS, 0) + HOUR_MS // 2
"""Half-way through bar 0, where most tests place their orders."""


@pytest.mark.parametrize(
    ("side", "order_type", "price", "filled_at", "bar"),
    [
        ("SELL", OrderType.STOP_LOSS_LIMIT, 98.8, 98.8, 1),  # touched inside bar 1
        ("SELL", OrderType.STOP_LOSS_LIMIT, 98.0, 96.0, 2),  # gapped through: the open
        ("SELL", OrderType.TAKE_PROFIT_LIMIT, 105.0, 105.0, 3),
        ("BUY", OrderType.STOP_LOSS_LIMIT, 105.5, 105.5, 3),  # a buy stop triggers upwards
        ("BUY", OrderType.LIMIT, 97.0, 96.0, 2),  # a limit fills at the better open
        ("SELL", OrderType.LIMIT, 100.8, 100.8, 0),  # the bar it was placed in reaches 101
    ],
)
def test_resting_orders_fill_on_the_first_bar_that_reaches_them(
    side: str, order_type: OrderType, price: float, filled_at: float, bar: int
) -> None:
    clock = _Clock(PLACED_MS)
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
    # Just after the bar's open — or, in the bar it was placed in, when it was placed.
    assert trade.time_ms == max(_open_ms(BARS, bar) + 1, PLACED_MS)


def test_the_forming_bar_is_matched_whole_like_a_market_order_at_its_open() -> None:
    clock = _Clock(PLACED_MS)
    exchange = _exchange(BARS, clock)
    order = exchange.place(
        client_order_id="c1",
        side="SELL",
        order_type=OrderType.STOP_LOSS_LIMIT,
        quantity=0.1,
        price=99.5,
        stop_price=99.5,  # bar 0 goes down to 99: "now" is its open, 100, above the stop
    )
    assert exchange.order(order.order_id, None).status == "NEW"  # bar 0 is still forming
    clock.now = _open_ms(BARS, 1) + 1  # bar 0 closed, bar 1 forming
    assert exchange.order(order.order_id, None).status == "FILLED"
    (trade,) = exchange.trades()
    assert (trade.price, trade.time_ms) == (99.5, PLACED_MS)


PATH_BARS = _bars(
    (100.0, 101.0, 99.0, 100.0),
    (100.0, 104.0, 96.0, 103.0),  # 1: open 100 → low 96 → high 104 → close 103
)


def test_a_bar_fills_the_orders_it_reaches_in_path_order_low_before_high() -> None:
    opened = _open_ms(PATH_BARS, 1)
    clock = _Clock(opened)
    exchange = _exchange(PATH_BARS, clock)
    placed = [
        # (side, type, level): the distance along the path where bar 1 reaches the level
        ("SELL", OrderType.LIMIT, 103.0),  # 4 down, then 7 up: 11
        ("SELL", OrderType.STOP_LOSS_LIMIT, 97.0),  # 3 down
        ("BUY", OrderType.LIMIT, 98.0),  # 2 down
        ("BUY", OrderType.STOP_LOSS_LIMIT, 102.0),  # 4 down, then 6 up: 10
        ("SELL", OrderType.STOP_LOSS_LIMIT, 97.0),  # 3 down, as the second: after it
    ]
    for number, (side, order_type, level) in enumerate(placed, 1):
        exchange.place(
            client_order_id=f"c{number}",
            side=side,
            order_type=order_type,
            quantity=0.1,
            price=level,
            stop_price=None if order_type is OrderType.LIMIT else level,
        )
    clock.now = opened + HOUR_MS  # bar 1 closed
    trades = exchange.trades()
    assert [trade.order_id for trade in trades] == [3, 2, 5, 4, 1]
    assert [trade.price for trade in trades] == [98.0, 97.0, 97.0, 102.0, 103.0]
    assert [trade.time_ms for trade in trades] == [opened + rank for rank in range(1, 6)]
    assert [trade.trade_id for trade in trades] == [1, 2, 3, 4, 5]


def test_a_level_the_open_gaps_through_fills_first_at_the_open() -> None:
    clock = _Clock(PLACED_MS)
    exchange = _exchange(BARS, clock)
    for number, (order_type, level) in enumerate(
        [(OrderType.LIMIT, 95.5), (OrderType.STOP_LOSS_LIMIT, 98.0)], 1
    ):
        exchange.place(
            client_order_id=f"c{number}",
            side="BUY" if order_type is OrderType.LIMIT else "SELL",
            order_type=order_type,
            quantity=0.1,
            price=level,
            stop_price=None if order_type is OrderType.LIMIT else level,
        )
    clock.now = _open_ms(BARS, 3)  # bars 0-2 closed; bar 2 opens at 96, below the stop
    trades = exchange.trades()
    assert [(trade.order_id, trade.price) for trade in trades] == [(2, 96.0), (1, 95.5)]
    assert [trade.time_ms for trade in trades] == [
        _open_ms(BARS, 2) + 1,
        _open_ms(BARS, 2) + 2,
    ]


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
    clock = _Clock(PLACED_MS)
    exchange = _exchange(BARS, clock, participation=0.4)  # 0.4 BTC of each 1-BTC bar
    order = exchange.place(
        client_order_id="big",
        side="BUY",
        order_type=OrderType.LIMIT,
        quantity=1.0,
        price=100.0,
        stop_price=None,
    )
    clock.now = _open_ms(BARS, 1) + 1  # bar 0 closed: its open, 100, reached the limit
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
    clock = _Clock(PLACED_MS)
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
    assert [trade.price for trade in trades] == [100.0, 100.0, 96.0]  # the better open
    assert exchange.order(order.order_id, None).status == "FILLED"
    assert exchange.balances()["BTC"] == pytest.approx((0.0, 0.0))
