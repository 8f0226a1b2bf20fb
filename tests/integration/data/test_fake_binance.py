"""The fake exchange itself behaves like Binance (so tests built on it mean something)."""

from __future__ import annotations

import time

import httpx
import pandas as pd
import pytest

from tests.support.candle_frames import epoch_ms
from tests.support.fake_binance import KLINES, TIME, FakeBinance


def get(fake: FakeBinance, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{fake.url}{path}", params={k: str(v) for k, v in params.items()})


def test_klines_follow_binance_paging_semantics(fake: FakeBinance) -> None:
    start = epoch_ms("2024-01-01")
    page = get(fake, KLINES, symbol="BTCUSDT", interval="1h", startTime=start, limit=1000).json()
    assert len(page) == 1000
    assert page[0][0] == start
    assert page[0][6] == start + 3_600_000 - 1  # close time
    assert all(isinstance(value, str) for value in page[0][1:6])  # prices are strings
    assert page[1][0] - page[0][0] == 3_600_000
    bounded = get(
        fake, KLINES, symbol="BTCUSDT", interval="1h", startTime=start, endTime=start + 3_600_000
    ).json()
    assert [k[0] for k in bounded] == [start, start + 3_600_000]  # endTime is inclusive
    latest = get(fake, KLINES, symbol="BTCUSDT", interval="1h", limit=3).json()
    assert latest[-1][0] == epoch_ms("2024-01-01") + 2999 * 3_600_000
    assert len(latest) == 3


def test_bad_requests_get_binance_errors(fake: FakeBinance) -> None:
    assert get(fake, KLINES, symbol="NOPE", interval="1h").json()["code"] == -1121
    assert get(fake, KLINES, symbol="BTCUSDT", interval="5m").json()["code"] == -1120
    response = get(fake, KLINES, symbol="BTCUSDT", interval="1h", limit=1001)
    assert (response.status_code, response.json()["code"]) == (400, -1130)
    assert get(fake, "/api/v3/nothing").status_code == 404


def test_the_clock_hides_future_bars_and_serves_the_forming_one(
    fake: FakeBinance, candles: pd.DataFrame
) -> None:
    fake.set_clock(pd.Timestamp("2024-01-01 05:30", tz="UTC"))
    assert get(fake, "/api/v3/time").json() == {"serverTime": epoch_ms("2024-01-01 05:30")}
    page = get(fake, KLINES, symbol="BTCUSDT", interval="1h", startTime=0).json()
    assert [k[0] for k in page][-1] == epoch_ms("2024-01-01 05:00")
    forming, closed = page[-1], page[-2]
    assert float(closed[4]) == candles["close"].iloc[4]
    assert float(forming[5]) == candles["volume"].iloc[5] / 2  # half the hour has passed
    fake.advance(3_600_000)
    assert len(get(fake, KLINES, symbol="BTCUSDT", interval="1h", startTime=0).json()) == 7


def test_a_running_clock_moves_at_the_given_speed(fake: FakeBinance) -> None:
    fake.set_clock(epoch_ms("2024-01-01"), speed=3600.0)  # an hour per second
    first = fake.now_ms()
    import time

    time.sleep(0.05)
    assert fake.now_ms() - first >= 150_000


def test_faults_are_consumed_in_order_and_logged(fake: FakeBinance) -> None:
    fake.rate_limit(1, retry_after=7)
    fake.fail(1, status=503)
    fake.malformed_json(1)
    first = get(fake, "/api/v3/time")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert get(fake, "/api/v3/time").status_code == 503
    assert get(fake, "/api/v3/time").text.startswith("[[")
    assert get(fake, "/api/v3/time").status_code == 200
    assert [(r.status, r.fault) for r in fake.requests] == [
        (429, "rate_limit"),
        (503, "fail"),
        (200, "malformed_json"),
        (200, None),
    ]


def test_kline_faults_change_the_payload(fake: FakeBinance) -> None:
    params = {"symbol": "BTCUSDT", "interval": "1h", "startTime": 0, "limit": 3}
    fake.duplicate_klines()
    assert [k[0] for k in get(fake, KLINES, **params).json()] == [
        epoch_ms("2024-01-01 00:00"), epoch_ms("2024-01-01 00:00"),
        epoch_ms("2024-01-01 01:00"), epoch_ms("2024-01-01 01:00"),
        epoch_ms("2024-01-01 02:00"), epoch_ms("2024-01-01 02:00"),
    ]  # fmt: skip
    fake.shuffle_klines()
    shuffled = get(fake, KLINES, **params).json()
    assert shuffled[0][0] == epoch_ms("2024-01-01 02:00")
    fake.conflicting_klines()
    conflicting = get(fake, KLINES, **params).json()
    assert conflicting[0][0] == conflicting[1][0]
    assert conflicting[0][4] != conflicting[1][4]
    assert len(list(fake.kline_requests())) == 3


def test_a_hung_request_gets_no_answer_until_released(fake: FakeBinance) -> None:
    fake.hang(1, path=TIME)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{fake.url}{TIME}", timeout=0.3)
    (pending,) = fake.pending()
    assert (pending.path, pending.fault, pending.status) == (TIME, "hang", None)
    fake.release()
    deadline = time.monotonic() + 5
    while fake.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.pending() == []
    assert get(fake, TIME).json() == {"serverTime": fake.now_ms()}  # the fault was used up
