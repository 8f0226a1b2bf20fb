"""PartialOperationsManager: ladder levels fixed from the first entry price, exit slices on the
lot grid as fractions of the original quantity, the last rung closing the position, and when
scale-in levels are offered."""

from __future__ import annotations

import pytest

from atb.domain.instruments import Instrument
from atb.domain.policies import PartialPolicy
from atb.domain.sides import PositionSide
from atb.managers.fills import Level, LevelKind, Trigger
from atb.managers.partials import PARTIALS_COMPLETE, ExitSlice, PartialOperationsManager
from atb.managers.risk_config import PARTIALS_DEFAULTS
from tests.support.builders import INSTRUMENT, make_live_position, make_position

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
MANAGER = PartialOperationsManager(INSTRUMENT)


def _pe(price: float, trigger: Trigger, rung: int) -> Level:
    return Level(price, trigger, LevelKind.PARTIAL_EXIT, rung)


def _si(price: float, trigger: Trigger, rung: int) -> Level:
    return Level(price, trigger, LevelKind.SCALE_IN, rung)


def _prices(levels: tuple[Level, ...], kind: LevelKind) -> list[float]:
    return [level.price for level in levels if level.kind is kind]


def test_defaults_are_the_documented_ones() -> None:
    assert PARTIALS_DEFAULTS.exit_targets == ((0.03, 0.25), (0.06, 0.25), (0.10, 0.50))
    assert PARTIALS_DEFAULTS.scale_in_thresholds == ((0.02, 0.25), (0.05, 0.25))
    assert PARTIALS_DEFAULTS.max_scale_ins == 2
    assert PARTIALS_COMPLETE == "partial exits complete"


# -- levels ------------------------------------------------------------------------------------


def test_long_levels_from_the_first_entry() -> None:
    levels = MANAGER.levels(make_position(LONG, 100.0), PARTIALS_DEFAULTS)
    assert levels == (
        _pe(103.0, Trigger.UP, 0),
        _pe(106.0, Trigger.UP, 1),
        _pe(110.0, Trigger.UP, 2),
        _si(102.0, Trigger.UP, 0),
        _si(105.0, Trigger.UP, 1),
    )


def test_short_levels_from_the_first_entry() -> None:
    levels = MANAGER.levels(make_live_position(SHORT, 100.0), PARTIALS_DEFAULTS)
    assert levels == (
        _pe(97.0, Trigger.DOWN, 0),
        _pe(94.0, Trigger.DOWN, 1),
        _pe(90.0, Trigger.DOWN, 2),
        _si(98.0, Trigger.DOWN, 0),
        _si(95.0, Trigger.DOWN, 1),
    )


@pytest.mark.parametrize(
    ("side", "exits", "scale_ins"),
    [(LONG, [103.0, 106.0, 110.0], [105.0]), (SHORT, [97.0, 94.0, 90.0], [95.0])],
)
def test_levels_stay_fixed_after_a_scale_in_re_averaged_the_entry(
    side: PositionSide, exits: list[float], scale_ins: list[float]
) -> None:
    scaled = make_position(
        side,
        entry_price=100.4 if side is LONG else 99.6,
        quantity=1.25,
        first_entry_price=100.0,
        original_quantity=1.0,
        scale_ins_taken=1,
    )
    levels = MANAGER.levels(scaled, PARTIALS_DEFAULTS)
    assert _prices(levels, LevelKind.PARTIAL_EXIT) == exits
    assert _prices(levels, LevelKind.SCALE_IN) == scale_ins
    assert [level.rung for level in levels if level.kind is LevelKind.SCALE_IN] == [1]


def test_levels_are_on_the_tick_grid() -> None:
    levels = MANAGER.levels(make_position(LONG, 123.457), PARTIALS_DEFAULTS)
    # Rounded against the trader (a long's levels up): 123.457 × 1.03 = 127.16071 → 127.17;
    # × 1.02 = 125.92614 → 125.93
    assert levels[0].price == 127.17
    assert _prices(levels, LevelKind.SCALE_IN)[0] == 125.93


def test_taken_exit_rungs_are_not_offered_again_and_scale_ins_stop() -> None:
    position = make_position(LONG, 100.0, 0.75, original_quantity=1.0, partial_exits_taken=1)
    assert MANAGER.levels(position, PARTIALS_DEFAULTS) == (
        _pe(106.0, Trigger.UP, 1),
        _pe(110.0, Trigger.UP, 2),
    )


def test_no_scale_in_levels_once_max_scale_ins_are_taken() -> None:
    position = make_position(LONG, 101.0, 1.5, first_entry_price=100.0, scale_ins_taken=2)
    levels = MANAGER.levels(position, PARTIALS_DEFAULTS)
    assert _prices(levels, LevelKind.SCALE_IN) == []
    assert len(levels) == 3


def test_max_scale_ins_below_the_ladder_length_caps_the_rungs() -> None:
    policy = PartialPolicy(
        exit_targets=((0.05, 1.0),),
        scale_in_thresholds=((0.01, 0.5), (0.02, 0.5), (0.03, 0.5)),
        max_scale_ins=1,
    )
    levels = MANAGER.levels(make_position(SHORT, 100.0), policy)
    assert levels == (_pe(95.0, Trigger.DOWN, 0), _si(99.0, Trigger.DOWN, 0))


