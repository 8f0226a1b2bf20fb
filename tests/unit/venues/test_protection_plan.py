"""The orders that protect a spot position on the exchange: tranches that never over-commit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from atb.domain.instruments import Instrument
from atb.domain.sides import PositionSide
from atb.managers.execution import AccountView, RestingOrder
from atb.managers.fills import Level, LevelKind, Trigger
from atb.managers.order_journal import OrderShape
from atb.venues.exchange.protection import PlannedLeg, PlannedOrder, protection_plan
from tests.support.builders import make_position

RULES = Instrument("BTCUSDT", 0.01, 1e-5, 5.0, base_asset="BTC", quote_asset="USDT")
POSITION = make_position(PositionSide.LONG, entry_price=60_000.0, quantity=0.01)
ACCOUNT = AccountView(10_000.0, POSITION)


def _level(
    kind: LevelKind,
    price: float,
    quantity: float,
    rung: int = 0,
    *,
    closes_position: bool = False,
    position_cap: float | None = None,
) -> RestingOrder:
    trigger = Trigger.DOWN if kind is LevelKind.STOP_LOSS else Trigger.UP
    level = Level(price, trigger, kind, rung)
    return RestingOrder(level, "p1", quantity, closes_position, position_cap)


STOP = _level(LevelKind.STOP_LOSS, 58_800.0, 0.01, closes_position=True)
TARGET = _level(LevelKind.TAKE_PROFIT, 63_000.0, 0.01, closes_position=True)


def _sell_legs(plan: tuple[PlannedOrder, ...], shape: OrderShape) -> list[PlannedLeg]:
    return [
        leg for order in plan for leg in order.legs if leg.side == "sell" and leg.shape is shape
    ]


def test_a_stop_and_a_target_become_one_oco_list_for_the_whole_position() -> None:
    plan = protection_plan([STOP, TARGET], RULES, ACCOUNT)
    assert plan == (
        PlannedOrder(
            (
                PlannedLeg(LevelKind.TAKE_PROFIT, 0, "sell", OrderShape.LIMIT, 0.01, 63_000.0),
                PlannedLeg(
                    LevelKind.STOP_LOSS, 0, "sell", OrderShape.STOP, 0.01, 58_506.0, 58_800.0
                ),
            )
        ),
    )


def test_partial_targets_get_tranches_whose_stops_cover_the_position_once() -> None:
    first = _level(LevelKind.PARTIAL_EXIT, 61_800.0, 0.0025, rung=0)
    second = _level(LevelKind.PARTIAL_EXIT, 62_400.0, 0.0025, rung=1)
    plan = protection_plan([STOP, TARGET, first, second], RULES, ACCOUNT)
    assert [order.is_list for order in plan] == [True, True, True]
    assert [(leg.level, leg.price, leg.quantity) for leg in _sell_legs(plan, OrderShape.LIMIT)] == [
        (LevelKind.PARTIAL_EXIT, 61_800.0, 0.0025),
        (LevelKind.PARTIAL_EXIT, 62_400.0, 0.0025),
        (LevelKind.TAKE_PROFIT, 63_000.0, 0.005),
    ]
    stops = _sell_legs(plan, OrderShape.STOP)
    assert sum(leg.quantity for leg in stops) == 0.01
    assert {leg.stop_price for leg in stops} == {58_800.0}


def test_a_target_above_the_take_profit_sells_at_the_take_profit() -> None:
    beyond = _level(LevelKind.PARTIAL_EXIT, 64_000.0, 0.004, rung=0)
    plan = protection_plan([STOP, TARGET, beyond], RULES, ACCOUNT)
    assert [leg.price for leg in _sell_legs(plan, OrderShape.LIMIT)] == [63_000.0, 63_000.0]


def test_a_tranche_below_the_minimum_order_joins_the_rest() -> None:
    tiny = _level(LevelKind.PARTIAL_EXIT, 61_800.0, 0.00005, rung=0)  # 3 USDT < 5 USDT
    plan = protection_plan([STOP, TARGET, tiny], RULES, ACCOUNT)
    assert [(leg.level, leg.quantity) for leg in _sell_legs(plan, OrderShape.LIMIT)] == [
        (LevelKind.TAKE_PROFIT, 0.01)
    ]


def test_without_a_stop_the_targets_rest_as_plain_limits_and_a_lone_stop_without_target() -> None:
    first = _level(LevelKind.PARTIAL_EXIT, 61_800.0, 0.0025, rung=0)
    assert [order.is_list for order in protection_plan([TARGET, first], RULES, ACCOUNT)] == [
        False,
        False,
    ]
    (alone,) = protection_plan([STOP], RULES, ACCOUNT)
    assert alone.legs == (
        PlannedLeg(LevelKind.STOP_LOSS, 0, "sell", OrderShape.STOP, 0.01, 58_506.0, 58_800.0),
    )


def test_a_scale_in_is_a_buy_stop_sized_to_the_position_cap() -> None:
    # Cap 10 % of equity at the trigger (10,012 USDT): 0.01635 BTC in all, 0.00635 more.
    scale_in = _level(LevelKind.SCALE_IN, 61_200.0, 0.0025, rung=0, position_cap=0.1)
    (order,) = protection_plan([scale_in], RULES, ACCOUNT)
    assert order.legs == (
        PlannedLeg(LevelKind.SCALE_IN, 0, "buy", OrderShape.STOP, 0.0025, 61_506.0, 61_200.0),
    )
    capped = _level(LevelKind.SCALE_IN, 61_200.0, 0.01, rung=1, position_cap=0.1)
    (order,) = protection_plan([capped], RULES, ACCOUNT)
    assert order.legs[0].quantity == 0.00635


def test_a_flat_account_needs_no_protection() -> None:
    assert protection_plan([STOP], RULES, AccountView(10_000.0, None)) == ()


@given(
    fractions=st.lists(st.floats(0.05, 0.5), min_size=0, max_size=4),
    with_target=st.booleans(),
)
def test_sells_never_exceed_the_position(fractions: list[float], with_target: bool) -> None:
    """Whatever the ladder, the limits together and the stops together sell at most Q."""
    partials = [
        _level(LevelKind.PARTIAL_EXIT, 61_000.0 + 500 * rung, RULES.round_quantity(0.01 * f), rung)
        for rung, f in enumerate(fractions)
    ]
    orders = [STOP, *partials] + ([TARGET] if with_target else [])
    plan = protection_plan(orders, RULES, ACCOUNT)
    limits = sum(leg.quantity for leg in _sell_legs(plan, OrderShape.LIMIT))
    stops = sum(leg.quantity for leg in _sell_legs(plan, OrderShape.STOP))
    assert limits <= 0.01 + 1e-12
    assert abs(stops - 0.01) < 1e-12
