"""The local exchange, driven through the real ccxt client over HTTP on 127.0.0.1 (and atb's
own market-data client): fills, fees, balances, a resting stop the exchange fills while the
client is away, duplicate client ids, filters, funds, signatures and clocks."""

from __future__ import annotations

import ccxt
import pytest

from atb.data.binance import BinanceClient
from atb.venues.ccxt_binance import binance_client
from atb.venues.sandbox.server import SandboxServer
from tests.support.sandbox import KEY, SECRET, Sandbox


def _client(sandbox: Sandbox, secret: str = SECRET) -> ccxt.binance:
    return binance_client(sandbox.server.url, api_key=KEY, secret=secret)


def test_markets_carry_the_instrument_rules(sandbox: Sandbox) -> None:
    markets = _client(sandbox).load_markets()
    assert list(markets) == ["BTC/USDT"]
    market = markets["BTC/USDT"]
    assert market["precision"] == {"amount": 1e-05, "price": 0.01, "base": 1e-08, "quote": 1e-08}
    limits = market["limits"]
    assert isinstance(limits, dict)
    assert limits["cost"] == {"min": 5.0, "max": 900000000.0}


def test_a_market_buy_fills_at_the_forming_bar_open_with_the_fee_in_base(
    sandbox: Sandbox,
) -> None:
    client = _client(sandbox)
    order = client.create_order(
        "BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "atb-1-entry"}
    )
    assert order["status"] == "closed"
    assert order["clientOrderId"] == "atb-1-entry"
    assert order["filled"] == 0.01
    assert order["average"] == sandbox.bars[5].open
    assert order["fee"] == {"currency": "BTC", "cost": 1e-05}
    balance = client.fetch_balance()
    assert balance["BTC"] == {"free": 0.00999, "used": 0.0, "total": 0.00999}
    usdt = balance["USDT"]
    assert isinstance(usdt, dict)
    assert usdt["free"] == pytest.approx(10_000.0 - 0.01 * sandbox.bars[5].open, abs=1e-8)


def test_a_client_id_is_never_filled_twice(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    client.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "atb-1"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        client.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "atb-1"})
    assert len(client.fetch_my_trades("BTC/USDT")) == 1
    looked_up = client.fetch_order("", "BTC/USDT", {"origClientOrderId": "atb-1"})
    assert looked_up["status"] == "closed"


def test_a_resting_stop_is_filled_by_the_exchange_while_the_client_is_away(
    sandbox: Sandbox,
) -> None:
    client = _client(sandbox)
    client.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "e"})
    stop = round(sandbox.bars[5].open * 0.99, 2)
    placed = client.create_order(
        "BTC/USDT", "STOP_LOSS_LIMIT", "sell", 0.00999, stop, {"stopPrice": stop}
    )
    assert placed["status"] == "open"
    assert client.fetch_balance()["BTC"] == {"free": 0.0, "used": 0.00999, "total": 0.00999}
    # Nobody calls for two days; then the client comes back and looks.
    sandbox.clock.now = sandbox.opened_ms(len(sandbox.bars) - 1)
    # From the bar it was placed in (5) on: "now" was that bar's open.
    first = next(i for i in range(5, len(sandbox.bars)) if sandbox.bars[i].low <= stop)
    order_id = placed["id"]
    assert isinstance(order_id, str)
    after = client.fetch_order(order_id, "BTC/USDT")
    assert after["status"] == "closed"
    assert after["average"] == min(stop, sandbox.bars[first].open)
    trades = client.fetch_my_trades("BTC/USDT")
    assert [trade["side"] for trade in trades] == ["buy", "sell"]
    assert first > 5
    assert trades[1]["timestamp"] == sandbox.opened_ms(first) + 1  # the first fill of its bar
    assert client.fetch_open_orders("BTC/USDT") == []


def test_cancelling_releases_the_reservation_and_unknown_orders_are_named(
    sandbox: Sandbox,
) -> None:
    client = _client(sandbox)
    low = round(sandbox.bars[5].open * 0.5, 2)
    resting = client.create_order("BTC/USDT", "limit", "buy", 0.01, low)
    usdt = client.fetch_balance()["USDT"]
    assert isinstance(usdt, dict)
    assert usdt["used"] == pytest.approx(0.01 * low)
    order_id = resting["id"]
    assert isinstance(order_id, str)
    assert client.cancel_order(order_id, "BTC/USDT")["status"] == "canceled"
    assert client.fetch_balance()["USDT"] == {"free": 10_000.0, "used": 0.0, "total": 10_000.0}
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        client.cancel_order(order_id, "BTC/USDT")


