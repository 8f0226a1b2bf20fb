"""`PartialOperationsManager`: the partial-exit and scale-in ladders of a position.

Levels are fixed from the first entry price; sizes are fractions of the original quantity.
Every remaining rung is offered to the `FillModel` at once, so a bar that crosses several
targets fills them all, in path order. Once partial exits have begun, no more scale-ins.
"""

from __future__ import annotations

from functools import lru_cache

import attrs

from atb.domain.instruments import Instrument
from atb.domain.policies import PartialPolicy
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.managers.fills import Level, LevelKind, Trigger

PARTIALS_COMPLETE = "partial exits complete"
"""Exit reason when the ladder consumed the whole position."""

_LOT_TOLERANCE = 1e-6
"""Fraction of a lot treated as float noise when putting quantities on the lot grid."""


@attrs.frozen(slots=True)
class ExitSlice:
    """How much a partial-exit rung sells, and whether that closes the position."""

    quantity: float
    closes_position: bool


@lru_cache(maxsize=256)
def _ladder_levels(
    instrument: Instrument,
    *,
    side: PositionSide,
    base: float,
    exits_taken: int,
    scale_ins_taken: int,
    policy: PartialPolicy,
    allow_scale_in: bool,
) -> tuple[Level, ...]:
    # Pure function of its (hashable) arguments, cached: a position keeps the same ladder for
    # many bars, so the levels are built once per change instead of on every bar.
    favourable = Trigger.UP if side is PositionSide.LONG else Trigger.DOWN
    levels: list[Level] = []
    for rung in range(exits_taken, len(policy.exit_targets)):
        move = policy.exit_targets[rung][0]
        price = instrument.round_target(base * (1.0 + side.sign * move), side)
        levels.append(Level(price, favourable, LevelKind.PARTIAL_EXIT, rung))
    if allow_scale_in and exits_taken == 0 and scale_ins_taken < policy.max_scale_ins:
        last = min(policy.max_scale_ins, len(policy.scale_in_thresholds))
        for rung in range(scale_ins_taken, last):
            move = policy.scale_in_thresholds[rung][0]
            price = instrument.round_target(base * (1.0 + side.sign * move), side)
            levels.append(Level(price, favourable, LevelKind.SCALE_IN, rung))
    return tuple(levels)


@attrs.frozen(slots=True)
class PartialOperationsManager:
    """Produces ladder levels and slice sizes for any `PositionState` on one instrument."""

    instrument: Instrument

    def levels(
        self, position: PositionState, policy: PartialPolicy, allow_scale_in: bool = True
    ) -> tuple[Level, ...]:
        """The rungs still open: exit targets not yet taken, and scale-in thresholds while no
        partial exit has happened, fewer than `max_scale_ins` were taken and
        `allow_scale_in` (False under a close-only latch)."""
        return _ladder_levels(
            self.instrument,
            side=position.side,
            base=position.first_entry_price,
            exits_taken=position.partial_exits_taken,
            scale_ins_taken=position.scale_ins_taken,
            policy=policy,
            allow_scale_in=allow_scale_in,
        )

    def exit_slice(self, position: PositionState, policy: PartialPolicy, rung: int) -> ExitSlice:
        """Quantity sold by exit rung `rung`: min(size × original, current), on the lot grid.

        The last rung, or a slice that would leave less than one lot, closes the position.
        """
        size = policy.exit_targets[rung][1]
        wanted = min(size * position.original_quantity, position.quantity)
        quantity = min(self._lots(wanted), position.quantity)
        remainder = position.quantity - quantity
        last_rung = rung == len(policy.exit_targets) - 1
        less_than_a_lot = remainder < self.instrument.lot_step * (1.0 - _LOT_TOLERANCE)
        if last_rung or less_than_a_lot:
            return ExitSlice(position.quantity, closes_position=True)
        return ExitSlice(quantity, closes_position=False)

    def scale_in_quantity(self, position: PositionState, policy: PartialPolicy, rung: int) -> float:
        """Quantity added by scale-in rung `rung`: size × original quantity, on the lot grid."""
        size = policy.scale_in_thresholds[rung][1]
        return self._lots(size * position.original_quantity)

    def _lots(self, quantity: float) -> float:
        """`quantity` rounded down to the lot grid, tolerating binary noise just under a lot
        multiple (0.7 × 0.1 = 0.0699…, 0.3 − 0.2 = 0.0999…), which would otherwise lose a lot."""
        return self.instrument.round_quantity(quantity + self.instrument.lot_step * _LOT_TOLERANCE)
