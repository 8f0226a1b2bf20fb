"""`equity.parquet` holds the very float64 bits it is given (NaN, ±inf and -0.0 included) and a
UTC nanosecond time column, whatever the number of rows."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from atb.reporting.equity_parquet import equity_parquet, write_equity_parquet


def _read(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


def test_every_bit_survives_the_round_trip() -> None:
    values = np.array([1.5, -0.0, np.nan, np.inf, -np.inf, 5e-324, 0.1 + 0.2])
    times = np.arange(values.size, dtype=np.int64) * 60_000_000_000 + 1_700_000_000_000_000_000
    frame = _read(equity_parquet(("time", "equity"), times, [values]))
    assert list(frame.columns) == ["time", "equity"]
    read = frame["equity"].to_numpy(dtype=np.float64)
    assert read.view(np.int64).tolist() == values.view(np.int64).tolist()
    index = pd.DatetimeIndex(frame["time"])
    assert str(index.tz) == "UTC"
    assert index.as_unit("ns").asi8.tolist() == times.tolist()


def test_an_empty_curve_is_a_file_with_its_columns_and_no_rows() -> None:
    empty = np.array([], dtype=np.float64)
    frame = _read(equity_parquet(("time", "a", "b"), np.array([], dtype=np.int64), [empty, empty]))
    assert list(frame.columns) == ["time", "a", "b"]
    assert len(frame) == 0


def test_the_writer_leaves_its_file_open_and_refuses_a_wrong_column_count() -> None:
    sink = io.BytesIO()
    write_equity_parquet(sink, ("time", "x"), np.array([0], dtype=np.int64), [np.array([1.0])])
    assert not sink.closed
    assert sink.getvalue()[:4] == b"PAR1"
    with pytest.raises(ValueError, match="3 column names for 2 columns"):
        equity_parquet(("time", "a", "b"), np.array([0], dtype=np.int64), [np.array([1.0])])
