"""load_candles without the network: files, DEMO, the cache, and the errors that guide users."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atb.data.cache import CandleCache
from atb.data.loading import days_window, load_candles, missing_ranges
from atb.data.ranges import TimeRange
from atb.data.validation import validate_candles
from atb.domain.errors import DataError
from tests.support.candle_frames import make_candles

NOW = pd.Timestamp("2024-03-01 12:34", tz="UTC")


def now() -> pd.Timestamp:
    return NOW


@pytest.fixture
def cached(tmp_path: Path) -> Path:
    """A cache holding BTCUSDT 1h for 2024-01-01 → 2024-02-20."""
    frame = make_candles(24 * 50, start="2024-01-01")
    candles = validate_candles(frame, source="t", timeframe="1h")
    CandleCache(tmp_path).store("BTCUSDT", candles, source="t", fetched_at=NOW)
    return tmp_path


def test_days_window_ends_at_end_or_now() -> None:
    assert days_window(10, now=now) == TimeRange(NOW - pd.Timedelta(days=10), NOW)
    assert days_window(1, "2024-01-02") == TimeRange("2024-01-01", "2024-01-02")
    with pytest.raises(DataError, match="--days must be a positive"):
        days_window(0, now=now)


def test_cached_window_with_warmup(cached: Path) -> None:
    candles = load_candles(
        "btcusdt", "1h", "2024-01-10", "2024-01-11", warmup=30, data_dir=cached,
        allow_network=False, now=now,
    )  # fmt: skip
    assert len(candles) == 54
    assert candles.warmup_bars == 30
    assert candles.index[candles.warmup_bars] == pd.Timestamp("2024-01-10", tz="UTC")
    assert candles.last == pd.Timestamp("2024-01-10 23:00", tz="UTC")
    assert "BTCUSDT 1h" in candles.source


def test_days_means_the_closed_bars_of_the_last_n_days(cached: Path) -> None:
    end = pd.Timestamp("2024-02-10 12:30", tz="UTC")
    candles = load_candles(
        "BTCUSDT", "1h", days=2, end=end, data_dir=cached, allow_network=False, now=now
    )
    assert len(candles) == 48
    assert candles.first == pd.Timestamp("2024-02-08 12:00", tz="UTC")
    assert candles.last == pd.Timestamp("2024-02-10 11:00", tz="UTC")  # 12:00 was still forming


def test_missing_data_offline_says_what_was_asked_what_exists_and_what_to_do(
    cached: Path,
) -> None:
    with pytest.raises(DataError) as caught:
        load_candles(
            "BTCUSDT", "1h", "2023-12-01", "2024-01-05", data_dir=cached, allow_network=False,
            now=now,
        )  # fmt: skip
    message = str(caught.value)
    assert "no BTCUSDT 1h candles for 2023-12-01 00:00 UTC → 2024-01-01 00:00 UTC" in message
    assert "asked for 2023-12-01 00:00 UTC → 2024-01-05 00:00 UTC; the network is off" in message
    assert "available locally: 2024-01-01 00:00 UTC → 2024-02-20 00:00 UTC" in message
    assert "\n" not in message
    assert "atb data download --symbol BTCUSDT --timeframe 1h" in message
    assert "atb data import FILE --symbol BTCUSDT --timeframe 1h" in message
    assert "--data FILE" in message


def test_nothing_cached_offline(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing cached in .*ETHUSDT.*atb data download"):
        load_candles("ETHUSDT", "4h", days=5, data_dir=tmp_path, allow_network=False, now=now)
    with pytest.raises(DataError, match="ETHUSDT 4h: nothing is cached yet; give a start"):
        load_candles("ETHUSDT", "4h", data_dir=tmp_path, allow_network=False, now=now)


def test_no_start_means_from_the_first_cached_bar(cached: Path) -> None:
    candles = load_candles(
        "BTCUSDT", "1h", end="2024-01-03", data_dir=cached, allow_network=False, now=now
    )
    assert candles.first == pd.Timestamp("2024-01-01", tz="UTC")
    assert candles.last == pd.Timestamp("2024-01-02 23:00", tz="UTC")
    assert len(candles) == 48


def test_missing_ranges_stop_at_the_last_closed_bar(cached: Path) -> None:
    cache = CandleCache(cached)
    window = TimeRange("2024-02-19", "2024-12-31")
    assert missing_ranges(cache, "BTCUSDT", "1h", window, now=now) == (
        TimeRange("2024-02-20", "2024-03-01 12:00"),
    )


def test_a_data_file_wins_and_is_windowed(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    make_candles(100, start="2024-05-01").to_csv(path)
    whole = load_candles("ANY", "1h", data_file=path, data_dir=tmp_path, allow_network=False)
    assert len(whole) == 100
    part = load_candles("ANY", "1h", "2024-05-02", "2024-05-03", warmup=3, data_file=path)
    assert (len(part), part.warmup_bars) == (27, 3)
    last_day = load_candles("ANY", "1h", days=1, data_file=path)
    assert last_day.last == pd.Timestamp("2024-05-05 03:00", tz="UTC")
    assert len(last_day) == 24
    with pytest.raises(DataError, match=r"d.csv 1h: asked for 2024-04-01 .* but it holds 2024-05"):
        load_candles("ANY", "1h", "2024-04-01", data_file=path)
    with pytest.raises(DataError, match="not on a 4h bar boundary"):
        load_candles("ANY", "4h", data_file=path)


def test_demo_is_generated_offline_and_marked_synthetic(tmp_path: Path) -> None:
    candles = load_candles("DEMO", "1d", days=30, warmup=5, data_dir=tmp_path, now=now)
    assert candles.synthetic
    assert (len(candles), candles.warmup_bars) == (35, 5)
    assert candles.last == pd.Timestamp("2025-12-31", tz="UTC")
    window = load_candles("demo", "1d", "2020-01-01", "2020-02-01")
    assert len(window) == 31
    with pytest.raises(DataError, match=r"DEMO 1d: asked for 2018-01-01.*synthetic"):
        load_candles("DEMO", "1d", "2018-01-01", "2019-06-01")
    assert not any(tmp_path.iterdir())  # DEMO never touches the cache


def test_negative_warmup_is_rejected() -> None:
    with pytest.raises(DataError, match="warmup"):
        load_candles("DEMO", "1d", warmup=-1)
