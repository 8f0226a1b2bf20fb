"""`trades.csv` (one row per leg, exact values) and `equity.csv` (one row per bar)."""

from __future__ import annotations

import csv
import io
import math

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.reporting.csv_files import (
    EQUITY_COLUMNS,
    TRADE_COLUMNS,
    equity_csv,
    number_cells,
    trades_csv,
)
from atb.reporting.jsonable import csv_number
from atb.results import EquityCurve
from tests.support.result_builder import build_result


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_trades_csv_has_one_row_per_leg_with_exact_values() -> None:
    result = build_result()
    text = trades_csv(result)
    lines = text.splitlines()
    assert lines[0] == ",".join(TRADE_COLUMNS)
    assert len(lines) == 1 + 4 + 2 + 1  # p1: 4 legs, p2: 2 legs, open p3: 1 leg
    assert lines[1] == (
        "p1,closed,BTCUSDT,long,1,entry,2024-01-30T08:00:00Z,buy,100.0,1.0,0.125,0.25,taker,"
        "bt-o0000001,signal,take_profit,6.625"
    )
    assert lines[3] == (
        "p1,closed,BTCUSDT,long,3,partial-exit,2024-01-31T00:00:00Z,sell,105.0,0.5,0.0625,"
        "0.125,taker,bt-o0000003,partial exit 1,take_profit,6.625"
    )
    assert lines[6] == (
        "p2,closed,BTCUSDT,short,2,exit,2024-02-01T16:00:00Z,buy,106.0,2.0,0.25,0.25,taker,"
        "bt-o0000006,stop_loss,stop_loss,-4.5"
    )
    assert result.open_position is not None
    net = result.open_position.net_pnl
    assert lines[7] == (
        "p3,open,BTCUSDT,long,1,entry,2024-02-04T00:00:00Z,buy,102.0,1.0,0.125,0.0,taker,"
        f"bt-o0000007,signal,,{net!r}"
    )
    assert text.endswith("\n")
    assert "\r" not in text


def test_trade_legs_sum_to_the_trade_totals() -> None:
    result = build_result(with_open_position=False)
    rows = _rows(trades_csv(result))
    assert {row["status"] for row in rows} == {"closed"}
    for trade in result.trades:
        legs = [row for row in rows if row["trade_id"] == trade.trade_id]
        assert len(legs) == len(trade.legs)
        assert sum(float(row["fee"]) for row in legs) == trade.fees
        assert sum(float(row["slippage"]) for row in legs) == trade.slippage
        assert {row["net_pnl"] for row in legs} == {repr(trade.pnl)}


def test_equity_csv_rows_and_derived_columns() -> None:
    result = build_result()
    rows = _rows(equity_csv(result))
    assert list(rows[0]) == list(EQUITY_COLUMNS)
    assert len(rows) == 36
    assert rows[0] == {
        "time": "2024-01-30T00:00:00Z",
        "equity": "10000.0",
        "close": "103.0",
        "exposure": "0.0",
        "drawdown": "0.0",
        "buy_and_hold_equity": "10000.0",
    }
    curve = result.equity
    for index, row in enumerate(rows):
        assert float(row["equity"]) == curve.equity[index]
        assert float(row["close"]) == curve.close[index]
        assert float(row["exposure"]) == curve.exposure[index]
    peak = 10_000.0
    for index, row in enumerate(rows):
        peak = max(peak, float(curve.equity[index]))
        assert float(row["drawdown"]) == 1.0 - float(curve.equity[index]) / peak
    hold = 10_000.0 * float(curve.close[-1]) / float(curve.close[0])
    assert float(rows[-1]["buy_and_hold_equity"]) == hold
    assert max(float(row["drawdown"]) for row in rows) == result.metrics.max_drawdown


def test_equity_csv_writes_an_empty_cell_for_non_finite_values() -> None:
    result = build_result()
    exposure = result.equity.exposure.copy()
    exposure[3] = math.nan
    exposure[4] = math.inf
    curve = attrs.evolve(result.equity, exposure=exposure)
    assert isinstance(curve, EquityCurve)
    text = equity_csv(attrs.evolve(result, equity=curve))
    rows = _rows(text)
    assert rows[3]["exposure"] == ""
    assert rows[4]["exposure"] == ""
    assert "nan" not in text.lower()
    assert "inf" not in text.lower()


def test_csv_files_are_byte_identical_for_the_same_result() -> None:
    assert trades_csv(build_result()) == trades_csv(build_result())
    assert equity_csv(build_result()) == equity_csv(build_result())


def test_a_curve_longer_than_one_slice_is_written_row_for_row() -> None:
    result = build_result()
    bars = 70_000  # more than one slice of rows
    rng = np.random.default_rng(3)
    equity = np.asarray(10_000.0 * np.cumprod(1.0 + rng.normal(0.0, 0.001, bars)), np.float64)
    close = np.asarray(100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.002, bars)), np.float64)
    curve = EquityCurve(
        times_ns=np.arange(bars, dtype=np.int64) * 3_600_000_000_000 + 1_704_067_200_000_000_000,
        equity=equity,
        close=close,
        exposure=np.zeros(bars),
    )
    rows = _rows(equity_csv(attrs.evolve(result, equity=curve, initial_balance=10_000.0)))
    assert len(rows) == bars
    assert [float(row["equity"]) for row in rows] == equity.tolist()
    assert [float(row["close"]) for row in rows] == close.tolist()
    assert rows[65_536]["time"] == "2031-06-23T16:00:00Z"
    peak = np.maximum.accumulate(np.concatenate(([10_000.0], equity)))[1:]
    assert float(rows[-1]["drawdown"]) == pytest.approx(1.0 - equity[-1] / peak[-1], abs=1e-15)


_CELL_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.5, 10_000.0, 0.1 + 0.2, math.nan, math.inf]),
)


@given(st.lists(st.tuples(_CELL_VALUES, st.integers(1, 6)), max_size=40))
def test_number_cells_formats_runs_of_repeated_values_like_each_value_alone(
    runs: list[tuple[float, int]],
) -> None:
    # Runs of equal neighbours (a flat account's equity) are formatted once and repeated; the
    # cells are still exactly `csv_number` of every value, -0.0 and NaN included.
    values = np.array([value for value, count in runs for _ in range(count)], dtype=np.float64)
    assert number_cells(values) == [csv_number(value) for value in values.tolist()]


def test_number_cells_keeps_the_sign_of_zero_inside_a_run_of_zeros() -> None:
    values = np.array([0.0, 0.0, -0.0, -0.0, 0.0, 2.5, 2.5, math.nan])
    assert number_cells(values) == ["0.0", "0.0", "-0.0", "-0.0", "0.0", "2.5", "2.5", ""]