def test_filters_and_funds_are_refused_as_binance_does(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
        client.create_order("BTC/USDT", "market", "buy", 0.0001)
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        client.create_order("BTC/USDT", "market", "buy", 1.0)
    assert client.fetch_my_trades("BTC/USDT") == []


def test_a_wrong_secret_and_a_skewed_clock_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="Signature for this request"):
        _client(sandbox, secret="wrong").fetch_balance()
    skewed = SandboxServer(
        sandbox.exchange, api_key=KEY, secret=SECRET, wall_ms=lambda: 1_000
    ).start()
    try:
        client = binance_client(skewed.url, api_key=KEY, secret=SECRET)
        with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
            client.fetch_balance()
    finally:
        skewed.stop()


def test_atb_reads_closed_candles_from_it(sandbox: Sandbox) -> None:
    with BinanceClient(sandbox.server.url) as data:
        assert data.server_time_ms() == sandbox.clock.now
        candles = data.fetch_klines("BTCUSDT", "1h", sandbox.opened_ms(0), sandbox.opened_ms(10))
    frame = candles.frame
    # Bars 0-4 are closed; bar 5 is forming and never handed out.
    assert len(frame) == 5
    assert float(frame["close"].iloc[-1]) == sandbox.bars[4].close


def test_a_partial_fill_reads_as_open_with_its_filled_part(sandbox: Sandbox) -> None:
    sandbox.exchange.participation = 1e-5  # ~0.015 BTC of a ~1,500 BTC DEMO bar
    client = _client(sandbox)
    above = round(sandbox.bars[5].open * 1.2, 2)  # marketable: fills at each bar's open
    order = client.create_order("BTC/USDT", "limit", "buy", 0.05, above)
    sandbox.clock.now = sandbox.opened_ms(6) + 1  # bar 5, the one it was placed in, closed
    order_id = order["id"]
    assert isinstance(order_id, str)
    seen = client.fetch_order(order_id, "BTC/USDT")
    part = sandbox.exchange.instrument.round_quantity(1e-5 * sandbox.bars[5].volume)
    assert seen["status"] == "open"
    assert seen["filled"] == pytest.approx(part)
    assert seen["remaining"] == pytest.approx(0.05 - part)
    assert [trade["price"] for trade in client.fetch_my_trades("BTC/USDT")] == [
        sandbox.bars[5].open
    ]


@pytest.mark.parametrize(
    ("time_in_force", "status", "filled"),
    [("IOC", "expired", 0.02236), ("FOK", "expired", 0.0), ("GTC", "open", 0.0)],
)
def test_ioc_and_fok_limits_settle_at_the_open_now_and_never_rest(
    sandbox: Sandbox, time_in_force: str, status: str, filled: float
) -> None:
    sandbox.exchange.participation = 1e-5  # 0.02236 BTC of bar 5's 2,236 BTC
    client = _client(sandbox)
    above = round(sandbox.bars[5].open * 1.01, 2)  # marketable at the open, 45,823.91
    order = client.create_order(
        "BTC/USDT", "limit", "buy", 0.05, above, {"timeInForce": time_in_force}
    )
    assert (order["status"], order["filled"]) == (status, filled)
    info = order["info"]
    assert isinstance(info, dict)
    assert info["timeInForce"] == time_in_force
    if time_in_force != "GTC":
        assert client.fetch_open_orders("BTC/USDT") == []
        usdt = client.fetch_balance()["USDT"]
        assert isinstance(usdt, dict)
        assert usdt["used"] == 0.0
        assert usdt["free"] == pytest.approx(10_000.0 - filled * sandbox.bars[5].open, abs=1e-8)


def test_an_ioc_limit_that_is_not_marketable_expires_unfilled(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    below = round(sandbox.bars[5].open * 0.99, 2)
    order = client.create_order("BTC/USDT", "limit", "buy", 0.01, below, {"timeInForce": "IOC"})
    assert (order["status"], order["filled"]) == ("expired", 0.0)
    filled = client.create_order(
        "BTC/USDT", "limit", "buy", 0.01, round(sandbox.bars[5].open * 1.01, 2),
        {"timeInForce": "FOK"},
    )  # fmt: skip
    assert (filled["status"], filled["average"]) == ("closed", sandbox.bars[5].open)


@pytest.mark.parametrize("skew_ms", [60_000, -60_000])
def test_a_skewed_server_clock_is_met_by_the_clients_time_difference(
    sandbox: Sandbox, skew_ms: int
) -> None:
    skewed = SandboxServer(
        sandbox.exchange, api_key=KEY, secret=SECRET, clock_skew_ms=skew_ms
    ).start()
    try:
        client = binance_client(skewed.url, api_key=KEY, secret=SECRET)
        with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
            client.fetch_balance()
        # ccxt signs `milliseconds() - timeDifference`: the server's clock, once corrected.
        client.options["timeDifference"] = -skew_ms
        usdt = client.fetch_balance()["USDT"]
        assert usdt == {"free": 10_000.0, "used": 0.0, "total": 10_000.0}
    finally:
        skewed.stop()
