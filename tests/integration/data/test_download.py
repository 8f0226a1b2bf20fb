"""load_candles and download_ranges end to end: fake exchange → cache → validated frame."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.data.atomic import TEMP_SUFFIX
from atb.data.binance import BinanceClient
from atb.data.cache import CandleCache
from atb.data.files import read_candles_file
from atb.data.loading import load_candles
from atb.data.ranges import TimeRange
from atb.domain.errors import DataError
from tests.support.candle_frames import epoch_ms
from tests.support.fake_binance import KLINES, FakeBinance
from tests.support.retry import FAST_RETRIES, RecordingSleeper

NOW = pd.Timestamp("2025-06-01", tz="UTC")


def now() -> pd.Timestamp:
    return NOW


@pytest.fixture
def quick_client(fake: FakeBinance, sleeper: RecordingSleeper) -> Iterator[BinanceClient]:
    with BinanceClient(fake.url, retry=FAST_RETRIES, sleep=sleeper, timeout=0.3) as client:
        yield client


def partial_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_a_download_over_the_samples_range_equals_the_file(
    sample_csv: Path, tmp_path: Path
) -> None:
    expected = read_candles_file(sample_csv, timeframe="1h")
    with FakeBinance(expected.frame, symbol="BTCUSDT", timeframe="1h") as fake:
        candles = load_candles(
            "BTCUSDT", "1h", "2023-01-01", "2025-01-20 01:00", data_dir=tmp_path,
            exchange_url=fake.url, now=now,
        )  # fmt: skip
        pd.testing.assert_frame_equal(candles.frame, expected.frame)
        assert [g.start for g in candles.gaps] == [pd.Timestamp("2023-03-24 13:00", tz="UTC")]
        fetched = len(fake.requests)
        # Cached now, the exchange gap included: a second run asks the exchange nothing.
        again = load_candles(
            "BTCUSDT", "1h", "2023-01-01", "2025-01-20 01:00", data_dir=tmp_path,
            exchange_url=fake.url, now=now,
        )  # fmt: skip
        assert len(fake.requests) == fetched
        pd.testing.assert_frame_equal(again.frame, expected.frame)
    assert partial_files(tmp_path) == []


def test_only_the_missing_part_of_a_window_is_fetched(
    fake: FakeBinance, quick_client: BinanceClient, tmp_path: Path, candles: pd.DataFrame
) -> None:
    def load(start: str, end: str, warmup: int = 0) -> pd.DataFrame:
        return load_candles(
            "BTCUSDT", "1h", start, end, warmup=warmup, data_dir=tmp_path, client=quick_client,
            now=now,
        ).frame  # fmt: skip

    load("2024-02-01", "2024-02-10")
    before = len(list(fake.kline_requests()))
    frame = load("2024-02-05", "2024-02-20", warmup=24)
    new = list(fake.kline_requests())[before:]
    assert [int(r.params["startTime"]) for r in new] == [epoch_ms("2024-02-10")]
    assert frame.index[0] == pd.Timestamp("2024-02-04", tz="UTC")
    pd.testing.assert_frame_equal(
        frame, candles.loc["2024-02-04":"2024-02-19 23:00"], check_freq=False
    )


def test_an_interrupted_download_keeps_finished_months_and_resumes(
    fake: FakeBinance, quick_client: BinanceClient, tmp_path: Path, candles: pd.DataFrame
) -> None:
    pages: list[int] = []

    def break_after_first_page(bars: int) -> None:
        pages.append(bars)
        if len(pages) == 1:
            fake.fail(None, path=KLINES)  # from now on the exchange is down

    with pytest.raises(DataError) as caught:
        load_candles(
            "BTCUSDT", "1h", "2024-01-01", "2024-04-01", data_dir=tmp_path, client=quick_client,
            progress=break_after_first_page, now=now,
        )  # fmt: skip
    message = str(caught.value)
    assert "giving up after 4 attempts; last problem: HTTP 500" in message
    assert "available locally: 2024-01-01 00:00 UTC → 2024-02-01 00:00 UTC" in message
    cache = CandleCache(tmp_path)
    folder = cache.directory("BTCUSDT", "1h")
    assert sorted(p.name for p in folder.iterdir()) == ["2024-01.parquet", "manifest.json"]
    assert partial_files(tmp_path) == []
    assert cache.coverage("BTCUSDT", "1h") == (TimeRange("2024-01-01", "2024-02-01"),)

    fake.clear_faults()
    before = len(list(fake.kline_requests()))
    frame = load_candles(
        "BTCUSDT", "1h", "2024-01-01", "2024-04-01", data_dir=tmp_path, client=quick_client,
        now=now,
    ).frame  # fmt: skip
    resumed = list(fake.kline_requests())[before:]
    assert int(resumed[0].params["startTime"]) == epoch_ms("2024-02-01")
    pd.testing.assert_frame_equal(frame, candles.loc[:"2024-03-31 23:00"], check_freq=False)


Fault = Callable[[FakeBinance, int | None], None]
FAULTS: dict[str, Fault] = {
    "429": lambda f, n: f.rate_limit(n, retry_after=0.5, path=KLINES),
    "418": lambda f, n: f.rate_limit(n, retry_after=0.5, status=418, path=KLINES),
    "500": lambda f, n: f.fail(n, path=KLINES),
    "timeout": lambda f, n: f.slow(n, delay=0.6, path=KLINES),
    "malformed_json": lambda f, n: f.malformed_json(n, path=KLINES),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_transient_faults_end_in_the_correct_frame(
    fake: FakeBinance,
    quick_client: BinanceClient,
    tmp_path: Path,
    candles: pd.DataFrame,
    fault: str,
) -> None:
    FAULTS[fault](fake, 2)
    frame = load_candles(
        "BTCUSDT", "1h", "2024-01-01", "2024-03-01", data_dir=tmp_path, client=quick_client,
        now=now,
    ).frame  # fmt: skip
    pd.testing.assert_frame_equal(frame, candles.loc[:"2024-02-29 23:00"], check_freq=False)
    assert [r.fault for r in fake.kline_requests()][:3] == [FAULTS_NAME[fault]] * 2 + [None]


FAULTS_NAME = {
    "429": "rate_limit",
    "418": "rate_limit",
    "500": "fail",
    "timeout": "slow",
    "malformed_json": "malformed_json",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_persistent_faults_end_in_a_clear_error_and_leave_nothing_behind(
    fake: FakeBinance, quick_client: BinanceClient, tmp_path: Path, fault: str
) -> None:
    FAULTS[fault](fake, None)
    with pytest.raises(DataError, match=r"giving up after 4 attempts; last problem: ") as caught:
        load_candles(
            "BTCUSDT", "1h", "2024-01-01", "2024-03-01", data_dir=tmp_path, client=quick_client,
            now=now,
        )  # fmt: skip
    assert "nothing cached in" in str(caught.value)
    assert "atb data download --symbol BTCUSDT" in str(caught.value)
    assert partial_files(tmp_path) == []
    assert not list(tmp_path.rglob("*.parquet"))
    assert not list(tmp_path.rglob("manifest.json"))


@pytest.mark.parametrize("fault", ["duplicate_klines", "shuffle_klines"])
def test_duplicated_or_reordered_klines_still_give_the_correct_frame(
    fake: FakeBinance,
    quick_client: BinanceClient,
    tmp_path: Path,
    candles: pd.DataFrame,
    fault: str,
) -> None:
    getattr(fake, fault)(None)
    frame = load_candles(
        "BTCUSDT", "1h", "2024-01-01", "2024-03-01", data_dir=tmp_path, client=quick_client,
        now=now,
    ).frame  # fmt: skip
    pd.testing.assert_frame_equal(frame, candles.loc[:"2024-02-29 23:00"], check_freq=False)


def test_conflicting_klines_fail_and_leave_nothing_behind(
    fake: FakeBinance, quick_client: BinanceClient, tmp_path: Path
) -> None:
    fake.conflicting_klines(None)
    with pytest.raises(DataError, match="conflicting duplicate"):
        load_candles(
            "BTCUSDT", "1h", "2024-01-01", "2024-03-01", data_dir=tmp_path, client=quick_client,
            now=now,
        )  # fmt: skip
    assert partial_files(tmp_path) == []
    assert not list(tmp_path.rglob("*.parquet"))


def test_the_forming_bar_is_neither_stored_nor_marked_covered(
    fake: FakeBinance, quick_client: BinanceClient, tmp_path: Path, candles: pd.DataFrame
) -> None:
    fake.set_clock(pd.Timestamp("2024-01-03 10:20", tz="UTC"))
    local_now = pd.Timestamp("2024-01-03 10:21", tz="UTC")
    frame = load_candles(
        "BTCUSDT", "1h", days=1, data_dir=tmp_path, client=quick_client, now=lambda: local_now
    ).frame
    assert frame.index[-1] == pd.Timestamp("2024-01-03 09:00", tz="UTC")
    assert len(frame) == 24
    cache = CandleCache(tmp_path)
    assert cache.coverage("BTCUSDT", "1h")[-1].end == pd.Timestamp("2024-01-03 10:00", tz="UTC")
    # An hour later the 10:00 bar has closed and is fetched (only it).
    fake.advance(3_600_000)
    later = load_candles(
        "BTCUSDT", "1h", days=1, data_dir=tmp_path, client=quick_client,
        now=lambda: local_now + pd.Timedelta(hours=1),
    ).frame  # fmt: skip
    assert later.index[-1] == pd.Timestamp("2024-01-03 10:00", tz="UTC")
    assert later.iloc[-1].to_dict() == candles.loc["2024-01-03 10:00"].to_dict()
