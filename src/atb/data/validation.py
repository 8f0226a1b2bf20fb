"""`validate_candles`: the one gate every candle source goes through (DESIGN §7).

Checks, all vectorised (a million rows take well under a second):

- the index holds valid timestamps (converted to UTC, nanoseconds);
- the five columns exist and hold numbers; values are finite;
- prices are > 0, volume is >= 0;
- `high >= max(open, close)` and `low <= min(open, close)` (so `high >= low` too);
- timestamps strictly increase (no duplicates, no disorder) and, when the timeframe is known,
  sit on the timeframe's bar boundaries.

When several rows are bad, the error names the first of them (in input order), its column and
value, and how many rows failed in total. `repair=True` first sorts by time and drops *exact*
duplicate rows, reporting it; conflicting duplicates (same time, other values) stay an error,
since no rule can tell which of the two is right. Gaps are reported, never filled.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from atb.data.candles import Repairs, ValidatedCandles
from atb.data.gaps import find_gaps
from atb.data.schema import INDEX_NAME, OHLCV_COLUMNS
from atb.domain.errors import DataError
from atb.domain.timeframes import Timeframe, parse_timeframe

_OPEN, _HIGH, _LOW, _CLOSE, _VOLUME = range(5)

Bool1D = NDArray[np.bool_]


@attrs.frozen(slots=True)
class RowNumbers:
    """Where each frame row came from in a file, so errors can point at it.

    `numbers[i]` is the 1-based data row (header excluded) of frame row `i`; `line_offset` is
    added to get a line number in a text file (1 for a CSV with one header line), or None when
    lines mean nothing (Parquet).
    """

    numbers: NDArray[np.int64]
    line_offset: int | None = None

    @classmethod
    def sequential(cls, count: int, *, line_offset: int | None = None) -> RowNumbers:
        """Rows 1..count in order."""
        return cls(np.arange(1, count + 1, dtype=np.int64), line_offset)

    def describe(self, position: int) -> str:
        """`row 12 (line 13)` for frame row `position`."""
        number = int(self.numbers[position])
        if self.line_offset is None:
            return f"row {number}"
        return f"row {number} (line {number + self.line_offset})"


def _bool_mask(mask: object) -> Bool1D:
    return np.asarray(mask, dtype=np.bool_)


@attrs.frozen(slots=True)
class _Problem:
    """One failed check: where the first bad row is, and how to describe it."""

    mask: Bool1D = attrs.field(converter=_bool_mask)
    column: Callable[[int], str]
    message: Callable[[int], str]


def validate_candles(
    frame: pd.DataFrame,
    *,
    source: str,
    timeframe: str | Timeframe | None,
    repair: bool = False,
    rows: RowNumbers | None = None,
    time_column: str = INDEX_NAME,
    synthetic: bool = False,
) -> ValidatedCandles:
    """Check `frame` against the candle schema and return it normalised, or raise `DataError`.

    `frame` needs a `DatetimeIndex` (naive means UTC) and columns open/high/low/close/volume
    (case-insensitive; others are dropped). `source` names the input in messages (a file path,
    `binance BTCUSDT 1h`, ...); `rows` maps frame rows to file rows; `time_column` is the name
    the input used for the timestamps. The result has the exact schema of `atb.data.schema`.
    """
    tf = parse_timeframe(timeframe) if timeframe is not None else None
    index = _utc_index(frame, source)
    values = _numeric_values(frame, index, source, rows)
    row_numbers = rows.numbers if rows is not None else None
    repairs = Repairs()
    if repair:
        index, values, row_numbers, repairs = _repair(index, values, row_numbers)
    located = (
        RowNumbers(row_numbers, rows.line_offset)
        if rows is not None and row_numbers is not None
        else None
    )
    problems = [*_value_problems(values), *_time_problems(index, tf, time_column, repair)]
    _raise_first(problems, index, source, located)
    clean = pd.DataFrame(values, index=index, columns=list(OHLCV_COLUMNS), copy=False)
    return ValidatedCandles(
        frame=clean,
        source=source,
        timeframe=tf,
        gaps=find_gaps(index, tf) if tf is not None else (),
        repairs=repairs,
        synthetic=synthetic,
    )


def _utc_index(frame: pd.DataFrame, source: str) -> pd.DatetimeIndex:
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"{source}: candles need timestamps as the index (got {type(index).__name__})"
        )
    missing = np.flatnonzero(np.asarray(index.isna()))
    if missing.size:
        raise DataError(f"{source}: row {int(missing[0]) + 1}: missing timestamp")
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    # No `freq`: frames from every provider must compare equal, and gaps are normal.
    stamps = pd.to_datetime(index.as_unit("ns").asi8, unit="ns", utc=True)
    return pd.DatetimeIndex(stamps, name=INDEX_NAME)


def _numeric_values(
    frame: pd.DataFrame, index: pd.DatetimeIndex, source: str, rows: RowNumbers | None
) -> NDArray[np.float64]:
    by_lower = {str(name).strip().lower(): name for name in frame.columns}
    absent = [column for column in OHLCV_COLUMNS if column not in by_lower]
    if absent:
        raise DataError(
            f"{source}: missing column(s) {', '.join(absent)} "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    # Column-major: every check below reads whole columns, and the frame keeps the block as is.
    values = np.empty((len(OHLCV_COLUMNS), len(frame)), dtype=np.float64).T
    for position, column in enumerate(OHLCV_COLUMNS):
        series = frame[by_lower[column]]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values[:, position] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        numbers = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(np.asarray(numbers.isna() & series.notna()))
        if bad.size:
            row = int(bad[0])
            where = rows.describe(row) if rows is not None else "bar"
            raise DataError(
                f"{source}: {where} at {index[row].isoformat()}, column '{column}': "
                f"not a number: {series.iloc[row]!r}"
            )
        values[:, position] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _repair(
    index: pd.DatetimeIndex, values: NDArray[np.float64], rows: NDArray[np.int64] | None
) -> tuple[pd.DatetimeIndex, NDArray[np.float64], NDArray[np.int64] | None, Repairs]:
    stamps = index.asi8
    reordered = bool(np.any(np.diff(stamps) < 0))
    if reordered:
        # A stable sort keeps the first of two equal timestamps first, so "first wins" below.
        order = np.argsort(stamps, kind="stable")
        stamps, values = stamps[order], values[order]
        rows = rows[order] if rows is not None else None
    same_time = np.concatenate(([False], np.diff(stamps) == 0))
    # NaN never equals NaN, so a duplicated bad row survives and is reported below.
    same_values = np.concatenate(([False], np.all(values[1:] == values[:-1], axis=1)))
    exact = same_time & same_values
    dropped = int(exact.sum())
    if dropped:
        keep = ~exact
        stamps, values = stamps[keep], values[keep]
        rows = rows[keep] if rows is not None else None
    repaired = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True).as_unit("ns"), name=INDEX_NAME)
    return repaired, values, rows, Repairs(duplicates_dropped=dropped, reordered=reordered)


def _value_problems(values: NDArray[np.float64]) -> list[_Problem]:
    """Checks on the values, most basic first (a NaN row is reported as NaN, not as high < low)."""
    names = OHLCV_COLUMNS

    def cell(row: int, column: int) -> str:
        return f"{names[column]} = {float(values[row, column])!r}"

    finite = np.isfinite(values)
    not_finite = ~finite.all(axis=1)

    def first_not_finite(row: int) -> int:
        return int(np.argmin(finite[row]))

    prices = values[:, :_VOLUME]
    with np.errstate(invalid="ignore"):
        not_positive_cells = finite[:, :_VOLUME] & (prices <= 0)
        negative_volume = finite[:, _VOLUME] & (values[:, _VOLUME] < 0)
        body_top = np.maximum(values[:, _OPEN], values[:, _CLOSE])
        body_bottom = np.minimum(values[:, _OPEN], values[:, _CLOSE])
        high_low = values[:, _HIGH] < body_top
        low_high = values[:, _LOW] > body_bottom

    def first_not_positive(row: int) -> int:
        return int(np.argmax(not_positive_cells[row]))

    return [
        _Problem(
            not_finite,
            lambda row: names[first_not_finite(row)],
            lambda row: f"{cell(row, first_not_finite(row))} is not a finite number",
        ),
        _Problem(
            not_positive_cells.any(axis=1),
            lambda row: names[first_not_positive(row)],
            lambda row: f"{cell(row, first_not_positive(row))}: prices must be > 0",
        ),
        _Problem(
            negative_volume,
            lambda _row: "volume",
            lambda row: f"{cell(row, _VOLUME)}: volume must be >= 0",
        ),
        _Problem(
            high_low,
            lambda _row: "high",
            lambda row: (
                f"{cell(row, _HIGH)} is below max(open, close) = {float(body_top[row])!r}"
                f" ({_cells(values, row, _OPEN, _CLOSE, _LOW)})"
            ),
        ),
        _Problem(
            low_high,
            lambda _row: "low",
            lambda row: (
                f"{cell(row, _LOW)} is above min(open, close) = {float(body_bottom[row])!r}"
                f" ({_cells(values, row, _OPEN, _CLOSE, _HIGH)})"
            ),
        ),
    ]


def _cells(values: NDArray[np.float64], row: int, *columns: int) -> str:
    return ", ".join(f"{OHLCV_COLUMNS[c]} {float(values[row, c])!r}" for c in columns)


def _time_problems(
    index: pd.DatetimeIndex, timeframe: Timeframe | None, time_column: str, repaired: bool
) -> list[_Problem]:
    stamps = index.asi8
    step = np.diff(stamps)
    duplicate = np.concatenate(([False], step == 0))
    backwards = np.concatenate(([False], step < 0))

    def disorder(row: int) -> str:
        # Hashing a million timestamps costs more than the other checks together: only for
        # the message of a file that has a row out of order.
        if bool(index[: row + 1].duplicated(keep="first")[row]):
            return "duplicate timestamp (the same time appears on an earlier row)"
        return f"timestamp is earlier than the previous row's ({index[row - 1].isoformat()})"

    twin = (
        "conflicting duplicate: another row has this time but different values"
        if repaired
        else "duplicate timestamp (same as the previous row)"
    )
    problems = [
        _Problem(duplicate, lambda _row: time_column, lambda _row: twin),
        _Problem(backwards, lambda _row: time_column, disorder),
    ]
    if timeframe is not None:
        misaligned = stamps % timeframe.nanoseconds != 0
        problems.append(
            _Problem(
                misaligned,
                lambda _row: time_column,
                lambda _row: f"timestamp is not on a {timeframe} bar boundary",
            )
        )
    return problems


def _raise_first(
    problems: list[_Problem],
    index: pd.DatetimeIndex,
    source: str,
    rows: RowNumbers | None,
) -> None:
    """Raise for the earliest bad row (ties go to the more basic check), or return."""
    firsts = [int(np.argmax(p.mask)) if p.mask.any() else len(index) for p in problems]
    row = min(firsts, default=len(index))
    if row >= len(index):
        return
    problem = problems[firsts.index(row)]
    bad_rows = int(np.logical_or.reduce([p.mask for p in problems]).sum())
    where = rows.describe(row) if rows is not None else "bar"
    total = f" ({bad_rows} bad rows in total)" if bad_rows > 1 else ""
    raise DataError(
        f"{source}: {where} at {index[row].isoformat()}, column '{problem.column(row)}': "
        f"{problem.message(row)}{total}"
    )
