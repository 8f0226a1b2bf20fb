"""import_candles: new bars are added, equal bars change nothing, changed bars need `replace`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atb.data.cache import CandleCache
from atb.data.importing import import_candles
from atb.data.validation import validate_candles
from atb.domain.errors import DataError
from tests.support.candle_frames import make_candles, scaled, with_bar

NOW = pd.Timestamp("2024-06-01", tz="UTC")
FILE = Path("/data/btc.csv")


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def imported(cache: CandleCache, frame: pd.DataFrame, **options: bool) -> tuple[int, int]:
    candles = validate_candles(frame, source="f", timeframe="1h")
    report = import_candles(cache, "btcusdt", candles, file=FILE, fetched_at=NOW, **options)
    return len(report.changed), report.new_bars


def test_a_first_import_is_all_new_and_marks_the_series_as_imported(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    assert imported(cache, make_candles(48)) == (0, 48)
    assert cache.is_imported("BTCUSDT", "1h")
    assert cache.last_bar("BTCUSDT", "1h") == pd.Timestamp("2024-01-02 23:00", tz="UTC")


def test_the_same_bars_again_change_nothing_and_extending_needs_no_replace(
    tmp_path: Path,
) -> None:
    cache = CandleCache(tmp_path)
    frame = make_candles(72)
    imported(cache, frame.iloc[:48])
    assert imported(cache, frame.iloc[:48]) == (0, 0)
    assert imported(cache, frame) == (0, 24)
    assert len(cache.load("BTCUSDT", "1h")) == 72


def test_changed_bars_are_refused_without_replace_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    cache = CandleCache(tmp_path)
    imported(cache, make_candles(72).iloc[:48])
    before = folder_bytes(tmp_path)
    changed = scaled(scaled(make_candles(72), 5, "volume", 2.0), 9, "volume", 2.0)
    with pytest.raises(DataError) as caught:
        imported(cache, changed)
    assert str(caught.value) == (
        f"{FILE}: 2 of its bars differ from the cached BTCUSDT 1h bars (2024-01-01 05:00 UTC → "
        "2024-01-01 09:00 UTC); nothing was written. Pass --replace to overwrite them"
    )
    assert folder_bytes(tmp_path) == before

    assert imported(cache, changed, replace=True) == (2, 24)
    assert cache.load("BTCUSDT", "1h").frame.equals(changed)


def test_dropping_a_suspicious_print_removes_the_cached_bar_too(tmp_path: Path) -> None:
    cache = CandleCache(tmp_path)
    frame = make_candles(48)
    frame = with_bar(frame, 20, low=0.06)
    imported(cache, frame)
    with pytest.raises(DataError, match=r"1 of its bars differ .*\(2024-01-01 20:00 UTC\)"):
        imported(cache, frame, drop_outliers=True)
    assert imported(cache, frame, drop_outliers=True, replace=True) == (1, 0)
    cached = cache.load("BTCUSDT", "1h")
    assert len(cached) == 47
    assert [gap.describe() for gap in cached.gaps] == [
        "2024-01-01 20:00 UTC → 2024-01-01 21:00 UTC (1 bar)"
    ]


def test_an_import_reports_the_suspicious_bars_it_kept(tmp_path: Path) -> None:
    frame = make_candles(48)
    frame = with_bar(frame, 7, high=1e9)
    candles = validate_candles(frame, source="f", timeframe="1h")
    report = import_candles(CandleCache(tmp_path), "BTCUSDT", candles, file=FILE, fetched_at=NOW)
    assert [(bar.time, bar.column) for bar in report.candles.suspicious] == [
        (frame.index[7], "high")
    ]
    assert report.describe_changes() == "0 cached bars changed, 48 new"
