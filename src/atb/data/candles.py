"""`ValidatedCandles`: a candle frame that passed validation, with what validation learned.

Providers return it, engines consume it. Holding one means the frame follows
`atb.data.schema` (UTC open-time index, unique and sorted; finite OHLC invariants); only
`atb.data.validation.validate_candles` creates one from raw input.
"""

from __future__ import annotations

import hashlib

import attrs
import numpy as np
import pandas as pd

from atb.data.gaps import Gap, find_gaps
from atb.data.outliers import SuspiciousBar
from atb.data.schema import OHLCV_COLUMNS
from atb.data.times import TimeLike, format_time, utc_timestamp
from atb.domain.timeframes import Timeframe

_ROWS_PER_HASH = 32_768
"""Rows of candles gathered into one block for the fingerprint (1.5 MiB)."""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@attrs.frozen(slots=True)
class Repairs:
    """What `validate_candles(..., repair=True)` changed (nothing, by default)."""

    duplicates_dropped: int = 0
    """Rows dropped because an identical row (same time, same values) came before them."""
    reordered: bool = False
    """Whether the rows had to be sorted by time."""

    @property
    def any(self) -> bool:
        """True when the input was changed at all."""
        return self.duplicates_dropped > 0 or self.reordered

    def describe(self) -> str:
        """One line for humans, e.g. `dropped 2 exact duplicate rows; sorted rows by time`."""
        parts = []
        if self.duplicates_dropped:
            parts.append(f"dropped {_count(self.duplicates_dropped, 'exact duplicate row')}")
        if self.reordered:
            parts.append("sorted rows by time")
        return "; ".join(parts) if parts else "no repairs needed"


@attrs.frozen(slots=True, eq=False)
class ValidatedCandles:
    """A validated candle frame plus its provenance, gaps and repairs.

    `warmup_bars` counts the leading rows that lie before the window the caller asked for
    (engines feed them to indicators but take no decision on them; DESIGN §5). `suspicious`
    lists the bars of the frame that `atb.data.outliers` flags, when the frame was screened
    (`load_candles` and `atb data import` screen; `validate_candles` alone does not);
    `dropped` the flagged bars removed on request (they are now gaps). `notes` are sentences for
    the user about how the candles were chosen, e.g. where a window without an end stopped.
    """

    frame: pd.DataFrame
    source: str
    timeframe: Timeframe | None
    gaps: tuple[Gap, ...] = ()
    repairs: Repairs = Repairs()
    synthetic: bool = False
    warmup_bars: int = 0
    suspicious: tuple[SuspiciousBar, ...] = ()
    dropped: tuple[SuspiciousBar, ...] = ()
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def index(self) -> pd.DatetimeIndex:
        """Bar open times (UTC)."""
        index = self.frame.index
        assert isinstance(index, pd.DatetimeIndex)
        return index

    @property
    def first(self) -> pd.Timestamp | None:
        """Open time of the first bar, or None when empty."""
        return self.index[0] if len(self.frame) else None

    @property
    def last(self) -> pd.Timestamp | None:
        """Open time of the last bar, or None when empty."""
        return self.index[-1] if len(self.frame) else None

    @property
    def missing_bars(self) -> int:
        """Total bars missing inside the series (sum over gaps)."""
        return sum(gap.missing_bars for gap in self.gaps)

    def describe(self) -> str:
        """One line: source, bar count, range, gaps (and `SYNTHETIC` when it is)."""
        tag = " [SYNTHETIC]" if self.synthetic else ""
        tf = f" {self.timeframe}" if self.timeframe else ""
        if self.first is None or self.last is None:
            return f"{self.source}{tag}:{tf} no bars"
        gaps = (
            f", {_count(len(self.gaps), 'gap')} ({_count(self.missing_bars, 'bar')} missing)"
            if self.gaps
            else ""
        )
        warmup = f" (incl. {self.warmup_bars} warm-up)" if self.warmup_bars else ""
        return (
            f"{self.source}{tag}:{tf} {len(self)} bars{warmup}, "
            f"{format_time(self.first)} → {format_time(self.last)}{gaps}"
        )

    def fingerprint(self) -> str:
        """SHA-256 of the index and values: the same candles always give the same hex digest."""
        digest = hashlib.sha256()
        # Hashed from the arrays' buffers: `tobytes()` would copy a million-bar frame again.
        digest.update(np.ascontiguousarray(self.index.as_unit("ns").asi8).data)
        values = self.frame[list(OHLCV_COLUMNS)].to_numpy(dtype=np.float64)
        # The rows in order, as a C-order matrix spells them; the frame keeps its columns apart
        # (column-major), so the rows are gathered a block at a time, not copied whole.
        for start in range(0, len(values), _ROWS_PER_HASH):
            digest.update(np.ascontiguousarray(values[start : start + _ROWS_PER_HASH]).data)
        return digest.hexdigest()

    def select(
        self, start: TimeLike | None = None, end: TimeLike | None = None, *, warmup: int = 0
    ) -> ValidatedCandles:
        """Bars with `start <= time < end`, plus up to `warmup` bars just before `start`.

        The result's `warmup_bars` says how many warm-up bars were actually available.
        """
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        index = self.index
        lo = 0 if start is None else int(index.searchsorted(utc_timestamp(start), side="left"))
        hi = len(index) if end is None else int(index.searchsorted(utc_timestamp(end), "left"))
        hi = max(hi, lo)
        first = max(0, lo - warmup)
        frame = self.frame.iloc[first:hi]
        sliced = frame.index
        assert isinstance(sliced, pd.DatetimeIndex)
        gaps = find_gaps(sliced, self.timeframe) if self.timeframe else ()
        return attrs.evolve(
            self,
            frame=frame,
            gaps=gaps,
            warmup_bars=lo - first,
            suspicious=_within(self.suspicious, sliced),
            dropped=_within(self.dropped, sliced),
        )

    def drop_suspicious(self) -> ValidatedCandles:
        """These candles without the bars in `suspicious`; they move to `dropped`.

        Nothing is put in their place: each dropped bar becomes a gap, reported in `gaps` like
        any other (an invented candle would be a price that never traded).
        """
        if not self.suspicious:
            return self
        times = pd.DatetimeIndex([bar.time for bar in self.suspicious])
        keep = ~np.asarray(self.index.isin(times), dtype=np.bool_)
        frame = self.frame[keep]
        index = frame.index
        assert isinstance(index, pd.DatetimeIndex)
        return attrs.evolve(
            self,
            frame=frame,
            gaps=find_gaps(index, self.timeframe) if self.timeframe else (),
            warmup_bars=int(keep[: self.warmup_bars].sum()),
            suspicious=(),
            dropped=tuple(sorted((*self.dropped, *self.suspicious), key=_bar_order)),
        )


def _bar_order(bar: SuspiciousBar) -> tuple[pd.Timestamp, str]:
    return bar.time, bar.column


def _within(bars: tuple[SuspiciousBar, ...], index: pd.DatetimeIndex) -> tuple[SuspiciousBar, ...]:
    """The flagged bars that fall inside the span of `index` (a contiguous slice)."""
    if not bars or not len(index):
        return ()
    return tuple(bar for bar in bars if index[0] <= bar.time <= index[-1])
