"""FillModel: gaps fill at the open, intrabar hits at the level, both SL and TP in one bar under
each intrabar policy (with the ambiguity flag), ladders in path order, and the entry bar."""

from __future__ import annotations

import pytest

from atb.domain.bars import Bar
from atb.domain.sides import PositionSide
from atb.managers.execution_config import IntrabarPolicy
from atb.managers.fills import (
    BarWalk,
    FillModel,
    Level,
    LevelKind,
    Trigger,
    levels_for_exit,
)
from atb.managers.partials import PartialOperationsManager
from atb.managers.risk_config import PARTIALS_DEFAULTS
from tests.support.builders import INSTRUMENT, make_bar, make_position

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
PESSIMISTIC = FillModel(IntrabarPolicy.PESSIMISTIC)
OPTIMISTIC = FillModel(IntrabarPolicy.OPTIMISTIC)
NEAREST = FillModel(IntrabarPolicy.NEAREST_EXTREME)
CANDLE = FillModel(IntrabarPolicy.CANDLE_DIRECTION)
ALL_MODELS = [PESSIMISTIC, OPTIMISTIC, NEAREST, CANDLE]

LONG_EXITS = levels_for_exit(LONG, stop_loss=95.0, take_profit=105.0)
SHORT_EXITS = levels_for_exit(SHORT, stop_loss=105.0, take_profit=95.0)


def _kinds(walk: BarWalk) -> list[LevelKind]:
    return [hit.level.kind for hit in walk.hits]


def _prices(walk: BarWalk) -> list[float]:
    return [hit.price for hit in walk.hits]


# -- levels ------------------------------------------------------------------------------------


def test_exit_levels_trigger_against_and_with_the_position() -> None:
    assert levels_for_exit(LONG, 95.0, 105.0) == (
        Level(95.0, Trigger.DOWN, LevelKind.STOP_LOSS),
        Level(105.0, Trigger.UP, LevelKind.TAKE_PROFIT),
    )
    assert levels_for_exit(SHORT, 105.0, 95.0) == (
        Level(105.0, Trigger.UP, LevelKind.STOP_LOSS),
        Level(95.0, Trigger.DOWN, LevelKind.TAKE_PROFIT),
    )
    assert levels_for_exit(LONG, None, None) == ()
    assert levels_for_exit(SHORT, None, 90.0) == (Level(90.0, Trigger.DOWN, LevelKind.TAKE_PROFIT),)


def test_level_kinds_know_limit_and_closing() -> None:
    assert [kind.is_limit for kind in LevelKind] == [False, True, True, False]
    assert [kind.closes_position for kind in LevelKind] == [True, True, False, False]


def test_no_levels_gives_an_empty_unambiguous_walk() -> None:
    assert PESSIMISTIC.walk((), make_bar(100, 110, 90, 100), LONG) == BarWalk((), ambiguous=False)


# -- gaps and single hits ----------------------------------------------------------------------


def test_long_stop_gapped_through_fills_at_the_open() -> None:
    walk = PESSIMISTIC.walk(LONG_EXITS, make_bar(93.0, 96.0, 92.0, 94.0), LONG)
    assert len(walk.hits) == 1
    hit = walk.hits[0]
    assert hit.level.kind is LevelKind.STOP_LOSS
    assert (hit.price, hit.gapped) == (93.0, True)
    assert walk.ambiguous is False


def test_short_stop_gapped_through_fills_at_the_open() -> None:
    walk = PESSIMISTIC.walk(SHORT_EXITS, make_bar(107.0, 108.0, 104.0, 106.0), SHORT)
    assert _kinds(walk) == [LevelKind.STOP_LOSS]
    assert (walk.hits[0].price, walk.hits[0].gapped) == (107.0, True)


