"""`SpotClient` against the local exchange over HTTP, through the real ccxt client: the faults
an exchange really produces (429/418 with `Retry-After`, 500, hangs before and after the request
is processed, a skewed clock) are waited out, retried or measured away; a placement is never
sent twice; refusals are final and carry the exchange's words; a client that gives up says what
failed and never the secret (nor a signed request)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import ccxt
import pytest

from atb.managers.order_journal import JournalStatus
from atb.venues.ccxt_binance import binance_client
from atb.venues.exchange.spot_client import (
    ExchangeUnavailableError,
    OrderRefusedError,
    SpotClient,
)
from atb.venues.sandbox.faults import Fault
from atb.venues.sandbox.server import RequestSeen
from tests.support.sandbox import KEY, SECRET, Sandbox, running_sandbox

SYMBOL = "BTC/USDT"
Retries = list[tuple[str, str, float]]
"""What the client said before each retry: (what, why, wait in seconds)."""
FUNDED = {"BTC": 0.0, "USDT": 10_000.0}


class Waits:
    """The client's `wait`: records each requested wait instead of sleeping."""

    def __init__(self, *, stop: bool = False) -> None:
        self.seconds: list[float] = []
        self.stop = stop

    def __call__(self, seconds: float) -> bool:
        self.seconds.append(seconds)
        return self.stop


class Requests:
    """The exchange's observer: every request it processed but the client's market load (faults
    refused before processing or hung before it are not seen), as (method, path, client id)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: RequestSeen) -> bool:
        if not request.answered and request.path != "/api/v3/exchangeInfo":
            client_id = request.params.get("newClientOrderId") or request.params.get(
                "origClientOrderId", ""
            )
            with self._lock:
                self.seen.append((request.method, request.path, client_id))
        return False

    def placements(self, client_id: str) -> int:
        return self.seen.count(("POST", "/api/v3/order", client_id))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox a minute into bar 5 of nine days of DEMO candles, 10,000 USDT; short hangs."""
    for staged in running_sandbox():
        staged.server.faults.hang_s = 0.1
        yield staged


@pytest.fixture
def requests(sandbox: Sandbox) -> Requests:
    observer = Requests()
    sandbox.server.observer = observer
    return observer


def _client(
    sandbox: Sandbox,
    waits: Waits,
    *,
    timeout_s: float = 10.0,
    retries: list[tuple[str, str, float]] | None = None,
) -> SpotClient:
    exchange = binance_client(sandbox.server.url, api_key=KEY, secret=SECRET, timeout_s=timeout_s)
    exchange.load_markets()

    def told(what: str, why: str, wait: float) -> None:
        if retries is not None:
            retries.append((what, why, wait))

    return SpotClient(exchange, SYMBOL, wait=waits, on_retry=told)


@pytest.mark.parametrize("fault", [Fault.RATE_LIMITED, Fault.BANNED])
def test_a_rate_limit_is_waited_out_for_its_retry_after_then_retried(
    sandbox: Sandbox, fault: Fault
) -> None:
    waits, retries = Waits(), Retries()
    client = _client(sandbox, waits, retries=retries)
    sandbox.server.faults.retry_after_s = 3
    sandbox.server.faults.arm(fault)
    assert client.balances() == FUNDED
    assert waits.seconds == [3.0]
    ((what, why, wait),) = retries
    assert (what, wait) == ("read balances", 3.0)
    assert why.startswith(("Too many requests", "Way too many requests"))


def test_a_retry_after_shorter_than_the_backoff_waits_the_backoff(sandbox: Sandbox) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    sandbox.server.faults.retry_after_s = 0
    sandbox.server.faults.arm(Fault.RATE_LIMITED, 2)
    assert client.balances() == FUNDED
    assert waits.seconds == [0.2, 0.4]


