"""`parse_times` reads ISO text through Arrow when Arrow can read every value, and through
pandas otherwise: either way each time is the instant pandas' ISO-8601 parser gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.data.files import parse_times
from atb.domain.errors import DataError

ARROW_READS = [  # every value with an offset, or every value without one (UTC)
    ["2024-01-01 00:00:00+00:00", "2024-01-01 00:01:00+00:00"],
    ["2024-01-01T00:00:00Z", "2024-03-31T01:30:00.5Z"],
    ["2024-01-01 05:30:00+05:30", "2024-01-01 00:00:00-01:00", "2024-01-01 00:00:00+0000"],
    ["2024-01-01 00:00:00.123456789+00:00"],
    ["2024-01-01 00:00:00", "2024-01-01", "2024-01-01T00:00", "2024-01-01 07"],
]
PANDAS_READS = [  # Arrow refuses these; pandas' own parser reads them as before
    ["2024-01-01 00:00:00+00:00", "2024-01-01 00:01:00"],  # offsets and naive mixed
    ["20240101T000000Z"],
    ["2024-01-01 00:00:00 ", " 2024-01-01 00:01:00"],  # stray spaces
]


def _pandas(times: list[str]) -> list[int]:
    parsed = pd.to_datetime(pd.Series(times, dtype="str").str.strip(), utc=True, format="ISO8601")
    return pd.DatetimeIndex(parsed).as_unit("ns").asi8.tolist()


def _ours(times: list[str], dtype: str = "str") -> list[int]:
    parsed = parse_times(pd.Series(times, dtype=dtype), source="t.csv", column="time")
    assert str(parsed.tz) == "UTC"
    return parsed.as_unit("ns").asi8.tolist()


@pytest.mark.parametrize("times", ARROW_READS + PANDAS_READS)
@pytest.mark.parametrize("dtype", ["str", "object"])
def test_each_time_is_the_instant_pandas_gives(times: list[str], dtype: str) -> None:
    assert _ours(times, dtype) == _pandas(times)


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S"]),
    st.integers(min_value=-12, max_value=14),
)
def test_any_written_form_reads_back_as_pandas_reads_it(
    moments: list[datetime], layout: str, offset_hours: int
) -> None:
    zone = timezone(timedelta(hours=offset_hours)) if "%z" in layout else UTC
    times = [moment.astimezone(zone).strftime(layout) for moment in moments]
    assert _ours(times) == _pandas(times)


@pytest.mark.parametrize(
    ("bad", "row"),
    [("2024-13-01 00:00:00+00:00", 2), ("2024-02-30 00:00:00", 2), ("yesterday", 2)],
)
def test_a_time_neither_reads_is_named_by_its_row(bad: str, row: int) -> None:
    with pytest.raises(DataError, match=rf"t.csv: row {row}, column 'time': not an ISO-8601"):
        parse_times(
            pd.Series(["2024-01-01 00:00:00+00:00", bad], dtype="str"),
            source="t.csv",
            column="time",
        )
