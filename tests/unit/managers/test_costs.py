"""CostCalculator: fees on notional, slippage against the trader, tick rounding, clamping into
the bar, and turning a fraction of equity into a lot-rounded quantity with the fee included."""

from __future__ import annotations

import pytest

from atb.domain.fills import Liquidity
from atb.domain.instruments import Instrument
from atb.domain.sides import OrderAction
from atb.managers.costs import CostCalculator, PricedExecution
from atb.managers.execution_config import CostConfig
from atb.managers.run_config import RunConfiguration
from tests.support.builders import INSTRUMENT

COSTS = CostConfig(taker_fee=0.001, maker_fee=0.0005, slippage=0.0005)
CALC = CostCalculator(COSTS, INSTRUMENT)


def test_default_costs_are_the_documented_ones() -> None:
    costs = RunConfiguration.default().costs
    assert (costs.taker_fee, costs.maker_fee, costs.slippage) == (0.001, 0.001, 0.0005)


def test_fee_rate_by_liquidity() -> None:
    assert CALC.fee_rate(Liquidity.TAKER) == 0.001
    assert CALC.fee_rate(Liquidity.MAKER) == 0.0005


def test_taker_buy_slips_up_and_pays_taker_fee_on_notional() -> None:
    execution = CALC.taker_fill(100.0, OrderAction.BUY, 2.0, low=90.0, high=110.0)
    assert execution.price == pytest.approx(100.05)
    assert execution.fee == pytest.approx(100.05 * 2.0 * 0.001)
    assert execution.slippage == pytest.approx(0.05 * 2.0)
    assert execution.liquidity is Liquidity.TAKER


def test_taker_sell_slips_down() -> None:
    execution = CALC.taker_fill(100.0, OrderAction.SELL, 2.0, low=90.0, high=110.0)
    assert execution.price == pytest.approx(99.95)
    assert execution.fee == pytest.approx(99.95 * 2.0 * 0.001)
    assert execution.slippage == pytest.approx(0.1)


def test_maker_fill_has_no_slippage_and_pays_maker_fee() -> None:
    execution = CALC.maker_fill(105.0, 2.0)
    assert isinstance(execution, PricedExecution)
    assert (execution.price, execution.slippage) == (105.0, 0.0)
    assert execution.fee == pytest.approx(105.0 * 2.0 * 0.0005)
    assert execution.liquidity is Liquidity.MAKER


def test_zero_slippage_fills_at_the_reference() -> None:
    calc = CostCalculator(CostConfig(taker_fee=0.0, maker_fee=0.0, slippage=0.0), INSTRUMENT)
    execution = calc.taker_fill(123.45, OrderAction.BUY, 1.0, low=120.0, high=125.0)
    assert (execution.price, execution.fee, execution.slippage) == (123.45, 0.0, 0.0)


def test_slipped_price_is_rounded_to_the_nearest_tick() -> None:
    coarse = Instrument("X", tick_size=0.5, lot_step=0.001, min_notional=0.0)
    calc = CostCalculator(CostConfig(taker_fee=0.0, maker_fee=0.0, slippage=0.003), coarse)
    # 100 × 1.003 = 100.3 → 100.5; 100 × 0.997 = 99.7 → 99.5
    assert calc.taker_price(100.0, OrderAction.BUY, 90.0, 110.0) == 100.5
    assert calc.taker_price(100.0, OrderAction.SELL, 90.0, 110.0) == 99.5
    execution = calc.taker_fill(100.0, OrderAction.BUY, 4.0, 90.0, 110.0)
    assert execution.slippage == pytest.approx(0.5 * 4.0)


def test_buy_is_clamped_to_the_bar_high() -> None:
    execution = CALC.taker_fill(100.0, OrderAction.BUY, 3.0, low=99.0, high=100.02)
    assert execution.price == 100.02
    assert execution.slippage == pytest.approx(0.02 * 3.0)
    assert execution.fee == pytest.approx(100.02 * 3.0 * 0.001)


def test_sell_is_clamped_to_the_bar_low() -> None:
    execution = CALC.taker_fill(100.0, OrderAction.SELL, 3.0, low=99.99, high=101.0)
    assert execution.price == 99.99
    assert execution.slippage == pytest.approx(0.03)


def test_fraction_one_spends_all_equity_including_the_fee() -> None:
    equity, price = 10_000.0, 100.0
    quantity = CALC.entry_quantity(1.0, equity, price)
    # 10 000 / (100 × 1.001) = 99.9000999… → 99.9 on the 0.001 lot grid
    assert quantity == pytest.approx(99.9)
    spent = quantity * price * (1.0 + COSTS.taker_fee)
    assert spent <= equity
    assert equity - spent < INSTRUMENT.lot_step * price * (1.0 + COSTS.taker_fee)


def test_fraction_of_equity_is_sized_with_the_fee() -> None:
    # 0.5 × 10 000 / 100.1 = 49.95004… → 49.95
    assert CALC.entry_quantity(0.5, 10_000.0, 100.0) == pytest.approx(49.95)


def test_entry_quantity_rounds_down_to_the_lot_step() -> None:
    whole_lots = Instrument("X", tick_size=0.01, lot_step=1.0, min_notional=0.0)
    no_fee = CostConfig(taker_fee=0.0, maker_fee=0.0, slippage=0.0)
    assert CostCalculator(no_fee, whole_lots).entry_quantity(1.0, 1000.0, 30.0) == 33.0
    hundredths = Instrument("X", tick_size=0.01, lot_step=0.01, min_notional=0.0)
    assert CostCalculator(no_fee, hundredths).entry_quantity(1.0, 1000.0, 30.0) == 33.33


@pytest.mark.parametrize(("fraction", "equity"), [(0.0, 1000.0), (0.5, 0.0), (0.5, -10.0)])
def test_nothing_to_spend_gives_zero_quantity(fraction: float, equity: float) -> None:
    assert CALC.entry_quantity(fraction, equity, 100.0) == 0.0
