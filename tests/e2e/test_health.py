"""The health endpoint tells the truth: a running `atb live` against the fake exchange turns
stale (HTTP 503, with the reason and the error) within two poll intervals of an outage, a hung
request and a frozen exchange clock, and healthy again (200, error cleared) once the exchange
is back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.data.loading import load_candles
from tests.support.fake_binance import KLINES, FakeBinance
from tests.support.live_harness import LiveProcess, read_health, session_started, wait_until

POLL = 0.5
"""Seconds between polls: the session is stale after 2 × POLL without news."""
START = pd.Timestamp("2024-07-01", tz="UTC")


@pytest.fixture
def exchange(sample_csv: Path) -> Iterator[FakeBinance]:
    candles = load_candles("BTCUSDT", "1h", "2024-05-01", "2024-08-01", data_file=sample_csv)
    with FakeBinance(candles.frame, symbol="BTCUSDT", timeframe="1h") as fake:
        fake.set_clock(START, speed=0.0)
        yield fake


def flowing(fake: FakeBinance) -> None:
    """The exchange clock runs: a new hourly bar every 2 s."""
    fake.set_clock(fake.now_ms(), speed=1800.0)


@pytest.fixture
def session(exchange: FakeBinance, tmp_path: Path) -> Iterator[LiveProcess]:
    args = [
        "sma_cross", "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
        "--exchange-url", exchange.url, "--db", str(tmp_path / "live.sqlite3"),
        "--poll-interval", str(POLL), "--health-port", "0",
    ]  # fmt: skip
    process = LiveProcess(args, tmp_path / "live.log")
    wait_until(lambda: session_started(tmp_path / "live.sqlite3"), timeout=60, process=process)
    flowing(exchange)
    yield process
    exchange.clear_faults()
    exchange.release()
    assert process.terminate() == 0


def healthy(url: str) -> bool:
    code, report = read_health(url)
    return code == 200 and report["stale"] is False


def seconds_until(condition: Callable[[], bool], timeout: float = 20.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def stale(url: str) -> bool:
    code, report = read_health(url)
    return code == 503 and report["stale"] is True


def assert_turns_stale_then_recovers(
    url: str, fault: Callable[[], None], heal: Callable[[], None]
) -> dict[str, object]:
    # Healthy, and past the start-up grace: a poll has brought news (the outage begins after).
    wait_until(
        lambda: healthy(url) and read_health(url)[1]["last_successful_poll"] is not None, timeout=30
    )
    fault()
    seconds_until(lambda: stale(url))
    _code, report = read_health(url)
    # Flagged within two poll intervals of the last poll that brought news (the outage began
    # after it), as the report's own clock says; a little slack for this test's polling.
    news = pd.Timestamp(str(report["last_successful_poll"]))
    flagged = pd.Timestamp(str(report["time"]))
    assert (flagged - news).total_seconds() <= 2 * POLL + 0.25, report
    heal()
    seconds_until(lambda: healthy(url))
    _code, recovered = read_health(url)
    assert recovered["error"] is None  # an old error does not linger
    assert recovered["stale_reason"] is None
    assert str(recovered["time"]) > str(report["time"])
    return report


def test_an_outage_turns_health_stale_then_healthy(
    session: LiveProcess, exchange: FakeBinance
) -> None:
    url = session.health_url()

    def outage() -> None:
        exchange.fail(None, status=500)

    def heal() -> None:
        # Once the client has given up on its retries, the error shows, dated.
        seconds_until(lambda: "HTTP 500" in str(read_health(url)[1]["error"]))
        assert read_health(url)[1]["status"] == "feed_error"
        exchange.clear_faults()

    report = assert_turns_stale_then_recovers(url, outage, heal)
    assert report["status"] in ("polling", "feed_error")
    _code, after = read_health(url)
    last_error = after["last_error"]
    assert isinstance(last_error, dict)
    assert "HTTP 500" in str(last_error["message"])  # the latest error stays on record, dated
    assert last_error["time"] is not None


def test_a_hung_request_turns_health_stale_then_healthy(
    session: LiveProcess, exchange: FakeBinance
) -> None:
    url = session.health_url()

    def heal() -> None:
        exchange.clear_faults()
        exchange.release()

    report = assert_turns_stale_then_recovers(url, lambda: exchange.hang(None, path=KLINES), heal)
    assert report["status"] == "polling"  # inside the request, not "running"
    assert "no poll has brought news" in str(report["stale_reason"])


def test_a_frozen_exchange_clock_turns_health_stale_then_healthy(
    session: LiveProcess, exchange: FakeBinance
) -> None:
    url = session.health_url()
    report = assert_turns_stale_then_recovers(
        url,
        lambda: exchange.set_clock(exchange.now_ms(), speed=0.0),
        lambda: flowing(exchange),
    )
    assert report["error"] is None  # the exchange answers; it just says nothing new
    assert report["last_bar_time"] is not None
    assert report["last_successful_poll"] is not None
