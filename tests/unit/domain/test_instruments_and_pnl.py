"""Instrument rounding and PnL arithmetic on hand-computed values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.domain.instruments import Instrument
from atb.domain.pnl import average_entry, leg_pnl, move_from, unrealized_pnl
from atb.domain.sides import PositionSide

BTC = Instrument(symbol="BTCUSDT", tick_size=0.01, lot_step=0.00001, min_notional=5.0)


@pytest.mark.parametrize(
    ("price", "expected"),
    [(100.004, 100.0), (100.005, 100.01), (16541.7749, 16541.77), (0.006, 0.01)],
)
def test_round_price_to_nearest_tick(price: float, expected: float) -> None:
    assert BTC.round_price(price) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("quantity", "step", "expected"),
    [
        (0.123456, 0.00001, 0.12345),
        (0.3, 0.1, 0.3),
        (0.29999999, 0.1, 0.2),
        (7.0, 5.0, 5.0),
        (4.99, 5.0, 0.0),
        (-1.0, 0.1, 0.0),
        (float("nan"), 0.1, 0.0),
    ],
)
def test_round_quantity_down_to_lot_step(quantity: float, step: float, expected: float) -> None:
    instrument = Instrument(symbol="X", tick_size=0.01, lot_step=step, min_notional=0.0)
    assert instrument.round_quantity(quantity) == pytest.approx(expected, abs=1e-15)


def test_min_notional() -> None:
    assert BTC.meets_min_notional(50_000.0, 0.0001)
    assert not BTC.meets_min_notional(40_000.0, 0.0001)
    assert not BTC.meets_min_notional(40_000.0, 0.0)


def test_instrument_rejects_bad_rules() -> None:
    with pytest.raises(ValueError, match="tick_size must be finite and > 0, got 0"):
        Instrument(symbol="X", tick_size=0, lot_step=1.0, min_notional=0.0)


def test_pnl_long_and_short() -> None:
    assert leg_pnl(PositionSide.LONG, 100.0, 110.0, 2.0) == pytest.approx(20.0)
    assert leg_pnl(PositionSide.SHORT, 100.0, 110.0, 2.0) == pytest.approx(-20.0)
    assert unrealized_pnl(PositionSide.SHORT, 100.0, 3.0, 90.0) == pytest.approx(30.0)
    assert move_from(PositionSide.LONG, 100.0, 103.0) == pytest.approx(0.03)
    assert move_from(PositionSide.SHORT, 100.0, 103.0) == pytest.approx(-0.03)


def test_average_entry() -> None:
    assert average_entry(100.0, 1.0, 110.0, 1.0) == pytest.approx(105.0)
    assert average_entry(100.0, 3.0, 120.0, 1.0) == pytest.approx(105.0)
    with pytest.raises(ValueError, match="total quantity must be > 0"):
        average_entry(100.0, 0.0, 110.0, 0.0)


@pytest.mark.parametrize(
    ("price", "up", "down"),
    [(100.001, 100.01, 100.0), (100.0, 100.0, 100.0), (99.999, 100.0, 99.99), (0.3, 0.3, 0.3)],
)
def test_directional_price_rounding(price: float, up: float, down: float) -> None:
    assert BTC.round_price_up(price) == pytest.approx(up, abs=1e-12)
    assert BTC.round_price_down(price) == pytest.approx(down, abs=1e-12)


def test_snap_quantity_removes_binary_noise() -> None:
    instrument = Instrument(symbol="X", tick_size=0.01, lot_step=0.1, min_notional=0.0)
    assert 0.3 - 0.2 != 0.1
    assert instrument.snap_quantity(0.3 - 0.2) == 0.1
    assert instrument.snap_quantity(0.7 * 0.1 * 10) == 0.7


def test_a_stop_on_the_grid_keeps_its_tick_at_large_prices() -> None:
    # 295,362.41 × 0.98 is 289,455.1618; the stop is 289,455.16 — and filling at that level must
    # not round it down again to .15 (3e7 ticks: one unit in the last place is ~4e-9 ticks).
    stop = BTC.round_stop(295362.41 * 0.98, PositionSide.LONG)
    assert stop == 289455.16
    assert BTC.round_price_down(stop * (1.0 - 0.0)) == 289455.16
    assert BTC.round_price_up(stop) == 289455.16


@given(ticks=st.integers(min_value=1, max_value=10**11))
def test_a_price_on_the_grid_is_a_fixed_point_of_every_rounding(ticks: int) -> None:
    price = round(ticks * 0.01, 2)
    assert BTC.round_price_down(price) == price
    assert BTC.round_price_up(price) == price
    assert BTC.round_price(price) == price
