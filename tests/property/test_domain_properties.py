"""Hypothesis invariants of the domain arithmetic."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from atb.domain.instruments import Instrument
from atb.domain.pnl import average_entry, leg_pnl, unrealized_pnl
from atb.domain.sides import PositionSide

prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
quantities = st.floats(min_value=1e-6, max_value=1e4, allow_nan=False, allow_infinity=False)
steps = st.sampled_from([1e-8, 1e-5, 0.001, 0.01, 0.1, 1.0, 5.0, 0.25])


@given(quantity=st.floats(min_value=0, max_value=1e7, allow_nan=False), step=steps)
def test_rounding_never_increases_a_quantity(quantity: float, step: float) -> None:
    instrument = Instrument(symbol="X", tick_size=0.01, lot_step=step, min_notional=0.0)
    rounded = instrument.round_quantity(quantity)
    assert 0.0 <= rounded <= quantity
    # ... and loses less than one step (plus float noise).
    assert quantity - rounded < step * (1 + 1e-9) + 1e-9 * quantity


@given(p1=prices, q1=quantities, p2=prices, q2=quantities)
def test_average_entry_lies_between_the_two_prices(
    p1: float, q1: float, p2: float, q2: float
) -> None:
    average = average_entry(p1, q1, p2, q2)
    assert min(p1, p2) <= average <= max(p1, p2)


legs = st.lists(
    st.tuples(st.sampled_from(["add", "reduce"]), prices, st.floats(min_value=0.05, max_value=1)),
    min_size=1,
    max_size=12,
)


@given(side=st.sampled_from(list(PositionSide)), first=prices, plan=legs, mark=prices)
def test_realized_plus_unrealized_equals_mark_to_market_change(
    side: PositionSide,
    first: float,
    plan: list[tuple[str, float, float]],
    mark: float,
) -> None:
    """Average-cost accounting: realized + unrealized PnL = every cash flow of the legs plus the
    open quantity valued at the mark, for any sequence of adds and reductions."""
    quantity, entry = 1.0, first
    realized = 0.0
    cash_flow = -side.sign * first * 1.0  # buying (long) costs cash; selling short brings it
    for what, price, share in plan:
        if what == "add":
            added = share
            entry = average_entry(entry, quantity, price, added)
            quantity += added
            cash_flow -= side.sign * price * added
        else:
            sold = quantity * share * 0.999
            realized += leg_pnl(side, entry, price, sold)
            quantity -= sold
            cash_flow += side.sign * price * sold
        assert quantity > 0
    mark_to_market = cash_flow + side.sign * mark * quantity
    total = realized + unrealized_pnl(side, entry, quantity, mark)
    assert abs(total - mark_to_market) <= 1e-7 * max(1.0, abs(mark_to_market), mark * 50)


ticks = st.sampled_from([1e-8, 1e-6, 0.0001, 0.01, 0.5])


@given(price=prices, tick=ticks, side=st.sampled_from(PositionSide))
def test_stops_and_targets_round_against_the_trader(
    price: float, tick: float, side: PositionSide
) -> None:
    instrument = Instrument(symbol="X", tick_size=tick, lot_step=1.0, min_notional=0.0)
    stop, target = instrument.round_stop(price, side), instrument.round_target(price, side)
    # Float noise of a grid price: a millionth of a tick, or two ulps where the price itself
    # cannot carry that many digits (703687.98259879 on a 1e-8 grid is one ulp from its input).
    slack = max(tick * 1e-6, 2 * math.ulp(price))
    if side is PositionSide.LONG:
        # A long's stop never rises (it triggers no sooner), its target never falls.
        assert stop <= price + slack
        assert target >= price - slack
    else:
        assert stop >= price - slack
        assert target <= price + slack
    # Both land on the grid within one tick of the level.
    for level in (stop, target):
        assert abs(level - price) < tick * (1 + 1e-9)
        assert abs(level - round(level / tick) * tick) <= 1e-12 * max(1.0, level)
