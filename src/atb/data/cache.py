"""The local candle cache: one Parquet file per symbol, timeframe and month.

Layout under the data directory (`ATB_DATA_DIR`, else the platform's user data dir)::

    candles/BTCUSDT/1h/2023-01.parquet     bars opening in January 2023 (UTC)
    candles/BTCUSDT/1h/manifest.json       coverage, and per month: rows, source, fetch time

*Coverage* is the set of time ranges whose bars are known: fetched from the exchange or
imported. A bar missing inside the coverage is a real gap (the exchange has none), so it is not
fetched again; only ranges outside the coverage are. Every file is replaced atomically, and the
manifest is written after the month files, so an interrupted write leaves at worst bars the
manifest does not count as covered yet (they are fetched again and merged).

One process writes a given symbol/timeframe at a time; concurrent writers do not corrupt files
but the last manifest written wins.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import platformdirs

from atb.data.atomic import write_atomically, write_text_atomically
from atb.data.candles import ValidatedCandles
from atb.data.gaps import Gap, find_gaps
from atb.data.ranges import TimeRange, merge_ranges, subtract_ranges
from atb.data.schema import INDEX_DTYPE, INDEX_NAME, empty_candle_frame
from atb.data.symbols import normalize_symbol
from atb.data.validation import RowNumbers, validate_candles
from atb.domain.errors import DataError
from atb.domain.timeframes import Timeframe, parse_timeframe

DATA_DIR_ENV = "ATB_DATA_DIR"
"""Environment variable that overrides the data directory."""

MANIFEST = "manifest.json"
_FORMAT = 1

FILE_SOURCE_PREFIX = "file "
"""How a month's `source` starts in the manifest when its bars came from `atb data import`."""


