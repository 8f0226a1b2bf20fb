"""Instrument rules beyond rounding: decimals of any step, why an order is refused, and the
checks that refuse rules which cannot serve a market or an account."""

from __future__ import annotations

import time

import pytest

from atb.domain.errors import InstrumentError
from atb.domain.instruments import Instrument

ETHBTC = Instrument(
    "ETHBTC",
    tick_size=1e-6,
    lot_step=0.001,
    min_notional=0.001,
    min_quantity=0.001,
    base_asset="ETH",
    quote_asset="BTC",
)


def test_a_tiny_lot_step_rounds_at_once() -> None:
    tiny = Instrument("X", tick_size=1e-8, lot_step=1e-14, min_notional=0.0)
    started = time.perf_counter()
    assert tiny.round_quantity(0.3) == 0.3
    assert tiny.round_quantity(0.123456789012345678) == 0.12345678901234
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    ("step", "quantity", "expected"),
    [(1e-14, 1e-14, 1e-14), (1e-8, 0.69100000999, 0.69100000), (2.5e-7, 1e-6, 1e-6)],
)
def test_round_quantity_on_fine_grids(step: float, quantity: float, expected: float) -> None:
    instrument = Instrument("X", tick_size=1e-8, lot_step=step, min_notional=0.0)
    assert instrument.round_quantity(quantity) == expected


def test_order_problem_names_the_amounts_and_units() -> None:
    assert ETHBTC.order_problem(0.09, 0.012) is None
    assert ETHBTC.order_problem(0.09, 0.0) == "quantity rounds to 0 at lot step 0.001"
    assert ETHBTC.order_problem(0.09, 0.0005) == "quantity 0.0005 ETH below the minimum 0.001 ETH"
    assert ETHBTC.order_problem(0.09, 0.01) == (
        "order value 0.0009 BTC below the minimum 0.001 BTC"
    )
    assert not ETHBTC.meets_min_notional(0.09, 0.01)
    assert ETHBTC.meets_min_notional(0.09, 0.012)


def test_describe_lists_the_rules_with_units() -> None:
    assert ETHBTC.describe() == (
        "tick 1e-06 BTC · lot 0.001 ETH · min qty 0.001 ETH · min order 0.001 BTC"
    )
    plain = Instrument("X", tick_size=0.01, lot_step=1e-5, min_notional=5.0)
    assert plain.describe() == "tick 0.01 · lot 1e-05 · min order 5"


def test_a_tick_coarser_than_a_tenth_of_a_percent_of_the_price_is_refused() -> None:
    usdt_rules = Instrument("ETHBTC", tick_size=0.01, lot_step=1e-5, min_notional=5.0)
    with pytest.raises(InstrumentError) as refused:
        usdt_rules.check_prices(0.0825, 0.106)
    message = str(refused.value)
    assert message.startswith("instrument ETHBTC: tick 0.01 is 12.12% of the lowest price 0.0825")
    assert "--tick-size" in message
    ETHBTC.check_prices(0.0825, 0.106)  # 1e-6 is 0.0012 % of 0.0825: fine
    Instrument("X", tick_size=0.1, lot_step=1.0, min_notional=0.0).check_prices(100.0, 200.0)


def test_an_account_that_can_never_enter_is_refused() -> None:
    with pytest.raises(InstrumentError, match=r"order value 0\.00099 BTC below the minimum 0\.001"):
        # 10 % of 0.01 BTC buys 0.0111 ETH at 0.09 → 0.011 ETH, worth 0.00099 BTC.
        ETHBTC.check_account(0.01, 0.1, 0.09)
    with pytest.raises(InstrumentError, match="quantity rounds to 0 at lot step 1"):
        Instrument("X", tick_size=0.01, lot_step=1.0, min_notional=0.0).check_account(
            100.0, 0.1, 50.0
        )
    ETHBTC.check_account(1.0, 0.1, 0.106)


def test_asset_names_must_be_real_strings() -> None:
    with pytest.raises(ValueError, match="quote_asset must be a non-empty string or None"):
        Instrument("X", tick_size=0.01, lot_step=1.0, min_notional=0.0, quote_asset=" ")
