"""`atb data import`: put a validated file into the cache without silently rewriting history.

Rules (docs/concepts/data.md, "Importing"):

- New bars (times the cache does not hold) are added.
- Bars equal to the cached ones at the same times change nothing (re-importing a file is fine).
- Bars whose values differ from the cached ones are *changes*: without `replace` the import is
  refused with a `DataError` that counts them and names their range, and nothing is written;
  with `replace` the new values win and the count is reported.
- Suspicious prints (`atb.data.outliers`) are flagged; with `drop_outliers` they are not
  imported, and a cached bar at the same time is removed (that too is a change).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from atb.data.cache import CandleCache, file_source
from atb.data.candles import ValidatedCandles
from atb.data.outliers import find_suspicious_bars
from atb.data.ranges import TimeRange
from atb.data.schema import INDEX_DTYPE, OHLCV_COLUMNS
from atb.data.symbols import normalize_symbol
from atb.data.times import format_time
from atb.domain.errors import DataError


@attrs.frozen(slots=True)
class ImportReport:
    """What an import did: the candles stored, and how they compare with what was cached."""

    symbol: str
    candles: ValidatedCandles
    """The imported candles (screened; without the dropped bars when asked to drop them)."""
    new_bars: int
    """Bars at times the cache did not hold."""
    changed: tuple[pd.Timestamp, ...]
    """Times of cached bars the import rewrote or removed."""

    def describe_changes(self) -> str:
        """`0 cached bars changed, 24 new` or `3 cached bars changed (… → …), 0 new`."""
        count = len(self.changed)
        noun = "cached bar" if count == 1 else "cached bars"
        where = f" ({_span(self.changed)})" if self.changed else ""
        return f"{count} {noun} changed{where}, {self.new_bars} new"


def import_candles(
    cache: CandleCache,
    symbol: str,
    candles: ValidatedCandles,
    *,
    file: str | Path,
    fetched_at: pd.Timestamp,
    replace: bool = False,
    drop_outliers: bool = False,
) -> ImportReport:
    """Screen `candles` (read from `file`) and merge them into `cache` under `symbol`.

    Raises `DataError`, writing nothing, when the candles are empty or would change cached
    bars without `replace`.
    """
    pair = normalize_symbol(symbol)
    tf = candles.timeframe
    if tf is None or candles.first is None or candles.last is None:
        raise DataError(f"{file}: no candles to import")
    span = TimeRange(candles.first, candles.last + tf.timedelta)
    screened = attrs.evolve(candles, suspicious=find_suspicious_bars(candles.frame))
    if drop_outliers:
        screened = screened.drop_suspicious()
    cached = cache.load(pair, tf, span)
    dropped = pd.DatetimeIndex([bar.time for bar in screened.dropped], dtype=INDEX_DTYPE)
    rewritten = _rewritten(screened, cached)
    removed = cached.index[cached.index.isin(dropped)]
    changed = tuple(sorted({*rewritten, *removed}))
    if changed and not replace:
        raise DataError(
            f"{file}: {len(changed)} of its bars differ from the cached {pair} {tf} bars "
            f"({_span(changed)}); nothing was written. Pass --replace to overwrite them"
        )
    cache.store(
        pair,
        screened,
        source=file_source(file),
        fetched_at=fetched_at,
        covered=span,
        remove=tuple(removed),
    )
    new_bars = int((~screened.index.isin(cached.index)).sum())
    return ImportReport(symbol=pair, candles=screened, new_bars=new_bars, changed=changed)


def _rewritten(new: ValidatedCandles, cached: ValidatedCandles) -> list[pd.Timestamp]:
    """Times held by both whose values differ (exactly: a re-read file gives the same floats)."""
    common = new.index.intersection(cached.index)
    if not len(common):
        return []
    columns = list(OHLCV_COLUMNS)
    ours = new.frame.loc[common, columns].to_numpy(dtype=np.float64)
    theirs = cached.frame.loc[common, columns].to_numpy(dtype=np.float64)
    differ = np.any(ours != theirs, axis=1)
    return [pd.Timestamp(t) for t in common[differ]]


def _span(times: tuple[pd.Timestamp, ...]) -> str:
    if len(times) == 1:
        return format_time(times[0])
    return f"{format_time(times[0])} → {format_time(times[-1])}"