def file_source(path: str | Path) -> str:
    """The manifest `source` of bars imported from `path` (`file /abs/path.csv`)."""
    return f"{FILE_SOURCE_PREFIX}{Path(path).resolve()}"


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$ATB_DATA_DIR` when set, else the platform's user data directory for `atb`."""
    environ = os.environ if env is None else env
    override = environ.get(DATA_DIR_ENV, "").strip()
    return Path(override).expanduser() if override else Path(platformdirs.user_data_dir("atb"))


@attrs.frozen(slots=True)
class CacheEntry:
    """What the cache holds for one symbol and timeframe (for `atb data list`)."""

    symbol: str
    timeframe: Timeframe
    bars: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    coverage: tuple[TimeRange, ...]
    gaps: tuple[Gap, ...]
    sources: tuple[str, ...]
    fetched_at: str | None


class CandleCache:
    """Month-partitioned Parquet cache of validated candles under `root`."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_data_dir()

    def directory(self, symbol: str, timeframe: str | Timeframe) -> Path:
        """Folder of one symbol/timeframe series."""
        tf = parse_timeframe(timeframe)
        return self.root / "candles" / normalize_symbol(symbol) / tf.name

    def coverage(self, symbol: str, timeframe: str | Timeframe) -> tuple[TimeRange, ...]:
        """Ranges whose bars are known locally (sorted, merged)."""
        manifest = self._read_manifest(self.directory(symbol, timeframe))
        return tuple(TimeRange(start, end) for start, end in manifest["coverage"])

    def is_imported(self, symbol: str, timeframe: str | Timeframe) -> bool:
        """True when any cached month of the series came from a file (`atb data import`).

        Such a series is the user's own data: `load_candles` never tops it up from the exchange
        (only an explicit `atb data download` does), so a run never mixes in bars nobody asked
        for.
        """
        months = self._read_manifest(self.directory(symbol, timeframe))["months"]
        return any(str(m.get("source", "")).startswith(FILE_SOURCE_PREFIX) for m in months.values())

    def last_bar(self, symbol: str, timeframe: str | Timeframe) -> pd.Timestamp | None:
        """Open time of the last cached bar, or None when nothing is cached."""
        for _, path in reversed(_month_files(self.directory(symbol, timeframe))):
            index = _read_index(path)
            if len(index):
                return pd.Timestamp(index[-1])
        return None

    def missing(
        self, symbol: str, timeframe: str | Timeframe, wanted: TimeRange
    ) -> tuple[TimeRange, ...]:
        """Parts of `wanted` the cache does not cover."""
        return subtract_ranges(wanted, self.coverage(symbol, timeframe))

    def store(
        self,
        symbol: str,
        candles: ValidatedCandles,
        *,
        source: str,
        fetched_at: pd.Timestamp,
        covered: TimeRange | None = None,
        remove: tuple[pd.Timestamp, ...] = (),
    ) -> None:
        """Merge `candles` into the cache and mark `covered` (default: their own span) as known.

        Bars already cached at the same times are replaced by the new ones; cached bars at the
        times in `remove` are deleted (a bad print dropped on import becomes a gap).
        """
        tf = candles.timeframe
        if tf is None:
            raise DataError(f"{candles.source}: cannot cache candles without a timeframe")
        folder = self.directory(symbol, tf)
        manifest = self._read_manifest(folder)
        if covered is None and candles.first is not None and candles.last is not None:
            covered = TimeRange(candles.first, candles.last + tf.timedelta)
        stamp = fetched_at.isoformat()
        new = dict(_split_by_month(candles.frame))
        gone = pd.DatetimeIndex(list(remove), dtype=INDEX_DTYPE, name=INDEX_NAME)
        for month in sorted({*new, *(f"{t.year:04d}-{t.month:02d}" for t in gone)}):
            path = folder / f"{month}.parquet"
            merged = self._merge_month(path, new.get(month, empty_candle_frame()), tf)
            merged = merged[~merged.index.isin(gone)]
            if not len(merged):
                # Only removals, and nothing left: no file rather than an empty one.
                path.unlink(missing_ok=True)
                manifest["months"].pop(month, None)
                continue
            write_atomically(path, functools.partial(_write_parquet, merged))
            manifest["months"][month] = {"rows": len(merged), "source": source, "fetched_at": stamp}
        ranges = [TimeRange(start, end) for start, end in manifest["coverage"]]
        if covered is not None:
            ranges.append(covered)
        manifest["coverage"] = [
            [r.start.isoformat(), r.end.isoformat()] for r in merge_ranges(ranges)
        ]
        manifest.update(symbol=normalize_symbol(symbol), timeframe=tf.name, format=_FORMAT)
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        write_text_atomically(folder / MANIFEST, text)

    def load(
        self, symbol: str, timeframe: str | Timeframe, window: TimeRange | None = None
    ) -> ValidatedCandles:
        """Cached bars of `window` (everything when None), validated; may be empty."""
        tf = parse_timeframe(timeframe)
        folder = self.directory(symbol, tf)
        frames = [
            _read_month(path, tf).frame
            for month, path in _month_files(folder)
            if window is None or _month_overlaps(month, window)
        ]
        frame = pd.concat(frames) if frames else empty_candle_frame()
        if window is not None:
            index = frame.index
            assert isinstance(index, pd.DatetimeIndex)
            frame = frame[(index >= window.start) & (index < window.end)]
        return validate_candles(frame, source=f"cache {folder}", timeframe=tf)

    def entries(self) -> list[CacheEntry]:
        """Every cached symbol/timeframe, sorted by symbol then timeframe length."""
        entries = []
        for folder in sorted((self.root / "candles").glob(f"*/*/{MANIFEST}")):
            series = folder.parent
            try:
                tf = parse_timeframe(series.name)
            except DataError:
                continue  # not ours: leave foreign folders alone
            manifest = self._read_manifest(series)
            stamps = [_read_index(path).asi8 for _, path in _month_files(series)]
            nanos = np.concatenate(stamps) if stamps else np.empty(0, dtype=np.int64)
            index = pd.DatetimeIndex(pd.to_datetime(nanos, unit="ns", utc=True))
            months = manifest["months"].values()
            entries.append(
                CacheEntry(
                    symbol=series.parent.name,
                    timeframe=tf,
                    bars=len(index),
                    first=index[0] if len(index) else None,
                    last=index[-1] if len(index) else None,
                    coverage=tuple(TimeRange(s, e) for s, e in manifest["coverage"]),
                    gaps=find_gaps(index, tf),
                    sources=tuple(sorted({str(m["source"]) for m in months})),
                    fetched_at=max((str(m["fetched_at"]) for m in months), default=None),
                )
            )
        return sorted(entries, key=lambda e: (e.symbol, e.timeframe.minutes))

    def _merge_month(self, path: Path, frame: pd.DataFrame, tf: Timeframe) -> pd.DataFrame:
        if not path.is_file():
            return frame
        old = _read_month(path, tf).frame
        combined = pd.concat([old, frame])
        # Newer data wins over older data for the same bar.
        combined = combined[~combined.index.duplicated(keep="last")].sort_index()
        return validate_candles(combined, source=str(path), timeframe=tf).frame

    def _read_manifest(self, folder: Path) -> dict[str, Any]:
        path = folder / MANIFEST
        if not path.exists():
            return {"format": _FORMAT, "coverage": [], "months": {}}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise TypeError("not a JSON object")
            for start, end in manifest["coverage"]:
                TimeRange(start, end)
            if not isinstance(manifest["months"], dict):
                raise TypeError("months is not an object")
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise DataError(
                f"{path}: unreadable cache manifest ({error}); delete {folder} and fetch again"
            ) from error
        return manifest


def _split_by_month(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Consecutive row blocks of a sorted frame, one per calendar month, with `YYYY-MM` keys."""
    index = frame.index
    assert isinstance(index, pd.DatetimeIndex)
    if not len(index):
        return []
    keys = np.asarray(index.year) * 12 + np.asarray(index.month) - 1
    cuts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(keys)]
    return [
        (f"{keys[a] // 12:04d}-{keys[a] % 12 + 1:02d}", frame.iloc[a:b])
        for a, b in itertools.pairwise(cuts)
    ]


def _month_files(folder: Path) -> list[tuple[pd.Timestamp, Path]]:
    """Month files of a series folder, in time order, with each month's first instant."""
    months = []
    for path in folder.glob("*.parquet"):
        if not path.is_file():
            continue
        try:
            month = pd.Timestamp(f"{path.stem}-01", tz="UTC")
        except ValueError:
            continue
        months.append((month, path))
    return sorted(months)


def _month_overlaps(month: pd.Timestamp, window: TimeRange) -> bool:
    month_end = month + pd.offsets.MonthBegin(1)
    return bool(month < window.end and month_end > window.start)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, engine="pyarrow", index=True)


def _read_month(path: Path, tf: Timeframe) -> ValidatedCandles:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataError(
            f"{path}: unreadable cache file ({error}); delete it and fetch again"
        ) from error
    rows = RowNumbers.sequential(len(frame))
    return validate_candles(frame, source=str(path), timeframe=tf, rows=rows)


def _read_index(path: Path) -> pd.DatetimeIndex:
    try:
        index = pd.read_parquet(path, columns=[]).index
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: unreadable cache file ({error})") from error
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"{path}: cache file has no time index; delete it and fetch again")
    return index.as_unit("ns")
