"""The Parquet cache: month files, manifest, coverage, atomic writes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import platformdirs
import pytest

from atb.data.atomic import TEMP_SUFFIX, write_atomically
from atb.data.cache import CandleCache, default_data_dir
from atb.data.candles import ValidatedCandles
from atb.data.ranges import TimeRange
from atb.data.validation import validate_candles
from atb.domain.errors import DataError
from tests.support.candle_frames import make_candles

FETCHED = pd.Timestamp("2024-06-01 12:00", tz="UTC")


def candles(bars: int, start: str = "2024-01-30", timeframe: str = "1h") -> ValidatedCandles:
    return validate_candles(
        make_candles(bars, start=start, timeframe=timeframe), source="t", timeframe=timeframe
    )


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_default_data_dir_honours_the_environment(tmp_path: Path) -> None:
    assert default_data_dir({"ATB_DATA_DIR": str(tmp_path)}) == tmp_path
    assert default_data_dir({}) == Path(platformdirs.user_data_dir("atb"))
    assert default_data_dir({"ATB_DATA_DIR": "  "}) == Path(platformdirs.user_data_dir("atb"))


def test_store_writes_one_parquet_file_per_month_and_a_manifest(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    data = candles(24 * 40)  # 2024-01-30 → 2024-03-09
    cache.store("btcusdt", data, source="file x.csv", fetched_at=FETCHED)
    folder = tmp_path / "candles" / "BTCUSDT" / "1h"
    assert cache.directory("BTCUSDT", "1h") == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "2024-01.parquet",
        "2024-02.parquet",
        "2024-03.parquet",
        "manifest.json",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["symbol"] == "BTCUSDT"
    assert manifest["timeframe"] == "1h"
    assert manifest["months"]["2024-02"] == {
        "rows": 29 * 24,
        "source": "file x.csv",
        "fetched_at": FETCHED.isoformat(),
    }
    assert manifest["coverage"] == [["2024-01-30T00:00:00+00:00", "2024-03-10T00:00:00+00:00"]]
    loaded = cache.load("BTCUSDT", "1h")
    pd.testing.assert_frame_equal(loaded.frame, data.frame)
    assert temp_files(tmp_path) == []


def test_load_returns_the_window_only(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    cache.store("BTCUSDT", candles(24 * 40), source="s", fetched_at=FETCHED)
    window = cache.load("BTCUSDT", "1h", TimeRange("2024-02-28 22:00", "2024-03-01 02:00"))
    assert len(window) == 28
    assert window.first == pd.Timestamp("2024-02-28 22:00", tz="UTC")
    assert len(cache.load("BTCUSDT", "1h", TimeRange("2023-01-01", "2023-02-01"))) == 0
    assert len(cache.load("ETHUSDT", "1h")) == 0


def test_coverage_and_missing_ranges(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    assert cache.coverage("BTCUSDT", "1h") == ()
    cache.store("BTCUSDT", candles(48, start="2024-01-01"), source="a", fetched_at=FETCHED)
    cache.store("BTCUSDT", candles(24, start="2024-01-05"), source="b", fetched_at=FETCHED)
    # A fetched range with no bars in it (an outage) still counts as covered.
    empty = validate_candles(make_candles(0), source="e", timeframe="1h")
    outage = TimeRange("2024-01-03", "2024-01-05")
    cache.store("BTCUSDT", empty, source="c", fetched_at=FETCHED, covered=outage)
    assert cache.coverage("BTCUSDT", "1h") == (TimeRange("2024-01-01", "2024-01-06"),)
    assert cache.missing("BTCUSDT", "1h", TimeRange("2023-12-31", "2024-01-08")) == (
        TimeRange("2023-12-31", "2024-01-01"),
        TimeRange("2024-01-06", "2024-01-08"),
    )
    assert len(cache.load("BTCUSDT", "1h").gaps) == 1


def test_newer_bars_replace_cached_ones_at_the_same_time(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    cache.store("BTCUSDT", candles(10, start="2024-01-01"), source="old", fetched_at=FETCHED)
    newer = make_candles(5, start="2024-01-01 05:00", seed=99)
    cache.store(
        "BTCUSDT", validate_candles(newer, source="n", timeframe="1h"), source="new",
        fetched_at=FETCHED,
    )  # fmt: skip
    loaded = cache.load("BTCUSDT", "1h").frame
    assert len(loaded) == 10
    pd.testing.assert_frame_equal(loaded.iloc[5:], newer, check_freq=False)


def test_entries_describe_every_series(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    assert cache.entries() == []
    gappy = make_candles(48, start="2024-01-01").drop(index=make_candles(48).index[[10, 11]])
    cache.store("ETHUSDT", validate_candles(gappy, source="g", timeframe="1h"), source="g",
                fetched_at=FETCHED)  # fmt: skip
    cache.store("BTCUSDT", candles(30, timeframe="1d"), source="d", fetched_at=FETCHED)
    cache.store("BTCUSDT", candles(30, timeframe="4h"), source="h", fetched_at=FETCHED)
    entries = cache.entries()
    assert [(e.symbol, e.timeframe.name, e.bars) for e in entries] == [
        ("BTCUSDT", "4h", 30),
        ("BTCUSDT", "1d", 30),
        ("ETHUSDT", "1h", 46),
    ]
    eth = entries[2]
    assert eth.first == pd.Timestamp("2024-01-01", tz="UTC")
    assert [g.missing_bars for g in eth.gaps] == [2]
    assert eth.sources == ("g",)
    assert eth.fetched_at == FETCHED.isoformat()


def test_a_failed_write_leaves_neither_a_temp_file_nor_a_changed_target(tmp_path: Path) -> None:
    target = tmp_path / "x" / "file.txt"
    target.parent.mkdir()
    target.write_text("old")

    def explode(path: Path) -> None:
        path.write_text("half-writ")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, explode)
    assert target.read_text() == "old"
    assert temp_files(tmp_path) == []


def test_a_failed_month_write_leaves_no_partial_file(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    folder = cache.directory("BTCUSDT", "1h")
    (folder / "2024-02.parquet").mkdir(parents=True)  # os.replace onto a directory fails
    with pytest.raises(IsADirectoryError):
        cache.store("BTCUSDT", candles(24 * 5), source="s", fetched_at=FETCHED)
    assert temp_files(tmp_path) == []
    assert not (folder / "manifest.json").exists()  # nothing is marked covered


def test_corrupt_cache_files_are_data_errors_naming_them(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    cache.store("BTCUSDT", candles(24), source="s", fetched_at=FETCHED)
    folder = cache.directory("BTCUSDT", "1h")
    (folder / "2024-01.parquet").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"2024-01.parquet: unreadable cache file"):
        cache.load("BTCUSDT", "1h")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match=r"manifest.json: unreadable cache manifest"):
        cache.coverage("BTCUSDT", "1h")


def test_a_cache_file_with_bad_rows_is_rejected_on_read(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    cache.store("BTCUSDT", candles(24), source="s", fetched_at=FETCHED)
    path = cache.directory("BTCUSDT", "1h") / "2024-01.parquet"
    frame = pd.read_parquet(path)
    frame.iloc[7, 1] = 1.0  # high far below the body
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"2024-01.parquet: row 8 at .*column 'high'"):
        cache.load("BTCUSDT", "1h")


@pytest.mark.parametrize("symbol", ["../etc", "BTC/USDT", "", "a"])
def test_symbols_that_are_not_safe_names_are_rejected(tmp_path: Path, symbol: str) -> None:
    with pytest.raises(DataError, match="invalid symbol"):
        CandleCache(tmp_path).directory(symbol, "1h")


def test_candles_without_a_timeframe_cannot_be_cached(tmp_path: Path) -> None:
    data = validate_candles(make_candles(3), source="x", timeframe=None)
    with pytest.raises(DataError, match="without a timeframe"):
        CandleCache(tmp_path).store("BTCUSDT", data, source="x", fetched_at=FETCHED)