def test_take_profit_gapped_through_fills_at_the_better_open() -> None:
    walk = PESSIMISTIC.walk(LONG_EXITS, make_bar(107.0, 108.0, 106.0, 107.5), LONG)
    assert _kinds(walk) == [LevelKind.TAKE_PROFIT]
    assert (walk.hits[0].price, walk.hits[0].gapped) == (107.0, True)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_a_gap_decides_the_bar_so_it_is_not_ambiguous(model: FillModel) -> None:
    # Opens below the stop, then trades up through the target: the stop fills first anyway.
    walk = model.walk(LONG_EXITS, make_bar(93.0, 106.0, 92.0, 104.0), LONG)
    assert _kinds(walk)[0] is LevelKind.STOP_LOSS
    assert (walk.hits[0].price, walk.hits[0].gapped) == (93.0, True)
    assert walk.ambiguous is False


@pytest.mark.parametrize("model", ALL_MODELS)
def test_long_stop_hit_intrabar_fills_at_the_level(model: FillModel) -> None:
    walk = model.walk(LONG_EXITS, make_bar(100.0, 101.0, 94.0, 99.0), LONG)
    assert _kinds(walk) == [LevelKind.STOP_LOSS]
    assert (walk.hits[0].price, walk.hits[0].gapped) == (95.0, False)
    assert walk.ambiguous is False


@pytest.mark.parametrize("model", ALL_MODELS)
def test_short_target_hit_intrabar_fills_at_the_level(model: FillModel) -> None:
    walk = model.walk(SHORT_EXITS, make_bar(100.0, 104.0, 94.5, 96.0), SHORT)
    assert _kinds(walk) == [LevelKind.TAKE_PROFIT]
    assert (walk.hits[0].price, walk.hits[0].gapped) == (95.0, False)
    assert walk.ambiguous is False


def test_a_level_exactly_at_the_extreme_is_hit() -> None:
    walk = PESSIMISTIC.walk(LONG_EXITS, make_bar(100.0, 105.0, 99.0, 104.0), LONG)
    assert _kinds(walk) == [LevelKind.TAKE_PROFIT]
    assert _prices(walk) == [105.0]


@pytest.mark.parametrize("model", ALL_MODELS)
def test_bar_that_misses_every_level_has_no_hits(model: FillModel) -> None:
    walk = model.walk(LONG_EXITS, make_bar(100.0, 104.9, 95.1, 101.0), LONG)
    assert walk == BarWalk((), ambiguous=False)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_both_extremes_touched_but_only_one_level_is_not_ambiguous(model: FillModel) -> None:
    stop_only = levels_for_exit(LONG, stop_loss=95.0, take_profit=None)
    walk = model.walk(stop_only, make_bar(100.0, 120.0, 90.0, 110.0), LONG)
    assert _kinds(walk) == [LevelKind.STOP_LOSS]
    assert walk.ambiguous is False


# -- both stop and target inside one bar -------------------------------------------------------

BOTH_BAR = make_bar(100.0, 106.0, 94.0, 101.0)


def test_pessimistic_long_stop_first() -> None:
    walk = PESSIMISTIC.walk(LONG_EXITS, BOTH_BAR, LONG)
    assert _kinds(walk) == [LevelKind.STOP_LOSS, LevelKind.TAKE_PROFIT]
    assert _prices(walk) == [95.0, 105.0]
    assert walk.ambiguous is True


def test_optimistic_long_target_first() -> None:
    walk = OPTIMISTIC.walk(LONG_EXITS, BOTH_BAR, LONG)
    assert _kinds(walk) == [LevelKind.TAKE_PROFIT, LevelKind.STOP_LOSS]
    assert _prices(walk) == [105.0, 95.0]
    assert walk.ambiguous is True


def test_pessimistic_short_stop_first() -> None:
    walk = PESSIMISTIC.walk(SHORT_EXITS, BOTH_BAR, SHORT)
    assert _kinds(walk) == [LevelKind.STOP_LOSS, LevelKind.TAKE_PROFIT]
    assert _prices(walk) == [105.0, 95.0]
    assert walk.ambiguous is True


def test_optimistic_short_target_first() -> None:
    walk = OPTIMISTIC.walk(SHORT_EXITS, BOTH_BAR, SHORT)
    assert _kinds(walk) == [LevelKind.TAKE_PROFIT, LevelKind.STOP_LOSS]
    assert _prices(walk) == [95.0, 105.0]
    assert walk.ambiguous is True