def test_a_server_error_is_retried_after_a_backoff(sandbox: Sandbox) -> None:
    waits, retries = Waits(), Retries()
    client = _client(sandbox, waits, retries=retries)
    # A 500 also carries a Retry-After here; only a rate limit's is honoured.
    sandbox.server.faults.retry_after_s = 9
    sandbox.server.faults.arm(Fault.SERVER_ERROR, 2)
    assert client.open_orders() == []
    assert waits.seconds == [0.2, 0.4]
    assert [why for _what, why, _wait in retries] == [
        "An unknown error occurred while processing the request."
    ] * 2


def test_a_dropped_connection_after_a_rate_limit_waits_its_own_backoff(sandbox: Sandbox) -> None:
    """The headers of the last answer are the 429's: a hang that follows has none of its own."""
    waits = Waits()
    client = _client(sandbox, waits)
    sandbox.server.faults.retry_after_s = 5
    sandbox.server.faults.arm(Fault.RATE_LIMITED)
    sandbox.server.faults.arm(Fault.HANG)
    assert client.balances() == FUNDED
    assert waits.seconds == [5.0, 0.4]


@pytest.mark.parametrize(
    ("hang_s", "timeout_s"),
    [(0.1, 10.0), (0.8, 0.3)],
    ids=["connection-dropped", "timed-out"],
)
def test_a_placement_whose_answer_is_lost_is_looked_up_not_sent_again(
    sandbox: Sandbox, requests: Requests, hang_s: float, timeout_s: float
) -> None:
    waits = Waits()
    client = _client(sandbox, waits, timeout_s=timeout_s)
    sandbox.server.faults.hang_s = hang_s
    sandbox.server.faults.arm(Fault.HANG_AFTER)
    order = client.place("atb-t-o1", "buy", "market", 0.01)
    assert (order.client_id, order.status, order.filled) == ("atb-t-o1", JournalStatus.FILLED, 0.01)
    assert requests.placements("atb-t-o1") == 1
    assert requests.seen[-1] == ("GET", "/api/v3/order", "atb-t-o1")  # the lookup found it
    assert waits.seconds == []
    held = sandbox.exchange.order(None, "atb-t-o1")
    assert held.order_id == int(order.exchange_id)
    assert [trade.order_id for trade in sandbox.exchange.trades()] == [held.order_id]
    assert sandbox.exchange.balances()["BTC"][0] == pytest.approx(0.01 * 0.999)


