"""Fixtures for the data integration tests: a running fake Binance and a no-wait sleeper."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from atb.data.binance import BinanceClient
from tests.support.candle_frames import make_candles
from tests.support.fake_binance import FakeBinance
from tests.support.retry import FAST_RETRIES, RecordingSleeper


@pytest.fixture
def candles() -> pd.DataFrame:
    """3,000 hourly bars from 2024-01-01 (three full pages and a bit)."""
    return make_candles(3000, start="2024-01-01")


@pytest.fixture
def fake(candles: pd.DataFrame) -> Iterator[FakeBinance]:
    with FakeBinance(candles, symbol="BTCUSDT", timeframe="1h") as server:
        yield server


@pytest.fixture
def sleeper() -> RecordingSleeper:
    return RecordingSleeper()


@pytest.fixture
def client(fake: FakeBinance, sleeper: RecordingSleeper) -> Iterator[BinanceClient]:
    with BinanceClient(fake.url, retry=FAST_RETRIES, sleep=sleeper, timeout=2.0) as binance:
        yield binance
