"""BinanceClient against the real fake server: paging, faults, the forming candle."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from atb.data.binance import (
    DEFAULT_BINANCE_URL,
    BinanceClient,
    RetryPolicy,
    closed_end_ms,
    resolve_base_url,
)
from atb.data.stop_token import StopRequested, StopToken
from atb.domain.errors import DataError
from tests.support.candle_frames import epoch_ms
from tests.support.fake_binance import KLINES, TIME, FakeBinance
from tests.support.retry import FAST_RETRIES, RecordingSleeper

START = epoch_ms("2024-01-01")
END = epoch_ms("2024-01-01") + 3000 * 3_600_000


def fetch_all(client: BinanceClient) -> pd.DataFrame:
    return client.fetch_klines("BTCUSDT", "1h", START, END).frame


def test_pages_through_a_long_range_1000_bars_at_a_time(
    client: BinanceClient, fake: FakeBinance, candles: pd.DataFrame
) -> None:
    progress: list[int] = []
    result = client.fetch_klines("btcusdt", "1h", START, END, progress=progress.append)
    pd.testing.assert_frame_equal(result.frame, candles, check_freq=False)
    requests = list(fake.kline_requests())
    assert [r.params["limit"] for r in requests] == ["1000"] * 3
    assert [int(r.params["startTime"]) for r in requests] == [
        START, START + 1000 * 3_600_000, START + 2000 * 3_600_000,
    ]  # fmt: skip
    assert sum(progress) == 3000
    assert "binance BTCUSDT 1h" in result.source


def test_the_still_forming_candle_is_dropped(
    client: BinanceClient, fake: FakeBinance, candles: pd.DataFrame
) -> None:
    fake.set_clock(pd.Timestamp("2024-01-02 10:30", tz="UTC"))
    result = client.fetch_klines("BTCUSDT", "1h", START, END)
    assert result.last == pd.Timestamp("2024-01-02 09:00", tz="UTC")
    pd.testing.assert_frame_equal(result.frame, candles.iloc[:34], check_freq=False)
    # One more hour: the 10:00 bar has closed and arrives with its final values.
    fake.advance(3_600_000)
    later = client.fetch_klines("BTCUSDT", "1h", START, END)
    pd.testing.assert_frame_equal(later.frame, candles.iloc[:35], check_freq=False)


def test_the_forming_candle_is_dropped_even_if_the_server_serves_it(
    client: BinanceClient, fake: FakeBinance
) -> None:
    # The server time passed in is older than the server's clock: the server serves 05:00 as
    # closed and 06:00 as forming, but by our snapshot only bars before 05:00 had closed.
    fake.set_clock(pd.Timestamp("2024-01-01 06:30", tz="UTC"))
    snapshot = epoch_ms("2024-01-01 05:59")
    result = client.fetch_klines("BTCUSDT", "1h", START, END, server_time_ms=snapshot)
    assert result.last == pd.Timestamp("2024-01-01 04:00", tz="UTC")
    assert closed_end_ms(snapshot, "1h") == epoch_ms("2024-01-01 05:00")


def test_rate_limits_wait_for_retry_after(
    client: BinanceClient, fake: FakeBinance, sleeper: RecordingSleeper, candles: pd.DataFrame
) -> None:
    fake.rate_limit(2, retry_after=3, path=KLINES)
    fake.rate_limit(1, retry_after=5, status=418, path=KLINES)
    pd.testing.assert_frame_equal(fetch_all(client), candles, check_freq=False)
    assert sleeper.waits == [3.0, 3.0, 5.0]
    assert [r.status for r in fake.kline_requests()][:4] == [429, 429, 418, 200]


def test_a_rate_limit_without_retry_after_backs_off(
    client: BinanceClient, fake: FakeBinance, sleeper: RecordingSleeper
) -> None:
    fake.rate_limit(1, retry_after=None, path=TIME)
    assert client.server_time_ms() == fake.now_ms()
    assert len(sleeper.waits) == 1
    assert 0.005 <= sleeper.waits[0] <= 0.01


def test_a_long_ban_is_a_clear_error_without_waiting(
    client: BinanceClient, fake: FakeBinance, sleeper: RecordingSleeper
) -> None:
    fake.rate_limit(1, retry_after=7200, status=418)
    with pytest.raises(DataError, match=r"HTTP 418, the exchange asks to wait 7200 s"):
        fetch_all(client)
    assert sleeper.waits == []


def test_server_errors_are_retried_with_growing_jittered_backoff(
    fake: FakeBinance, candles: pd.DataFrame
) -> None:
    sleeper = RecordingSleeper()
    jitter = iter([0.0, 0.5, 0.99] + [0.0] * 10)
    policy = RetryPolicy(attempts=4, base_delay=1.0, max_delay=8.0)
    with BinanceClient(fake.url, retry=policy, sleep=sleeper, jitter=lambda: next(jitter)) as c:
        fake.fail(3, status=502, path=KLINES)
        pd.testing.assert_frame_equal(fetch_all(c), candles, check_freq=False)
    # Equal jitter: half the exponential delay fixed, half random.
    assert sleeper.waits == [0.5, 1.5, pytest.approx(3.98)]


def test_retries_are_bounded_and_then_a_clear_error(
    client: BinanceClient, fake: FakeBinance, sleeper: RecordingSleeper
) -> None:
    fake.fail(None, status=500, path=KLINES)
    with pytest.raises(
        DataError, match=r"klines: giving up after 4 attempts; last problem: HTTP 500"
    ):
        fetch_all(client)
    assert len(sleeper.waits) == 3
    assert len(list(fake.kline_requests())) == 4


def test_timeouts_are_retried(fake: FakeBinance, candles: pd.DataFrame) -> None:
    sleeper = RecordingSleeper()
    with BinanceClient(fake.url, retry=FAST_RETRIES, sleep=sleeper, timeout=0.2) as client:
        fake.slow(1, delay=0.6, path=KLINES)
        pd.testing.assert_frame_equal(fetch_all(client), candles, check_freq=False)
        assert len(sleeper.waits) == 1
        fake.slow(None, delay=0.6, path=TIME)
        with pytest.raises(DataError, match=r"giving up after 4 attempts.*timed out"):
            client.server_time_ms()


def test_connection_errors_are_retried_then_reported(sleeper: RecordingSleeper) -> None:
    with FakeBinance() as gone:
        url = gone.url  # a port that was free a moment ago and is closed now
    with (
        BinanceClient(url, retry=FAST_RETRIES, sleep=sleeper) as client,
        pytest.raises(DataError, match=r"giving up after 4 attempts; last problem: connection"),
    ):
        client.server_time_ms()
    assert len(sleeper.waits) == 3


def test_malformed_json_is_retried_and_persistent_garbage_reported(
    client: BinanceClient, fake: FakeBinance, candles: pd.DataFrame
) -> None:
    fake.malformed_json(1, path=KLINES)
    pd.testing.assert_frame_equal(fetch_all(client), candles, check_freq=False)
    fake.malformed_json(None, path=KLINES)
    with pytest.raises(
        DataError, match=r"giving up after 4 attempts; last problem: malformed JSON"
    ):
        fetch_all(client)


def test_duplicated_and_out_of_order_klines_are_repaired(
    client: BinanceClient, fake: FakeBinance, candles: pd.DataFrame
) -> None:
    fake.duplicate_klines(2)
    fake.shuffle_klines(1)
    result = client.fetch_klines("BTCUSDT", "1h", START, END)
    pd.testing.assert_frame_equal(result.frame, candles, check_freq=False)
    assert result.repairs.duplicates_dropped == 2000
    assert result.repairs.reordered


def test_conflicting_klines_are_an_error(client: BinanceClient, fake: FakeBinance) -> None:
    fake.conflicting_klines(1)
    with pytest.raises(DataError, match=r"binance BTCUSDT 1h .*conflicting duplicate"):
        fetch_all(client)


def test_client_errors_fail_at_once_with_binance_message(
    client: BinanceClient, sleeper: RecordingSleeper
) -> None:
    with pytest.raises(DataError, match=r"HTTP 400: Invalid symbol. \(code -1121\)"):
        client.fetch_klines("ETHUSDT", "1h", START, END)
    assert sleeper.waits == []


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"unexpected": True}, "expected a JSON array of klines"),
        ([[1, "2", "3"]], "malformed kline #1 .*at least 7 fields"),
        ([[1704067200000, "1", "x", "1", "1", "1", 1]], "malformed kline #1"),
        ([["soon", "1", "1", "1", "1", "1", 1]], "open time is not an integer"),
    ],
)
def test_klines_of_the_wrong_shape_are_reported_at_once(
    client: BinanceClient,
    fake: FakeBinance,
    sleeper: RecordingSleeper,
    payload: object,
    expected: str,
) -> None:
    fake.respond_with(payload)
    with pytest.raises(DataError, match=expected):
        fetch_all(client)
    assert sleeper.waits == []


def test_bad_server_time_is_reported(client: BinanceClient, fake: FakeBinance) -> None:
    fake.respond_with({"serverTime": "noon"}, path=TIME)
    with pytest.raises(DataError, match="api/v3/time: unexpected response"):
        client.server_time_ms()


def test_base_url_resolution() -> None:
    assert resolve_base_url(None, {}) == DEFAULT_BINANCE_URL
    assert (
        resolve_base_url(None, {"ATB_BINANCE_URL": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9"
    )
    assert resolve_base_url("http://x:1", {"ATB_BINANCE_URL": "http://y:2"}) == "http://x:1"
    with pytest.raises(DataError, match="invalid exchange URL"):
        resolve_base_url("ftp://example.com", {})


def test_a_stop_ends_a_retry_after_wait_at_once(fake: FakeBinance) -> None:
    fake.rate_limit(None, retry_after=30, path=TIME)
    with StopToken() as stop, BinanceClient(fake.url, retry=FAST_RETRIES, stop=stop) as client:
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with pytest.raises(StopRequested):
            client.server_time_ms()
        assert time.monotonic() - started < 5
    assert [r.status for r in fake.requests] == [429]


def test_a_stop_abandons_a_request_the_server_never_answers(fake: FakeBinance) -> None:
    fake.hang(1, path=KLINES)
    with StopToken() as stop, BinanceClient(fake.url, timeout=30, stop=stop) as client:
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with pytest.raises(StopRequested):
            fetch_all(client)
        assert time.monotonic() - started < 5
    assert [r.fault for r in fake.pending()] == ["hang"]


def test_an_injected_sleeper_still_waits_and_a_stop_during_it_ends_the_retries(
    fake: FakeBinance,
) -> None:
    fake.fail(None, status=503, path=TIME)
    with StopToken() as stop:

        class StoppingSleeper(RecordingSleeper):
            def __call__(self, seconds: float, /) -> None:
                super().__call__(seconds)
                stop.set()  # the stop arrives while the client waits

        sleeper = StoppingSleeper()
        with (
            BinanceClient(fake.url, retry=FAST_RETRIES, sleep=sleeper, stop=stop) as client,
            pytest.raises(StopRequested),
        ):
            client.server_time_ms()
    assert len(sleeper.waits) == 1
    assert [r.status for r in fake.requests] == [503]
