"""Local data stays local: load_candles against the fake exchange, counting its requests.

An imported series is answered from the cache alone (the fake must see no request at all); a
downloaded series still fetches its missing tail. Every result is screened for bad prints.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atb.data.binance import BinanceClient
from atb.data.cache import CandleCache
from atb.data.importing import import_candles
from atb.data.loading import download_ranges, load_candles
from atb.data.ranges import TimeRange
from atb.data.validation import validate_candles
from atb.domain.errors import DataError
from tests.support.candle_frames import make_candles, with_bar
from tests.support.fake_binance import FakeBinance

NOW = pd.Timestamp("2024-05-01", tz="UTC")
"""Long after the imported bars end: "now" would be weeks past the cache."""


def now() -> pd.Timestamp:
    return NOW


def import_frame(data_dir: Path, frame: pd.DataFrame) -> None:
    candles = validate_candles(frame, source="f", timeframe="1h")
    import_candles(
        CandleCache(data_dir), "BTCUSDT", candles, file=data_dir / "btc.csv", fetched_at=NOW
    )


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """BTCUSDT 1h imported from a file: 2024-01-01 00:00 → 2024-01-31 23:00 (744 bars)."""
    import_frame(tmp_path, make_candles(744, start="2024-01-01"))
    return tmp_path


def test_an_imported_series_without_end_ends_at_its_last_bar_offline(
    imported: Path, fake: FakeBinance, client: BinanceClient
) -> None:
    candles = load_candles(
        "BTCUSDT", "1h", days=2, warmup=24, data_dir=imported, client=client, now=now
    )
    assert candles.last == pd.Timestamp("2024-01-31 23:00", tz="UTC")
    assert candles.index[candles.warmup_bars] == pd.Timestamp("2024-01-30 00:00", tz="UTC")
    assert candles.warmup_bars == 24
    assert candles.notes == (
        "window ends at the last cached bar 2024-01-31 23:00 UTC (no --end given)",
    )
    whole = load_candles("BTCUSDT", "1h", data_dir=imported, client=client, now=now)
    assert (len(whole), whole.first) == (744, pd.Timestamp("2024-01-01", tz="UTC"))
    assert fake.requests == []


def test_a_window_outside_an_imported_series_is_one_line_naming_both_ranges(
    imported: Path, fake: FakeBinance, client: BinanceClient
) -> None:
    with pytest.raises(DataError) as caught:
        load_candles(
            "BTCUSDT", "1h", days=30, end="2024-03-01", data_dir=imported, client=client, now=now
        )
    assert str(caught.value) == (
        "BTCUSDT 1h: asked for 2024-01-31 00:00 UTC → 2024-03-01 00:00 UTC, but the cache holds "
        "2024-01-01 00:00 UTC → 2024-02-01 00:00 UTC (imported from a file, so atb does not "
        "fetch it from the exchange); pick a window inside it, import a file that covers it "
        "(`atb data import FILE --symbol BTCUSDT --timeframe 1h`), or download it explicitly "
        "(`atb data download --symbol BTCUSDT --timeframe 1h --days N`)"
    )
    with pytest.raises(DataError, match="start at 2024-02-10 00:00 UTC, after its end 2024-02-01"):
        load_candles("BTCUSDT", "1h", "2024-02-10", data_dir=imported, client=client, now=now)
    assert fake.requests == []


def test_warm_up_an_imported_series_lacks_is_not_fetched_but_said(
    imported: Path, fake: FakeBinance, client: BinanceClient
) -> None:
    candles = load_candles(
        "BTCUSDT", "1h", "2024-01-01 10:00", "2024-01-02", warmup=50, data_dir=imported,
        client=client, now=now,
    )  # fmt: skip
    assert (len(candles), candles.warmup_bars) == (24, 10)
    assert candles.notes == ("only 10 of 50 warm-up bars exist before 2024-01-01 10:00 UTC",)
    assert fake.requests == []


def test_a_series_with_any_imported_month_is_not_fetched(
    tmp_path: Path, fake: FakeBinance, client: BinanceClient
) -> None:
    cache = CandleCache(tmp_path)
    download_ranges(cache, "BTCUSDT", "1h", (TimeRange("2024-02-01", "2024-03-01"),), client=client)
    import_frame(tmp_path, make_candles(744, start="2024-01-01"))
    requests = len(fake.requests)
    candles = load_candles("BTCUSDT", "1h", days=1, data_dir=tmp_path, client=client, now=now)
    assert candles.last == pd.Timestamp("2024-02-29 23:00", tz="UTC")
    assert len(fake.requests) == requests


def test_a_downloaded_series_without_end_fetches_its_tail_up_to_now(
    tmp_path: Path, fake: FakeBinance, client: BinanceClient, candles: pd.DataFrame
) -> None:
    # The user opted into the exchange: "the last N days" means up to now, as before.
    cache = CandleCache(tmp_path)
    download_ranges(cache, "BTCUSDT", "1h", (TimeRange("2024-02-01", "2024-03-01"),), client=client)
    before = len(list(fake.kline_requests()))
    fake_now = candles.index[-1] + pd.Timedelta(hours=1)
    loaded = load_candles(
        "BTCUSDT", "1h", days=2, data_dir=tmp_path, client=client, now=lambda: fake_now
    )
    assert loaded.last == candles.index[-1]
    assert loaded.notes == ()
    assert len(list(fake.kline_requests())) > before


def test_a_downloaded_series_offline_without_end_ends_at_its_last_bar(
    tmp_path: Path, client: BinanceClient
) -> None:
    cache = CandleCache(tmp_path)
    download_ranges(cache, "BTCUSDT", "1h", (TimeRange("2024-02-01", "2024-03-01"),), client=client)
    loaded = load_candles("BTCUSDT", "1h", days=1, data_dir=tmp_path, allow_network=False, now=now)
    assert loaded.last == pd.Timestamp("2024-02-29 23:00", tz="UTC")
    assert loaded.notes == (
        "window ends at the last cached bar 2024-02-29 23:00 UTC (no --end given)",
    )


def test_missing_warm_up_offline_names_ranges_that_differ_from_what_is_cached(
    tmp_path: Path, client: BinanceClient
) -> None:
    cache = CandleCache(tmp_path)
    download_ranges(cache, "BTCUSDT", "1h", (TimeRange("2024-02-01", "2024-03-01"),), client=client)
    with pytest.raises(DataError) as caught:
        load_candles(
            "BTCUSDT", "1h", "2024-02-01", "2024-03-01", warmup=10, data_dir=tmp_path,
            allow_network=False, now=now,
        )  # fmt: skip
    message = str(caught.value)
    assert message.startswith(
        "no BTCUSDT 1h candles for 2024-01-31 14:00 UTC → 2024-02-01 00:00 UTC (asked for "
        "2024-01-31 14:00 UTC → 2024-03-01 00:00 UTC, incl. warm-up bars before 2024-02-01 "
        "00:00 UTC; the network is off); available locally: 2024-02-01 00:00 UTC → 2024-03-01 "
        "00:00 UTC."
    )
    assert "\n" not in message


def test_every_source_is_screened_and_dropping_leaves_a_reported_gap(tmp_path: Path) -> None:
    frame = make_candles(200, start="2024-01-01")
    frame = with_bar(frame, 100, low=0.06)
    frame = with_bar(frame, 3, high=1e9)
    path = tmp_path / "spiky.csv"
    frame.to_csv(path)
    import_frame(tmp_path, frame)
    bad = frame.index[100]
    for options in ({"data_file": path}, {"data_dir": tmp_path, "allow_network": False}):
        window = load_candles(
            "BTCUSDT", "1h", "2024-01-05", "2024-01-06", warmup=10, now=now, **options
        )
        assert [(bar.time, bar.column, bar.value) for bar in window.suspicious] == [
            (bad, "low", 0.06)
        ]
        dropped = load_candles(
            "BTCUSDT", "1h", "2024-01-05", "2024-01-06", warmup=10, now=now,
            drop_outliers=True, **options,
        )  # fmt: skip
        assert (len(dropped), dropped.warmup_bars, dropped.suspicious) == (33, 10, ())
        assert [bar.time for bar in dropped.dropped] == [bad]
        assert [(gap.start, gap.missing_bars) for gap in dropped.gaps] == [(bad, 1)]
    demo = load_candles("DEMO", "1h", days=30, now=now)
    assert demo.suspicious == ()


def test_a_dropped_warm_up_bar_shortens_the_warm_up_not_the_window(tmp_path: Path) -> None:
    frame = make_candles(200, start="2024-01-01")
    frame = with_bar(frame, 100, low=0.06)  # 2024-01-05 04:00
    path = tmp_path / "spiky.csv"
    frame.to_csv(path)
    candles = load_candles(
        "X", "1h", "2024-01-05 08:00", "2024-01-06", warmup=10, data_file=path, drop_outliers=True
    )
    assert (len(candles), candles.warmup_bars) == (25, 9)
    assert candles.index[candles.warmup_bars] == pd.Timestamp("2024-01-05 08:00", tz="UTC")
    assert candles.notes == ("only 9 of 10 warm-up bars exist before 2024-01-05 08:00 UTC",)


def test_a_window_inside_a_gap_of_the_import_names_no_identical_ranges(tmp_path: Path) -> None:
    frame = make_candles(72, start="2024-01-01")
    import_frame(tmp_path, pd.concat([frame.iloc[:24], frame.iloc[48:]]))
    with pytest.raises(DataError) as caught:
        load_candles("BTCUSDT", "1h", "2024-01-02 03:00", "2024-01-02 09:00", data_dir=tmp_path)
    assert str(caught.value) == (
        "no BTCUSDT 1h candles in 2024-01-02 03:00 UTC → 2024-01-02 09:00 UTC: the cache covers "
        "that time but holds no bar there (an exchange outage, or a gap in the imported file); "
        "pick another window"
    )
