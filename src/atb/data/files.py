"""The file provider: candles from CSV or Parquet, validated like any other source.

Accepted layouts (column names are case-insensitive and may carry spaces):

- a time column named `timestamp`, `time`, `open_time`, `date`, `datetime` or `ts` holding
  ISO-8601 text (`2023-01-01T00:00:00Z`, `2023-01-01 00:00`; no offset means UTC) or epoch
  seconds, milliseconds, microseconds or nanoseconds (the unit is read from the magnitude);
- or, failing that, a datetime index (Parquet written by pandas, or a CSV whose first column is
  an unnamed index);
- columns `open`, `high`, `low`, `close`, `volume`; any other column is ignored.

Errors name the file, the row (1-based, header excluded; CSV errors add the line number) and the
column.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from atb.data.candles import ValidatedCandles
from atb.data.validation import RowNumbers, validate_candles
from atb.domain.errors import DataError
from atb.domain.timeframes import Timeframe

TIME_COLUMNS: tuple[str, ...] = ("timestamp", "time", "open_time", "date", "datetime", "ts")
"""Names accepted for the time column, in order of preference."""

_CSV_SUFFIXES = (".csv", ".txt", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")
_PARQUET_SUFFIXES = (".parquet", ".pq")

_Fail = Callable[[int, str], DataError]

# Epoch magnitudes: below 1e11 a number is seconds (1e11 s is the year 5138); each further
# factor of 1000 is the next finer unit. Any real candle time falls well inside one band.
_EPOCH_UNITS: tuple[tuple[float, str], ...] = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))
"""Upper magnitude of each epoch unit; anything larger is nanoseconds."""


def read_candles_file(
    path: str | Path,
    *,
    timeframe: str | Timeframe | None = None,
    repair: bool = False,
) -> ValidatedCandles:
    """Read and validate a CSV or Parquet candle file; any problem is a `DataError`.

    With `timeframe`, bars must sit on its boundaries and gaps are reported.
    """
    file = Path(path)
    source = str(file)
    raw, line_offset = _read_table(file)
    frame, time_column = _with_time_index(raw, source, line_offset)
    return validate_candles(
        frame,
        source=source,
        timeframe=timeframe,
        repair=repair,
        rows=RowNumbers.sequential(len(frame), line_offset=line_offset),
        time_column=time_column,
    )


def _read_table(file: Path) -> tuple[pd.DataFrame, int | None]:
    """The file as a raw frame, and the line offset of data rows (None for Parquet)."""
    if not file.is_file():
        raise DataError(f"{file}: no such file")
    name = file.name.lower()
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            return pd.read_parquet(file), None
        if name.endswith(_CSV_SUFFIXES):
            with warnings.catch_warnings():
                # pandas would silently drop the extra fields of a row longer than the header.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                # One header line: data row n sits on line n + 1.
                return pd.read_csv(file, skipinitialspace=True, index_col=False), 1
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{file}: the file is empty") from error
    except pd.errors.ParserWarning as warning:
        raise DataError(f"{file}: cannot read the file: {warning}") from warning
    except (OSError, ValueError) as error:  # parser and Arrow errors are ValueError/OSError
        raise DataError(f"{file}: cannot read the file: {error}") from error
    raise DataError(
        f"{file}: unsupported file type; use CSV ({', '.join(_CSV_SUFFIXES)}) "
        f"or Parquet ({', '.join(_PARQUET_SUFFIXES)})"
    )


def _with_time_index(
    raw: pd.DataFrame, source: str, line_offset: int | None
) -> tuple[pd.DataFrame, str]:
    """Move the time column into a UTC `DatetimeIndex`; return the frame and the column name."""
    frame = raw.rename(columns=lambda name: str(name).strip().lower().replace(" ", "_"))
    rows = RowNumbers.sequential(len(frame), line_offset=line_offset)
    for candidate in TIME_COLUMNS:
        if candidate in frame.columns:
            index = parse_times(frame[candidate], source=source, column=candidate, rows=rows)
            return frame.drop(columns=[candidate]).set_index(index), candidate
    if isinstance(frame.index, pd.DatetimeIndex):
        name = frame.index.name
        return frame, "index" if name is None else str(name)
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first.startswith("unnamed:"):
        index = parse_times(frame[first], source=source, column="index", rows=rows)
        return frame.drop(columns=[first]).set_index(index), "index"
    raise DataError(
        f"{source}: no time column; expected one of {', '.join(TIME_COLUMNS)} "
        f"(found: {', '.join(map(str, raw.columns)) or 'none'})"
    )


def parse_times(
    values: pd.Series, *, source: str, column: str, rows: RowNumbers | None = None
) -> pd.DatetimeIndex:
    """Parse a column of ISO-8601 text or epoch numbers into a UTC `DatetimeIndex`.

    A value that cannot be read is a `DataError` naming the source, the row and `column`.
    """
    locate = rows if rows is not None else RowNumbers.sequential(len(values))

    def fail(position: int, problem: str) -> DataError:
        return DataError(f"{source}: {locate.describe(position)}, column '{column}': {problem}")

    missing = np.flatnonzero(np.asarray(values.isna()))
    if missing.size:
        raise fail(int(missing[0]), "missing timestamp")
    if pd.api.types.is_datetime64_any_dtype(values):
        index = pd.DatetimeIndex(values)
        return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _epoch_index(values.to_numpy(dtype=np.float64), fail)
    first = values.iloc[0] if len(values) else None
    if isinstance(first, str) and not _is_number(first.strip()):
        # The common case, ISO text as read: parsed as it is (no stripped copy of a million
        # strings), by Arrow when it can read every value, else by pandas; any value neither
        # reads falls through to the careful path below.
        arrow = _arrow_iso_times(values)
        if arrow is not None:
            return arrow
        direct = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        if not direct.isna().any():
            return pd.DatetimeIndex(direct)
    text = values.astype(str).str.strip()
    # Epoch numbers only when the first value is one (a million ISO times would otherwise all
    # be tried as numbers first).
    if len(text) == 0 or _is_number(text.iloc[0]):
        numbers = pd.to_numeric(text, errors="coerce")
        if not numbers.isna().any():
            return _epoch_index(numbers.to_numpy(dtype=np.float64), fail)
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(np.asarray(parsed.isna()))
    if bad.size:
        position = int(bad[0])
        raise fail(position, f"not an ISO-8601 time or epoch number: {text.iloc[position]!r}")
    return pd.DatetimeIndex(parsed)


def _arrow_iso_times(values: pd.Series) -> pd.DatetimeIndex | None:
    """ISO-8601 text parsed by Arrow's cast, or None when Arrow cannot read every value.

    pandas keeps text in Arrow arrays, which Arrow's cast parses in place: ~0.04 s for a
    million times where pandas' ISO parser takes ~0.25 s. The cast reads a strict subset of
    what pandas reads (every value with a UTC offset, or every value without one, which is
    UTC; no stray spaces, no out-of-range fields) and gives each the same instant
    (`tests/unit/data/test_time_parsing.py` compares them); anything else is left to pandas.
    """
    try:
        text = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError):
        return None  # not plain text (mixed objects)
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    for target in (pa.timestamp("ns", tz="UTC"), pa.timestamp("ns")):  # offsets, or naive
        try:
            nanos = text.cast(target).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except pa.ArrowException:
            continue
        return pd.DatetimeIndex(pd.to_datetime(nanos, unit="ns", utc=True))
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _epoch_index(numbers: NDArray[np.float64], fail: _Fail) -> pd.DatetimeIndex:
    finite = np.isfinite(numbers)
    if not finite.all():
        raise fail(int(np.argmin(finite)), "timestamp is not a finite number")
    limits = np.array([limit for limit, _ in _EPOCH_UNITS])
    band = np.searchsorted(limits, np.abs(numbers), side="right")
    if numbers.size and (band != band[0]).any():
        position = int(np.argmax(band != band[0]))
        raise fail(
            position,
            f"epoch number {float(numbers[position])!r} has a different unit from the first "
            f"row's ({float(numbers[0])!r})",
        )
    first_band = int(band[0]) if numbers.size else 0
    scale = (1_000_000_000, 1_000_000, 1_000, 1)[first_band]
    if np.array_equal(numbers, np.floor(numbers)):
        # Integer arithmetic: float64 cannot hold every nanosecond epoch exactly.
        nanos = numbers.astype(np.int64) * scale
    else:
        nanos = np.round(numbers * scale).astype(np.int64)
    return pd.DatetimeIndex(pd.to_datetime(nanos, unit="ns", utc=True))