def test_a_placement_never_processed_is_looked_up_then_sent_again(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    sandbox.server.faults.arm(Fault.HANG)
    order = client.place("atb-t-o2", "buy", "market", 0.01)
    assert (order.status, order.filled) == (JournalStatus.FILLED, 0.01)
    assert requests.seen == [
        ("GET", "/api/v3/order", "atb-t-o2"),  # not there: it never arrived
        ("POST", "/api/v3/order", "atb-t-o2"),  # so it is sent again, once
    ]
    assert waits.seconds == [0.2]
    assert len(sandbox.exchange.trades()) == 1


def test_a_rate_limited_placement_is_sent_again_without_a_lookup(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    sandbox.server.faults.arm(Fault.RATE_LIMITED)
    order = client.place("atb-t-o3", "buy", "market", 0.01)
    assert order.status is JournalStatus.FILLED
    assert requests.seen == [("POST", "/api/v3/order", "atb-t-o3")]
    assert waits.seconds == [1.0]


def test_a_placement_whose_fate_cannot_be_learned_is_not_sent_blind(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    sandbox.server.faults.arm(Fault.SERVER_ERROR, 1 + 6)  # the send, then every lookup
    with pytest.raises(ExchangeUnavailableError) as raised:
        client.place("atb-t-o4", "buy", "market", 0.01)
    assert str(raised.value) == (
        "could not look up atb-t-o4: the exchange kept failing after 6 attempts (An unknown "
        "error occurred while processing the request.)"
    )
    assert requests.seen == []
    assert client.place("atb-t-o4", "buy", "market", 0.01).status is JournalStatus.FILLED
    assert requests.placements("atb-t-o4") == 1


def test_insufficient_balance_is_refused_with_the_exchanges_words(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    with pytest.raises(OrderRefusedError) as raised:
        client.place("atb-t-o5", "buy", "market", 1.0)  # ~45,800 USDT of 10,000
    assert str(raised.value) == "Account has insufficient balance for requested action."
    assert requests.placements("atb-t-o5") == 1
    assert waits.seconds == []
    assert sandbox.exchange.trades() == []


def test_a_filter_failure_is_refused_with_the_filter_named(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    with pytest.raises(OrderRefusedError) as raised:
        client.place("atb-t-o6", "buy", "market", 0.0001)  # ~4.6 USDT, below the 5 minimum
    assert str(raised.value) == "Filter failure: NOTIONAL"
    assert requests.placements("atb-t-o6") == 1
    assert waits.seconds == []


def test_cancelling_an_order_that_filled_first_returns_its_fill(sandbox: Sandbox) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    # A buy below bar 5's open and above its low: resting when placed, filled by bar 5.
    resting = client.place("atb-t-o7", "buy", "limit", 0.01, price=45_700.0)
    assert (resting.status, resting.filled) == (JournalStatus.OPEN, 0.0)
    sandbox.clock.now = sandbox.opened_ms(6) + 60_000
    cancelled = client.cancel("atb-t-o7")
    assert cancelled is not None
    assert (cancelled.status, cancelled.filled) == (JournalStatus.FILLED, 0.01)
    assert cancelled.exchange_id == resting.exchange_id
    assert [trade.price for trade in sandbox.exchange.trades()] == [45_700.0]
    assert client.cancel("atb-t-never") is None  # never sent: the exchange never had it


def test_cancelling_a_resting_order_whose_answer_is_lost_cancels_it_once(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    client.place("atb-t-o8", "buy", "limit", 0.01, price=45_000.0)
    sandbox.server.faults.arm(Fault.HANG_AFTER)
    cancelled = client.cancel("atb-t-o8")
    assert cancelled is not None
    assert cancelled.status is JournalStatus.CANCELLED
    assert requests.seen.count(("DELETE", "/api/v3/order", "atb-t-o8")) == 2  # -2011 the 2nd
    assert sandbox.exchange.balances()["USDT"] == (10_000.0, 0.0)


@pytest.mark.parametrize("skew_ms", [60_000, -60_000, 250_000])
def test_a_skewed_exchange_clock_is_measured_and_the_call_succeeds(
    sandbox: Sandbox, requests: Requests, skew_ms: int
) -> None:
    """`/api/v3/time` is the replay clock here, so the offset is searched for with signed
    probes; afterwards every request passes without another measurement."""
    waits, retries = Waits(), Retries()
    client = _client(sandbox, waits, retries=retries)
    sandbox.server.clock_skew_ms = skew_ms
    assert client.balances() == FUNDED
    assert retries == [
        ("read balances", "Timestamp for this request is outside of the recvWindow.", 0.0)
    ]
    assert waits.seconds == []
    difference = client.exchange.options["timeDifference"]
    assert isinstance(difference, int)
    # Stamped inside the window: up to 10 s behind the exchange's clock, never 1 s ahead.
    assert -skew_ms - 1_000 < difference < -skew_ms + 10_000
    probes = requests.seen.count(("GET", "/api/v3/openOrders", ""))
    assert probes <= 1 + 11 + 7  # the measured offset, a bracket, the halvings
    seen = len(requests.seen)
    assert client.open_orders() == []
    assert client.place("atb-t-o9", "buy", "market", 0.01).status is JournalStatus.FILLED
    assert len(requests.seen) == seen + 2
    assert len(retries) == 1


def test_an_exchange_whose_time_is_its_clock_is_measured_in_one_request(
    sandbox: Sandbox, requests: Requests
) -> None:
    """As Binance: `/api/v3/time` tells the exchange's clock, one probe confirms it."""
    waits, retries = Waits(), Retries()
    client = _client(sandbox, waits, retries=retries)
    sandbox.server.clock_skew_ms = 45_000
    sandbox.clock.now = int(time.time() * 1000) + 45_000
    assert client.balances() == FUNDED
    assert len(retries) == 1
    assert requests.seen == [
        ("GET", "/api/v3/account", ""),  # refused: -1021
        ("GET", "/api/v3/time", ""),
        ("GET", "/api/v3/openOrders", ""),  # the measured offset passes
        ("GET", "/api/v3/account", ""),
    ]


def test_retries_exhausted_name_what_failed_and_never_the_secret(sandbox: Sandbox) -> None:
    waits, retries = Waits(), Retries()
    client = _client(sandbox, waits, retries=retries)
    sandbox.server.faults.arm(Fault.SERVER_ERROR, 6)
    with pytest.raises(ExchangeUnavailableError) as raised:
        client.balances()
    assert str(raised.value) == (
        "could not read balances: the exchange kept failing after 6 attempts (An unknown error "
        "occurred while processing the request.)"
    )
    assert waits.seconds == [0.2, 0.4, 0.8, 1.6, 3.2]  # no wait after the last attempt
    assert client.balances() == FUNDED  # the exchange is back


def test_a_hung_exchange_is_named_by_path_without_the_signed_query(sandbox: Sandbox) -> None:
    waits, retries = Waits(), Retries()
    client = _client(sandbox, waits, retries=retries)
    sandbox.server.faults.arm(Fault.HANG, 1 + 6)  # the send, then every lookup
    with pytest.raises(ExchangeUnavailableError) as raised:
        client.place("atb-t-o10", "sell", "market", 0.5)
    message = str(raised.value)
    assert message.startswith(
        "could not look up atb-t-o10: the exchange kept failing after 6 attempts (no answer: "
        "GET /api/v3/order ("
    )
    said = message + "".join(why for _what, why, _wait in retries)
    for secret in (SECRET, KEY, "signature", "timestamp", "?"):
        assert secret not in said
    assert [what for what, _why, _wait in retries] == ["look up atb-t-o10"] * 5


def test_a_placement_rate_limited_every_time_gives_up_without_sending(
    sandbox: Sandbox, requests: Requests
) -> None:
    waits = Waits()
    client = _client(sandbox, waits)
    sandbox.server.faults.retry_after_s = 0
    sandbox.server.faults.arm(Fault.RATE_LIMITED, 6)
    with pytest.raises(ExchangeUnavailableError, match=r"^could not send atb-t-o11: .* 6 "):
        client.place("atb-t-o11", "buy", "market", 0.01)
    assert requests.seen == []
    assert SECRET not in str(waits.seconds)


def test_a_stop_request_ends_the_retries(sandbox: Sandbox) -> None:
    waits = Waits(stop=True)
    client = _client(sandbox, waits)
    sandbox.server.faults.arm(Fault.SERVER_ERROR)
    with pytest.raises(ExchangeUnavailableError, match="could not read balances: stopped"):
        client.balances()
    assert waits.seconds == [0.2]


def test_a_wrong_secret_is_refused_without_quoting_it(sandbox: Sandbox) -> None:
    exchange = binance_client(sandbox.server.url, api_key=KEY, secret="not-the-secret-5ec")
    exchange.load_markets()
    client = SpotClient(exchange, SYMBOL, wait=Waits())
    with pytest.raises(OrderRefusedError) as raised:
        client.balances()
    assert str(raised.value) == (
        "the exchange refused the API key (check ATB_API_KEY/ATB_API_SECRET or the key file, "
        "and the key's permissions)"
    )


def test_ccxt_maps_the_exchange_refusals_the_client_relies_on(sandbox: Sandbox) -> None:
    """The mapping the client's sorting rests on (a ccxt upgrade that changes it fails here)."""
    exchange = binance_client(sandbox.server.url, api_key=KEY, secret=SECRET)
    exchange.load_markets()
    sandbox.server.faults.arm(Fault.SERVER_ERROR)
    with pytest.raises(ccxt.OperationFailed) as raised:
        exchange.fetch_balance()
    assert not isinstance(raised.value, (ccxt.NetworkError, ccxt.ExchangeError))
