"""The sandbox's faults, as the real ccxt client meets them: refused requests are not processed,
a hang after acceptance leaves an order the client must look up by its client id, and random
faults follow their seed."""

from __future__ import annotations

import ccxt
import httpx
import pytest

from atb.venues.ccxt_binance import binance_client
from atb.venues.sandbox.faults import Fault, FaultPlan, parse_fault_rates
from tests.support.sandbox import KEY, SECRET, Sandbox


def _client(sandbox: Sandbox) -> ccxt.binance:
    client = binance_client(sandbox.server.url, api_key=KEY, secret=SECRET, timeout_s=0.5)
    client.load_markets()
    return client


def _buy(client: ccxt.binance, client_id: str) -> dict[str, object]:
    return client.create_order(
        "BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": client_id}
    )


@pytest.mark.parametrize(
    ("fault", "raised"),
    [
        (Fault.RATE_LIMITED, ccxt.DDoSProtection),
        (Fault.BANNED, ccxt.DDoSProtection),
        (Fault.SERVER_ERROR, ccxt.OperationFailed),
        (Fault.HANG, ccxt.RequestTimeout),
    ],
)
def test_a_refused_or_lost_request_places_nothing(
    sandbox: Sandbox, fault: Fault, raised: type[Exception]
) -> None:
    client = _client(sandbox)
    sandbox.server.faults.hang_s = 1.0
    sandbox.server.faults.arm(fault)
    with pytest.raises(raised):
        _buy(client, "atb-7-entry")
    with pytest.raises(ccxt.OrderNotFound, match="Order does not exist"):
        client.fetch_order("", "BTC/USDT", {"origClientOrderId": "atb-7-entry"})
    assert _buy(client, "atb-7-entry")["status"] == "closed"  # sending it now is safe


def test_after_a_lost_acknowledgement_the_order_is_found_by_its_client_id(
    sandbox: Sandbox,
) -> None:
    client = _client(sandbox)
    sandbox.server.faults.hang_s = 1.0
    sandbox.server.faults.arm(Fault.HANG_AFTER)
    with pytest.raises(ccxt.RequestTimeout):
        _buy(client, "atb-8-entry")
    found = client.fetch_order("", "BTC/USDT", {"origClientOrderId": "atb-8-entry"})
    assert found["status"] == "closed"
    assert found["filled"] == 0.01
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        _buy(client, "atb-8-entry")  # a blind resend would be refused, never filled twice
    assert len(client.fetch_my_trades("BTC/USDT")) == 1


def test_rate_limits_say_when_to_come_back(sandbox: Sandbox) -> None:
    sandbox.server.faults.retry_after_s = 7
    sandbox.server.faults.arm(Fault.RATE_LIMITED)
    sandbox.server.faults.arm(Fault.BANNED)
    with httpx.Client(base_url=sandbox.server.url) as http:
        limited = http.get("/api/v3/time")
        banned = http.get("/api/v3/time")
        fine = http.get("/api/v3/time")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.json()["code"] == -1003
    assert (banned.status_code, banned.headers["Retry-After"]) == (418, "7")
    assert fine.status_code == 200


def test_random_faults_follow_their_seed() -> None:
    rates = parse_fault_rates("429=0.2, 500=0.1,hang-after=0.05")
    assert rates == {Fault.RATE_LIMITED: 0.2, Fault.SERVER_ERROR: 0.1, Fault.HANG_AFTER: 0.05}
    first = FaultPlan(rates, seed=3)
    second = FaultPlan(rates, seed=3)
    drawn = [first.next_fault() for _ in range(200)]
    assert drawn == [second.next_fault() for _ in range(200)]
    assert 20 <= drawn.count(Fault.RATE_LIMITED) <= 60
    assert drawn.count(None) > 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("503=0.1", r"'503=0.1': expected FAULT=RATE with FAULT one of 429, 418, 500, hang"),
        ("429=2", r"'429=2': a rate is a probability from 0 to 1"),
        ("429", r"'429': expected FAULT=RATE"),
    ],
)
def test_bad_fault_rates_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault_rates(text)
