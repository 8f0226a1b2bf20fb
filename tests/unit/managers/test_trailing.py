"""TrailingStopManager: breakeven to entry ± buffer, trailing by percent or ATR × k from the close
or the favourable extreme, stops that only tighten, sticky flags; long and short, both position
classes."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from atb.domain.bars import Bar
from atb.domain.policies import TrailingPolicy, TrailReference
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.managers.risk_config import TRAILING_DEFAULTS
from atb.managers.trailing import StopUpdate, TrailingStopManager
from tests.support.builders import INSTRUMENT, make_bar, make_live_position, make_position

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
MANAGER = TrailingStopManager(INSTRUMENT)
BREAKEVEN_ONLY = attrs.evolve(TRAILING_DEFAULTS, activation_pct=0.5)
"""Defaults with trailing pushed out of reach, to see the breakeven step on its own."""
TRAILING_ONLY = attrs.evolve(TRAILING_DEFAULTS, breakeven_trigger_pct=None)

PositionMaker = Callable[..., PositionState]
MAKERS: list[PositionMaker] = [make_position, make_live_position]


def _close_bar(close: float) -> Bar:
    return make_bar(close, close, close, close)


def _expect(
    update: StopUpdate | None, stop: float, *, breakeven: bool, trailing: bool, cause: str
) -> None:
    """`update` moved the stop to `stop` (to the cent) with these flags and this cause."""
    assert update is not None
    assert update.stop_loss == pytest.approx(stop)
    assert (update.breakeven_active, update.trailing_active, update.cause) == (
        breakeven,
        trailing,
        cause,
    )


def test_defaults_are_the_documented_ones() -> None:
    assert TRAILING_DEFAULTS.activation_pct == 0.015
    assert TRAILING_DEFAULTS.distance_pct == 0.005
    assert TRAILING_DEFAULTS.breakeven_trigger_pct == 0.02
    assert TRAILING_DEFAULTS.breakeven_buffer_pct == 0.001
    assert TRAILING_DEFAULTS.reference is TrailReference.CLOSE


# -- breakeven ---------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", MAKERS)
def test_long_breakeven_at_plus_two_percent(maker: PositionMaker) -> None:
    position = maker(LONG, 100.0, 1.0, stop_loss=95.0)
    update = MANAGER.update(position, make_bar(100.5, 102.2, 100.2, 102.0), BREAKEVEN_ONLY)
    _expect(update, 100.0 * 1.001, breakeven=True, trailing=False, cause="breakeven")


@pytest.mark.parametrize("maker", MAKERS)
def test_short_breakeven_at_plus_two_percent(maker: PositionMaker) -> None:
    position = maker(SHORT, 100.0, 1.0, stop_loss=105.0)
    update = MANAGER.update(position, make_bar(99.5, 99.8, 97.8, 98.0), BREAKEVEN_ONLY)
    assert update is not None
    assert update.stop_loss == pytest.approx(100.0 * (1 - 0.001))
    assert (update.breakeven_active, update.trailing_active, update.cause) == (
        True,
        False,
        "breakeven",
    )


def test_breakeven_sets_a_stop_when_there_was_none() -> None:
    update = MANAGER.update(make_position(LONG, 200.0), _close_bar(204.0), BREAKEVEN_ONLY)
    assert update is not None
    assert update.stop_loss == pytest.approx(200.2)


@pytest.mark.parametrize(("side", "close"), [(LONG, 101.99), (SHORT, 98.01)])
def test_no_breakeven_below_the_trigger(side: PositionSide, close: float) -> None:
    position = make_position(side, 100.0, stop_loss=95.0 if side is LONG else 105.0)
    assert MANAGER.update(position, _close_bar(close), BREAKEVEN_ONLY) is None


def test_breakeven_never_lowers_a_tighter_stop_but_sets_the_flag() -> None:
    position = make_position(LONG, 100.0, stop_loss=100.5)
    update = MANAGER.update(position, _close_bar(102.5), BREAKEVEN_ONLY)
    assert update == StopUpdate(100.5, breakeven_active=True, trailing_active=False, cause="flags")


def test_breakeven_is_not_reapplied_once_active() -> None:
    position = make_position(LONG, 100.0, stop_loss=100.1, breakeven_active=True)
    assert MANAGER.update(position, _close_bar(103.0), BREAKEVEN_ONLY) is None


# -- trailing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", MAKERS)
def test_long_trailing_activates_at_one_and_a_half_percent(maker: PositionMaker) -> None:
    position = maker(LONG, 100.0, 1.0, stop_loss=97.0)
    update = MANAGER.update(position, _close_bar(101.6), TRAILING_DEFAULTS)
    # 101.6 × (1 − 0.005) = 101.092 → 101.09 on the 0.01 tick
    _expect(update, 101.09, breakeven=False, trailing=True, cause="trailing")


@pytest.mark.parametrize("maker", MAKERS)
def test_short_trailing_activates_at_one_and_a_half_percent(maker: PositionMaker) -> None:
    position = maker(SHORT, 100.0, 1.0, stop_loss=103.0)
    update = MANAGER.update(position, _close_bar(98.4), TRAILING_DEFAULTS)
    # 98.4 × 1.005 = 98.892 → 98.90 (a short's stop rounds up, against the trader)
    assert update is not None
    assert update.stop_loss == pytest.approx(98.9)
    assert (update.trailing_active, update.breakeven_active, update.cause) == (
        True,
        False,
        "trailing",
    )


@pytest.mark.parametrize(("side", "close"), [(LONG, 101.4), (SHORT, 98.6)])
def test_no_trailing_below_activation(side: PositionSide, close: float) -> None:
    position = make_position(side, 100.0)
    assert MANAGER.update(position, _close_bar(close), TRAILING_DEFAULTS) is None


def test_trailing_beats_breakeven_when_both_fire() -> None:
    update = MANAGER.update(
        make_position(LONG, 100.0, stop_loss=95.0), _close_bar(102.0), TRAILING_DEFAULTS
    )
    _expect(update, 101.49, breakeven=True, trailing=True, cause="trailing")


def test_breakeven_then_trailing_over_bars() -> None:
    policy = attrs.evolve(TRAILING_DEFAULTS, activation_pct=0.03)
    position = make_position(LONG, 100.0, stop_loss=96.0)
    first = MANAGER.update(position, _close_bar(102.0), policy)
    _expect(first, 100.1, breakeven=True, trailing=False, cause="breakeven")
    assert first is not None
    position = attrs.evolve(position, stop_loss=first.stop_loss, breakeven_active=True)
    second = MANAGER.update(position, _close_bar(104.0), policy)
    _expect(second, 103.48, breakeven=True, trailing=True, cause="trailing")


def test_trailing_follows_the_close_up_and_holds_on_a_pullback() -> None:
    position = make_position(LONG, 100.0, stop_loss=101.49, trailing_active=True)
    up = MANAGER.update(position, _close_bar(104.0), TRAILING_ONLY)
    assert up is not None
    assert up.stop_loss == pytest.approx(103.48)
    position = attrs.evolve(position, stop_loss=up.stop_loss)
    assert MANAGER.update(position, _close_bar(103.0), TRAILING_ONLY) is None


@pytest.mark.parametrize(
    ("side", "stop", "close"),
    [(LONG, 103.0, 102.0), (LONG, 103.0, 90.0), (SHORT, 97.0, 98.0), (SHORT, 97.0, 110.0)],
)
def test_stop_never_loosens(side: PositionSide, stop: float, close: float) -> None:
    position = make_position(
        side, 100.0, stop_loss=stop, trailing_active=True, breakeven_active=True
    )
    assert MANAGER.update(position, _close_bar(close), TRAILING_DEFAULTS) is None


def test_trailing_keeps_running_after_the_move_falls_below_activation() -> None:
    position = make_position(LONG, 100.0, stop_loss=99.0, trailing_active=True)
    update = MANAGER.update(position, _close_bar(100.5), TRAILING_ONLY)
    # 100.5 × 0.995 = 99.9975 → 99.99 (down): tighter than 99, and the flag stays on
    _expect(update, 99.99, breakeven=False, trailing=True, cause="trailing")


def test_flags_are_sticky_on_a_losing_bar() -> None:
    position = make_position(
        SHORT, 100.0, stop_loss=99.0, trailing_active=True, breakeven_active=True
    )
    assert MANAGER.update(position, make_bar(101.0, 104.0, 100.5, 103.0), TRAILING_DEFAULTS) is None


# -- ATR distance and the extreme reference ----------------------------------------------------

ATR_POLICY = attrs.evolve(TRAILING_ONLY, atr_multiple=2.0)


@pytest.mark.parametrize(("side", "close", "expected"), [(LONG, 103.0, 101.5), (SHORT, 97.0, 98.5)])
def test_atr_distance_is_atr_times_k(side: PositionSide, close: float, expected: float) -> None:
    update = MANAGER.update(make_position(side, 100.0), _close_bar(close), ATR_POLICY, atr=0.75)
    assert update is not None
    assert update.stop_loss == pytest.approx(expected)
    assert update.trailing_active is True


def test_atr_mode_without_an_atr_falls_back_to_the_percent_distance() -> None:
    update = MANAGER.update(make_position(LONG, 100.0), _close_bar(104.0), ATR_POLICY, atr=None)
    assert update is not None
    assert update.stop_loss == pytest.approx(103.48)


def test_extreme_reference_trails_the_long_high() -> None:
    bar = make_bar(100.5, 104.0, 100.2, 101.0)
    extreme = attrs.evolve(TRAILING_ONLY, reference=TrailReference.EXTREME)
    update = MANAGER.update(make_position(LONG, 100.0), bar, extreme)
    assert update is not None
    assert update.stop_loss == pytest.approx(103.48)  # 104 × 0.995
    # The close (+1 %) has not reached activation: the close reference does nothing.
    assert MANAGER.update(make_position(LONG, 100.0), bar, TRAILING_ONLY) is None


def test_extreme_reference_trails_the_short_low() -> None:
    bar = make_bar(99.5, 99.8, 96.0, 99.0)
    extreme: TrailingPolicy = attrs.evolve(TRAILING_ONLY, reference=TrailReference.EXTREME)
    update = MANAGER.update(make_position(SHORT, 100.0), bar, extreme)
    assert update is not None
    assert update.stop_loss == pytest.approx(96.48)  # 96 × 1.005
    assert update.trailing_active is True
