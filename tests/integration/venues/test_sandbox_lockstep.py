"""The sandbox in lockstep, through the real ccxt client: the replay clock moves one bar when a
client asks for the bar after the newest closed one, and stands still otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import ccxt
import httpx
import pytest

from atb.venues.ccxt_binance import binance_client
from tests.support.sandbox import HOUR_MS, KEY, SECRET, LockstepSandbox, running_lockstep_sandbox


@pytest.fixture
def lockstep() -> Iterator[LockstepSandbox]:
    """A lockstep sandbox at the open of bar 5 (see `tests.support.sandbox`)."""
    yield from running_lockstep_sandbox()


def _client(sandbox: LockstepSandbox) -> ccxt.binance:
    return binance_client(sandbox.server.url, api_key=KEY, secret=SECRET)


def test_asking_for_the_next_bar_moves_the_clock_for_the_next_request(
    lockstep: LockstepSandbox,
) -> None:
    client = _client(lockstep)
    history = client.fetch_ohlcv("BTC/USDT", "1h", since=lockstep.opened_ms(0))
    assert [row[0] for row in history] == [lockstep.opened_ms(i) for i in range(5)]
    assert client.fetch_time() == lockstep.opened_ms(5)  # asking for what exists moves nothing
    assert client.fetch_ohlcv("BTC/USDT", "1h", since=lockstep.opened_ms(5)) == []
    assert client.fetch_time() == lockstep.opened_ms(6)
    (row,) = client.fetch_ohlcv("BTC/USDT", "1h", since=lockstep.opened_ms(5))
    assert row == [
        lockstep.opened_ms(5), lockstep.bars[5].open, lockstep.bars[5].high,
        lockstep.bars[5].low, lockstep.bars[5].close, lockstep.bars[5].volume,
    ]  # fmt: skip
    time.sleep(0.3)  # nobody polls: time stands still
    assert client.fetch_time() == lockstep.opened_ms(6)


def test_a_client_that_finishes_each_bar_acts_inside_the_next(lockstep: LockstepSandbox) -> None:
    client = _client(lockstep)
    newest = 4
    fills = []
    for _ in range(3):
        since = lockstep.opened_ms(newest + 1)
        assert client.fetch_ohlcv("BTC/USDT", "1h", since=since) == []  # moves the clock
        assert len(client.fetch_ohlcv("BTC/USDT", "1h", since=since)) == 1
        newest += 1
        # Bar `newest` has closed: the order the client sends now fills at the next bar's open.
        order = client.create_order("BTC/USDT", "market", "buy", 0.001)
        fills.append(order["average"])
    assert fills == [lockstep.bars[i].open for i in (6, 7, 8)]
    assert lockstep.clock() == lockstep.opened_ms(8)


def test_clients_polling_at_once_move_the_clock_one_bar(lockstep: LockstepSandbox) -> None:
    params = {"symbol": "BTCUSDT", "interval": "1h", "startTime": str(lockstep.opened_ms(5))}
    answers: list[int] = []
    barrier = threading.Barrier(6)

    def poll() -> None:
        with httpx.Client(base_url=lockstep.server.url) as http:
            barrier.wait()
            answers.append(len(http.get("/api/v3/klines", params=params).json()))

    threads = [threading.Thread(target=poll) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lockstep.clock() == lockstep.opened_ms(6)
    assert sorted(answers)[0] == 0


def test_the_clock_stops_at_the_end_of_the_replay(lockstep: LockstepSandbox) -> None:
    last = len(lockstep.bars) - 1
    assert lockstep.clock.advance(10_000) == lockstep.opened_ms(last) + HOUR_MS
    client = _client(lockstep)
    assert client.fetch_ohlcv("BTC/USDT", "1h", since=lockstep.opened_ms(last) + HOUR_MS) == []
    assert lockstep.clock() == lockstep.opened_ms(last) + HOUR_MS
    (row,) = client.fetch_ohlcv("BTC/USDT", "1h", since=lockstep.opened_ms(last))
    assert row[0] == lockstep.opened_ms(last)
