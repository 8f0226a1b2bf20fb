"""OCO order lists on the sandbox, through the real ccxt client: a stop and a target that share
one reservation, the leg that fills expiring the other, and cancels of a leg or the list."""

from __future__ import annotations

import ccxt
import pytest

from atb.venues.ccxt_binance import binance_client
from tests.support.sandbox import KEY, SECRET, Sandbox

TARGET, STOP, STOP_LIMIT = "46200.00", "45400.00", "45300.00"
"""Bar 7 (low 45,538.11, high 46,221.57) reaches the target; no bar before it the stop."""


@pytest.fixture
def client(sandbox: Sandbox) -> ccxt.binance:
    """A client holding 0.00999 BTC, bought at bar 5's open (45,823.91) with a 0.1 % fee."""
    client = binance_client(sandbox.server.url, api_key=KEY, secret=SECRET)
    client.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "entry"})
    return client


def _oco(client: ccxt.binance, **changes: str) -> dict[str, object]:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "quantity": "0.00999",
        "listClientOrderId": "exit-1",
        "aboveType": "LIMIT_MAKER",
        "abovePrice": TARGET,
        "aboveClientOrderId": "exit-1-tp",
        "belowType": "STOP_LOSS_LIMIT",
        "belowStopPrice": STOP,
        "belowPrice": STOP_LIMIT,
        "belowTimeInForce": "GTC",
        "belowClientOrderId": "exit-1-sl",
    }
    return client.privatePostOrderListOco({**params, **changes})


def _info(order: dict[str, object]) -> dict[str, object]:
    info = order["info"]
    assert isinstance(info, dict)
    return info


def test_the_target_fills_the_stop_expires_and_the_quantity_was_locked_once(
    sandbox: Sandbox, client: ccxt.binance
) -> None:
    placed = _oco(client)
    assert {key: placed[key] for key in ("contingencyType", "listStatusType", "listOrderStatus",
                                         "listClientOrderId", "symbol")} == {
        "contingencyType": "OCO", "listStatusType": "EXEC_STARTED",
        "listOrderStatus": "EXECUTING", "listClientOrderId": "exit-1", "symbol": "BTCUSDT",
    }  # fmt: skip
    # ccxt hands raw answers back with every number as a string.
    list_id = placed["orderListId"]
    assert list_id == "1"
    assert placed["transactionTime"] == str(sandbox.clock.now)
    assert placed["orders"] == [
        {"symbol": "BTCUSDT", "orderId": "2", "clientOrderId": "exit-1-sl"},
        {"symbol": "BTCUSDT", "orderId": "3", "clientOrderId": "exit-1-tp"},
    ]
    reports = placed["orderReports"]
    assert isinstance(reports, list)
    assert [(r["type"], r["status"], r["orderListId"]) for r in reports] == [
        ("STOP_LOSS_LIMIT", "NEW", list_id),
        ("LIMIT_MAKER", "NEW", list_id),
    ]
    assert client.fetch_balance()["BTC"] == {"free": 0.0, "used": 0.00999, "total": 0.00999}
    resting = client.fetch_open_orders("BTC/USDT")
    assert [(order["clientOrderId"], _info(order)["orderListId"]) for order in resting] == [
        ("exit-1-sl", list_id),
        ("exit-1-tp", list_id),
    ]

    sandbox.clock.now = sandbox.opened_ms(8) + 1  # bars 5-7 closed
    target = client.fetch_order("", "BTC/USDT", {"origClientOrderId": "exit-1-tp"})
    stop = client.fetch_order("2", "BTC/USDT")
    assert (target["status"], target["average"], target["filled"]) == ("closed", 46200.0, 0.00999)
    assert (stop["status"], stop["filled"]) == ("expired", 0.0)
    assert client.fetch_open_orders("BTC/USDT") == []
    balance = client.fetch_balance()
    assert balance["BTC"] == {"free": 0.0, "used": 0.0, "total": 0.0}
    usdt = balance["USDT"]
    assert isinstance(usdt, dict)
    assert usdt["used"] == 0.0
    assert usdt["free"] == pytest.approx(
        10_000.0 - 0.01 * 45823.91 + 0.00999 * 46200.0 * 0.999, abs=1e-8
    )
    entry, exit_ = client.fetch_my_trades("BTC/USDT")
    assert (_info(entry)["orderListId"], _info(exit_)["orderListId"]) == ("-1", "1")
    assert exit_["timestamp"] == sandbox.opened_ms(7) + 1
    done = client.privateGetOrderList({"orderListId": str(list_id)})
    assert (done["listStatusType"], done["listOrderStatus"]) == ("ALL_DONE", "ALL_DONE")
    assert "orderReports" not in done