@pytest.mark.parametrize(
    ("bar", "side", "first"),
    [
        # high 5.5 away, low 6 away: the high is nearer and comes first
        (make_bar(100.0, 105.5, 94.0, 101.0), LONG, LevelKind.TAKE_PROFIT),
        (make_bar(100.0, 105.5, 94.0, 101.0), SHORT, LevelKind.STOP_LOSS),
        # low 5 away, high 6 away: the low is nearer
        (make_bar(100.0, 106.0, 95.0, 101.0), LONG, LevelKind.STOP_LOSS),
        (make_bar(100.0, 106.0, 95.0, 101.0), SHORT, LevelKind.TAKE_PROFIT),
        # equidistant: falls back to the adverse extreme (pessimistic)
        (make_bar(100.0, 106.0, 94.0, 101.0), LONG, LevelKind.STOP_LOSS),
        (make_bar(100.0, 106.0, 94.0, 101.0), SHORT, LevelKind.STOP_LOSS),
    ],
)
def test_nearest_extreme_visits_the_closer_extreme_first(
    bar: Bar, side: PositionSide, first: LevelKind
) -> None:
    levels = LONG_EXITS if side is LONG else SHORT_EXITS
    walk = NEAREST.walk(levels, bar, side)
    assert _kinds(walk)[0] is first
    assert len(walk.hits) == 2
    assert walk.ambiguous is True


@pytest.mark.parametrize(
    ("bar", "side", "first"),
    [
        # bullish bar: open → low → high → close
        (make_bar(100.0, 106.0, 94.0, 103.0), LONG, LevelKind.STOP_LOSS),
        (make_bar(100.0, 106.0, 94.0, 103.0), SHORT, LevelKind.TAKE_PROFIT),
        # bearish bar: open → high → low → close
        (make_bar(100.0, 106.0, 94.0, 97.0), LONG, LevelKind.TAKE_PROFIT),
        (make_bar(100.0, 106.0, 94.0, 97.0), SHORT, LevelKind.STOP_LOSS),
    ],
)
def test_candle_direction_reads_the_body(bar: Bar, side: PositionSide, first: LevelKind) -> None:
    levels = LONG_EXITS if side is LONG else SHORT_EXITS
    walk = CANDLE.walk(levels, bar, side)
    assert _kinds(walk)[0] is first
    assert walk.ambiguous is True


@pytest.mark.parametrize(
    ("model", "bar", "side", "low_first"),
    [
        (PESSIMISTIC, BOTH_BAR, LONG, True),
        (PESSIMISTIC, BOTH_BAR, SHORT, False),
        (OPTIMISTIC, BOTH_BAR, LONG, False),
        (OPTIMISTIC, BOTH_BAR, SHORT, True),
        (NEAREST, make_bar(100.0, 101.0, 90.0, 100.0), LONG, False),
        (NEAREST, make_bar(100.0, 110.0, 99.0, 100.0), SHORT, True),
        (CANDLE, make_bar(100.0, 110.0, 90.0, 100.0), SHORT, True),  # doji counts as bullish
        (CANDLE, make_bar(100.0, 110.0, 90.0, 99.0), LONG, False),
    ],
)
def test_low_first_by_policy(
    model: FillModel, bar: Bar, side: PositionSide, low_first: bool
) -> None:
    assert model.low_first(bar, side) is low_first


# -- ladders -----------------------------------------------------------------------------------


def test_long_ladder_hit_in_one_bar_comes_back_ascending() -> None:
    levels = tuple(
        Level(price, Trigger.UP, LevelKind.PARTIAL_EXIT, rung)
        for rung, price in [(2, 110.0), (0, 103.0), (1, 106.0)]
    )
    walk = PESSIMISTIC.walk(levels, make_bar(100.0, 111.0, 99.5, 108.0), LONG)
    assert _prices(walk) == [103.0, 106.0, 110.0]
    assert [hit.level.rung for hit in walk.hits] == [0, 1, 2]
    assert not any(hit.gapped for hit in walk.hits)
    assert walk.ambiguous is False


