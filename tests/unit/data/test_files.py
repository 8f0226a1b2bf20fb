"""The file provider: CSV and Parquet layouts, and errors naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atb.data.files import read_candles_file
from atb.domain.errors import DataError
from tests.support.candle_frames import make_candles

HEADER = "timestamp,open,high,low,close,volume"
GOOD = [
    "2024-01-01T00:00:00Z,100.0,110.0,95.0,105.0,1.5",
    "2024-01-01T01:00:00Z,105.0,108.0,101.0,102.0,2.0",
    "2024-01-01T02:00:00Z,102.0,104.0,99.0,103.0,0.0",
    "2024-01-01T03:00:00Z,103.0,107.0,102.5,106.0,3.25",
]


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_real_sample_imports_cleanly_and_its_gap_is_reported(sample_csv: Path) -> None:
    candles = read_candles_file(sample_csv, timeframe="1h")
    assert len(candles) == 18_000
    assert candles.first == pd.Timestamp("2023-01-01", tz="UTC")
    assert candles.last == pd.Timestamp("2025-01-20", tz="UTC")
    assert not candles.repairs.any
    # The one exchange outage: 12:00 is followed by 14:00, a 2-hour step with 13:00 missing.
    (gap,) = candles.gaps
    assert gap.start == pd.Timestamp("2023-03-24 13:00", tz="UTC")
    assert gap.end == pd.Timestamp("2023-03-24 14:00", tz="UTC")
    assert gap.missing_bars == 1
    assert gap.end - (gap.start - pd.Timedelta(hours=1)) == pd.Timedelta(hours=2)
    assert str(sample_csv) in candles.source


@pytest.mark.parametrize(
    ("header", "times"),
    [
        ("timestamp", ["2024-01-01 00:00:00", "2024-01-01 01:00:00"]),  # naive text is UTC
        ("Time", ["2024-01-01T01:00:00+01:00", "2024-01-01T02:00:00+01:00"]),
        ("open_time", ["1704067200000", "1704070800000"]),  # epoch milliseconds
        ("Date", ["1704067200", "1704070800"]),  # epoch seconds
        ("datetime", ["1704067200.0", "1704070800.0"]),
        ("ts", ["1704067200000000", "1704070800000000"]),  # epoch microseconds
    ],
)
def test_common_csv_layouts_are_read(tmp_path: Path, header: str, times: list[str]) -> None:
    path = write(
        tmp_path / "c.csv",
        f"{header},Open,HIGH,low,close,Volume,ignored",
        f"{times[0]},100,110,95,105,1.5,x",
        f"{times[1]},105,108,101,102,2,y",
    )
    candles = read_candles_file(path, timeframe="1h")
    assert list(candles.index) == [
        pd.Timestamp("2024-01-01 00:00", tz="UTC"),
        pd.Timestamp("2024-01-01 01:00", tz="UTC"),
    ]
    assert candles.frame["close"].tolist() == [105.0, 102.0]


def test_a_csv_written_by_pandas_with_an_unnamed_index_is_read(tmp_path: Path) -> None:
    frame = make_candles(30)
    frame.index.name = None
    frame.to_csv(tmp_path / "p.csv")
    candles = read_candles_file(tmp_path / "p.csv", timeframe="1h")
    pd.testing.assert_frame_equal(candles.frame, make_candles(30), check_freq=False)


def test_parquet_with_a_datetime_index_or_an_epoch_column_is_read(tmp_path: Path) -> None:
    frame = make_candles(50)
    frame.to_parquet(tmp_path / "a.parquet")
    as_column = frame.reset_index()
    as_column["time"] = as_column["time"].astype("int64") // 1_000_000
    as_column.rename(columns={"time": "open_time"}).to_parquet(tmp_path / "b.pq", index=False)
    for name in ("a.parquet", "b.pq"):
        candles = read_candles_file(tmp_path / name, timeframe="1h")
        pd.testing.assert_frame_equal(candles.frame, frame, check_freq=False)


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        (
            "2024-01-01T02:00:00Z,102.0,104.0,99.0,,0.0",
            r"row 3 \(line 4\) at 2024-01-01T02:00:00\+00:00, column 'close': close = nan",
        ),
        (
            "2024-01-01T02:00:00Z,102.0,98.0,99.0,103.0,0.0",
            r"row 3 \(line 4\) at 2024-01-01T02:00:00\+00:00, column 'high': high = 98.0",
        ),
        (
            "2024-01-01T01:00:00Z,102.0,104.0,99.0,103.0,0.0",
            r"row 3 \(line 4\) at 2024-01-01T01:00:00\+00:00, column 'timestamp': duplicate",
        ),
        (
            "2024-01-01T02:00:00Z,102.0,104.0,99.0,103.0,-4",
            r"row 3 \(line 4\) at 2024-01-01T02:00:00\+00:00, column 'volume'",
        ),
        (
            "2024-01-01T02:00:00Z,102.0,104.0,99.0,abc,0.0",
            r"row 3 \(line 4\) at 2024-01-01T02:00:00\+00:00, column 'close': not a number: 'abc'",
        ),
        (
            "Jan 1st 2024,102.0,104.0,99.0,103.0,0.0",
            r"row 3 \(line 4\), column 'timestamp': not an ISO-8601 time .*'Jan 1st 2024'",
        ),
        (",102.0,104.0,99.0,103.0,0.0", r"row 3 \(line 4\), column 'timestamp': missing"),
    ],
)
def test_a_csv_with_one_bad_row_fails_naming_file_row_and_column(
    tmp_path: Path, bad_line: str, expected: str
) -> None:
    path = write(tmp_path / "bad.csv", HEADER, GOOD[0], GOOD[1], bad_line, GOOD[3])
    with pytest.raises(DataError, match=expected) as caught:
        read_candles_file(path, timeframe="1h")
    assert str(caught.value).startswith(f"{path}: ")


def test_repair_option_fixes_order_and_exact_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", HEADER, GOOD[2], GOOD[0], GOOD[1], GOOD[0], GOOD[3])
    with pytest.raises(DataError, match="row 2 \\(line 3\\)"):
        read_candles_file(path, timeframe="1h")
    candles = read_candles_file(path, timeframe="1h", repair=True)
    assert len(candles) == 4
    assert candles.repairs.duplicates_dropped == 1
    assert candles.repairs.reordered


def test_mixed_epoch_units_are_rejected_on_the_odd_row(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv",
        "time,open,high,low,close,volume",
        "1704067200000,1,1,1,1,1",
        "1704070800,1,1,1,1,1",
    )
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column 'time': epoch number"):
        read_candles_file(path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("none.csv", None, "no such file"),
        ("empty.csv", "", "the file is empty"),
        ("data.json", "{}", "unsupported file type"),
        ("notime.csv", "open,high,low,close,volume\n1,1,1,1,1\n", "no time column"),
        ("novol.csv", "time,open,high,low,close\n1704067200,1,1,1,1\n", "missing column"),
        ("broken.parquet", "not parquet at all", "cannot read the file"),
        ("ragged.csv", f"{HEADER}\n{GOOD[0]},1,2,3\n", "cannot read the file"),
    ],
)
def test_unreadable_files_are_data_errors_naming_the_file(
    tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=expected) as caught:
        read_candles_file(path)
    assert str(path) in str(caught.value)