def test_cancelling_one_leg_cancels_the_list(sandbox: Sandbox, client: ccxt.binance) -> None:
    placed = _oco(client)
    cancelled = client.cancel_order("3", "BTC/USDT")  # the target
    assert (cancelled["status"], cancelled["clientOrderId"]) == ("canceled", "exit-1-tp")
    assert client.fetch_order("2", "BTC/USDT")["status"] == "canceled"
    assert client.fetch_balance()["BTC"] == {"free": 0.00999, "used": 0.0, "total": 0.00999}
    listed = client.privateGetOrderList({"origClientOrderId": "exit-1"})
    assert (listed["orderListId"], listed["listStatusType"]) == (placed["orderListId"], "ALL_DONE")
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        client.privateDeleteOrderList({"symbol": "BTCUSDT", "listClientOrderId": "exit-1"})
    sandbox.clock.now = sandbox.opened_ms(20)  # the market reaches both levels: nothing fills
    assert [trade["order"] for trade in client.fetch_my_trades("BTC/USDT")] == ["1"]


def test_the_list_is_cancelled_whole_by_its_client_id(client: ccxt.binance) -> None:
    _oco(client)
    cancelled = client.privateDeleteOrderList({"symbol": "BTCUSDT", "listClientOrderId": "exit-1"})
    assert (cancelled["listStatusType"], cancelled["listOrderStatus"]) == ("ALL_DONE", "ALL_DONE")
    reports = cancelled["orderReports"]
    assert isinstance(reports, list)
    assert [report["status"] for report in reports] == ["CANCELED", "CANCELED"]
    assert client.fetch_balance()["BTC"] == {"free": 0.00999, "used": 0.0, "total": 0.00999}


@pytest.mark.parametrize(
    ("changes", "raised", "message"),
    [
        ({"abovePrice": "45800.00"}, ccxt.InvalidOrder, "Order would immediately match and take"),
        ({"belowStopPrice": "45900.00"}, ccxt.InvalidOrder, "Stop price would trigger"),
        ({"aboveType": "STOP_LOSS_LIMIT"}, ccxt.BadRequest, "'aboveStopPrice'"),
        ({"belowType": "LIMIT_MAKER"}, ccxt.BadRequest, "'belowStopPrice' sent when not"),
        ({"belowTimeInForce": "IOC"}, ccxt.BadRequest, "'belowTimeInForce'"),
        ({"aboveClientOrderId": "entry"}, ccxt.InvalidOrder, "Duplicate order sent"),
        ({"belowPrice": "45300.005"}, ccxt.InvalidOrder, "Filter failure: PRICE_FILTER"),
        ({"quantity": "0.0001"}, ccxt.BadRequest, "Filter failure: NOTIONAL"),
        ({"quantity": "0.01"}, ccxt.InsufficientFunds, "insufficient balance"),
    ],
)
def test_lists_are_refused_as_binance_refuses_them(
    client: ccxt.binance, changes: dict[str, str], raised: type[Exception], message: str
) -> None:
    with pytest.raises(raised, match=message):
        _oco(client, **changes)
    assert client.fetch_open_orders("BTC/USDT") == []
    assert client.fetch_balance()["BTC"] == {"free": 0.00999, "used": 0.0, "total": 0.00999}


def test_a_list_id_is_used_once_and_the_quantity_cannot_be_committed_twice(
    client: ccxt.binance,
) -> None:
    _oco(client)
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        _oco(client, aboveClientOrderId="other-tp", belowClientOrderId="other-sl")
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        _oco(client, listClientOrderId="exit-2", aboveClientOrderId="tp2", belowClientOrderId="sl2")