def test_short_ladder_hit_in_one_bar_comes_back_descending() -> None:
    levels = tuple(
        Level(price, Trigger.DOWN, LevelKind.PARTIAL_EXIT, rung)
        for rung, price in [(1, 94.0), (2, 90.0), (0, 97.0)]
    )
    walk = PESSIMISTIC.walk(levels, make_bar(100.0, 100.5, 89.0, 92.0), SHORT)
    assert _prices(walk) == [97.0, 94.0, 90.0]
    assert [hit.level.rung for hit in walk.hits] == [0, 1, 2]


def test_ladder_partly_gapped_fills_gapped_rungs_at_the_open_first() -> None:
    levels = tuple(
        Level(price, Trigger.UP, LevelKind.PARTIAL_EXIT, rung)
        for rung, price in enumerate([103.0, 106.0, 110.0])
    )
    walk = PESSIMISTIC.walk(levels, make_bar(107.0, 111.0, 106.5, 110.0), LONG)
    assert [(hit.price, hit.gapped) for hit in walk.hits] == [
        (107.0, True),
        (107.0, True),
        (110.0, False),
    ]
    assert [hit.level.rung for hit in walk.hits] == [0, 1, 2]


def test_scale_ins_and_partial_exits_interleave_in_path_order() -> None:
    # Defaults from a first entry of 100: scale-ins 102, 105; exits 103, 106, 110.
    position = make_position(LONG, 100.0, 1.0)
    ladder = PartialOperationsManager(INSTRUMENT).levels(position, PARTIALS_DEFAULTS)
    walk = PESSIMISTIC.walk(ladder, make_bar(100.0, 107.0, 99.0, 106.5), LONG)
    assert [(hit.level.kind, hit.price) for hit in walk.hits] == [
        (LevelKind.SCALE_IN, 102.0),
        (LevelKind.PARTIAL_EXIT, 103.0),
        (LevelKind.SCALE_IN, 105.0),
        (LevelKind.PARTIAL_EXIT, 106.0),
    ]


def test_ladder_and_stop_in_one_bar_is_ambiguous() -> None:
    levels = (
        Level(95.0, Trigger.DOWN, LevelKind.STOP_LOSS),
        Level(103.0, Trigger.UP, LevelKind.PARTIAL_EXIT, 0),
    )
    bar = make_bar(100.0, 104.0, 94.0, 100.0)
    pessimistic = PESSIMISTIC.walk(levels, bar, LONG)
    optimistic = OPTIMISTIC.walk(levels, bar, LONG)
    assert _kinds(pessimistic) == [LevelKind.STOP_LOSS, LevelKind.PARTIAL_EXIT]
    assert _kinds(optimistic) == [LevelKind.PARTIAL_EXIT, LevelKind.STOP_LOSS]
    assert pessimistic.ambiguous is True
    assert optimistic.ambiguous is True


# -- the entry bar -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS)
def test_long_entered_at_the_open_is_live_for_the_rest_of_the_bar(model: FillModel) -> None:
    # Entry at the open 100 with 0.05 % slippage → 100.05; stop −2 % and target +3 % from it.
    entry = 100.05
    stop = INSTRUMENT.round_price(entry * 0.98)
    target = INSTRUMENT.round_price(entry * 1.03)
    assert (stop, target) == (98.05, 103.05)
    walk = model.walk(
        levels_for_exit(LONG, stop, target), make_bar(100.0, 103.5, 99.0, 103.0), LONG
    )
    assert _kinds(walk) == [LevelKind.TAKE_PROFIT]
    assert (walk.hits[0].price, walk.hits[0].gapped) == (103.05, False)
    assert walk.ambiguous is False


def test_short_entered_at_the_open_stops_out_on_the_same_bar() -> None:
    entry = 99.95
    stop = INSTRUMENT.round_price(entry * 1.02)
    target = INSTRUMENT.round_price(entry * 0.97)
    assert (stop, target) == (101.95, 96.95)
    walk = PESSIMISTIC.walk(
        levels_for_exit(SHORT, stop, target), make_bar(100.0, 102.0, 99.5, 101.0), SHORT
    )
    assert _kinds(walk) == [LevelKind.STOP_LOSS]
    assert (walk.hits[0].price, walk.hits[0].gapped) == (101.95, False)