def test_no_scale_in_levels_when_not_allowed() -> None:
    levels = MANAGER.levels(make_position(LONG, 100.0), PARTIALS_DEFAULTS, allow_scale_in=False)
    assert _prices(levels, LevelKind.SCALE_IN) == []
    assert _prices(levels, LevelKind.PARTIAL_EXIT) == [103.0, 106.0, 110.0]


def test_all_exit_rungs_taken_leaves_no_levels_besides_nothing() -> None:
    position = make_position(LONG, 100.0, 0.5, original_quantity=1.0, partial_exits_taken=3)
    assert MANAGER.levels(position, PARTIALS_DEFAULTS) == ()


# -- slices ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [LONG, SHORT])
def test_exit_slice_is_a_fraction_of_the_original_quantity(side: PositionSide) -> None:
    position = make_position(side, quantity=1.5, original_quantity=1.0, scale_ins_taken=2)
    assert MANAGER.exit_slice(position, PARTIALS_DEFAULTS, 0) == ExitSlice(0.25, False)
    assert MANAGER.exit_slice(position, PARTIALS_DEFAULTS, 1) == ExitSlice(0.25, False)


def test_exit_slice_is_capped_by_the_current_quantity_and_then_closes() -> None:
    position = make_position(LONG, quantity=0.2, original_quantity=1.0, partial_exits_taken=1)
    assert MANAGER.exit_slice(position, PARTIALS_DEFAULTS, 1) == ExitSlice(0.2, True)


def test_exit_slice_is_rounded_down_to_the_lot_step() -> None:
    position = make_position(LONG, quantity=0.333)
    # 0.25 × 0.333 = 0.08325 → 0.083
    assert MANAGER.exit_slice(position, PARTIALS_DEFAULTS, 0) == ExitSlice(0.083, False)


@pytest.mark.parametrize("quantity", [0.5, 1.0, 0.123])
def test_last_rung_closes_whatever_is_left(quantity: float) -> None:
    # After scale-ins the last rung's 50 % of the original may be less than what is left.
    position = make_position(LONG, quantity=quantity, original_quantity=1.0, partial_exits_taken=2)
    assert MANAGER.exit_slice(position, PARTIALS_DEFAULTS, 2) == ExitSlice(quantity, True)


def test_slice_leaving_less_than_one_lot_closes_the_position() -> None:
    position = make_position(LONG, quantity=0.2505, original_quantity=1.0)
    assert MANAGER.exit_slice(position, PARTIALS_DEFAULTS, 0) == ExitSlice(0.2505, True)


@pytest.mark.parametrize(
    ("lot", "quantity", "original", "expected"),
    [(0.1, 0.3, 0.8, 0.2), (0.00001, 0.00003, 0.00008, 0.00002)],
)
def test_slice_leaving_exactly_one_lot_keeps_the_position_open(
    lot: float, quantity: float, original: float, expected: float
) -> None:
    # 0.3 − 0.2 is 0.0999… in binary: the remainder is one whole lot and must stay open.
    manager = PartialOperationsManager(
        Instrument("X", tick_size=0.01, lot_step=lot, min_notional=0)
    )
    position = make_position(LONG, quantity=quantity, original_quantity=original)
    assert manager.exit_slice(position, PARTIALS_DEFAULTS, 0) == ExitSlice(expected, False)


def test_slice_after_a_noisy_one_lot_remainder_sells_the_rest() -> None:
    # The ledger leaves 0.3 − 0.2 = 0.0999… open: the next rung must sell it, not sell nothing.
    tenths = PartialOperationsManager(Instrument("X", tick_size=0.01, lot_step=0.1, min_notional=0))
    position = make_position(LONG, quantity=0.3 - 0.2, original_quantity=0.8, partial_exits_taken=1)
    assert tenths.exit_slice(position, PARTIALS_DEFAULTS, 1) == ExitSlice(0.3 - 0.2, True)


def test_sizes_that_are_exact_lot_multiples_do_not_lose_a_lot_to_float_noise() -> None:
    # 0.7 × 0.1 is 0.0699… in binary; 70 % of 0.1 on a 0.01 grid is still 0.07.
    hundredths = PartialOperationsManager(
        Instrument("X", tick_size=0.01, lot_step=0.01, min_notional=0)
    )
    policy = PartialPolicy(
        exit_targets=((0.03, 0.7), (0.06, 0.3)), scale_in_thresholds=((0.02, 0.7),), max_scale_ins=1
    )
    position = make_position(LONG, quantity=0.1)
    assert hundredths.exit_slice(position, policy, 0) == ExitSlice(0.07, False)
    assert hundredths.scale_in_quantity(position, policy, 0) == 0.07


def test_scale_in_quantity_is_a_fraction_of_the_original_on_the_lot_grid() -> None:
    assert (
        MANAGER.scale_in_quantity(make_position(LONG, quantity=1.0), PARTIALS_DEFAULTS, 0) == 0.25
    )
    scaled = make_position(SHORT, quantity=0.416, original_quantity=0.333, scale_ins_taken=1)
    assert MANAGER.scale_in_quantity(scaled, PARTIALS_DEFAULTS, 1) == 0.083
