"""`TrailingStopManager`: breakeven, then a trailing stop that only ever tightens.

Called after a bar's fills, from the completed bar, so a stop it raises applies from the next
bar on: a stop is never raised from a bar and then tested against that same bar's range.
"""

from __future__ import annotations

import attrs

from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
from atb.domain.pnl import move_from
from atb.domain.policies import TrailingPolicy, TrailReference
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.managers.bands import Band


@attrs.frozen(slots=True)
class StopUpdate:
    """New stop (tighter than before, or unchanged when only a flag changed) and sticky flags.

    `cause` is "breakeven" or "trailing": which rule produced the stop.
    """

    stop_loss: float | None
    breakeven_active: bool
    trailing_active: bool
    cause: str


def _tighter(side: PositionSide, candidate: float, current: float | None) -> bool:
    if current is None:
        return True
    return candidate > current if side is PositionSide.LONG else candidate < current


@attrs.frozen(slots=True)
class TrailingStopManager:
    """Computes stop moves for any `PositionState` on one instrument."""

    instrument: Instrument

    def quiet_band(self, position: PositionState, policy: TrailingPolicy) -> Band | None:
        """The reference prices (close, or the favourable extreme) at which `update` changes
        nothing; None when every bar may move the stop (ATR distances, or no stop yet).

        For a long, breakeven fires at entry × (1 + trigger), activation at entry × (1 +
        activation), and an active trail tightens once reference × (1 − distance) clears the
        stop; within a tick of it the rounding decides, so that counts as a move. Mirrored for
        a short.
        """
        if policy.atr_multiple is not None:
            return None
        side = position.side
        entry = position.entry_price
        limits: list[float] = []
        trigger = policy.breakeven_trigger_pct
        if not position.breakeven_active and trigger is not None:
            limits.append(entry * (1.0 + side.sign * trigger))
        if not position.trailing_active:
            limits.append(entry * (1.0 + side.sign * policy.activation_pct))
        else:
            stop = position.stop_loss
            if stop is None:
                return None
            tick = self.instrument.tick_size
            if side is PositionSide.LONG:
                limits.append((stop - tick) / (1.0 - policy.distance_pct))
            else:
                limits.append((stop + tick) / (1.0 + policy.distance_pct))
        if side is PositionSide.LONG:
            return Band(above=min(limits))
        return Band(below=max(limits))

    def update(
        self,
        position: PositionState,
        bar: Bar,
        policy: TrailingPolicy,
        atr: float | None = None,
    ) -> StopUpdate | None:
        """The stop after `bar` closed, or None when nothing changes.

        The reference price is the bar's close (or its favourable extreme with
        `TrailReference.EXTREME`). Breakeven moves the stop to entry ± buffer once the reference
        is `breakeven_trigger_pct` in the money; trailing activates at `activation_pct` and then
        keeps the stop `distance_pct` of the reference (or ATR × `atr_multiple`) behind it.
        """
        side = position.side
        if policy.reference is TrailReference.EXTREME:
            reference = bar.high if side is PositionSide.LONG else bar.low
        else:
            reference = bar.close
        move = move_from(side, position.entry_price, reference)
        stop = position.stop_loss
        breakeven = position.breakeven_active
        trailing = position.trailing_active
        cause = ""

        trigger = policy.breakeven_trigger_pct
        if not breakeven and trigger is not None and move >= trigger:
            breakeven = True
            level = position.entry_price * (1.0 + side.sign * policy.breakeven_buffer_pct)
            candidate = self.instrument.round_stop(level, side)
            if _tighter(side, candidate, stop):
                stop, cause = candidate, "breakeven"

        if not trailing and move >= policy.activation_pct:
            trailing = True
        if trailing:
            if policy.atr_multiple is not None and atr is not None and atr > 0:
                distance = atr * policy.atr_multiple
            else:
                distance = reference * policy.distance_pct
            candidate = self.instrument.round_stop(reference - side.sign * distance, side)
            if candidate > 0 and _tighter(side, candidate, stop):
                stop, cause = candidate, "trailing"

        flags_changed = (breakeven, trailing) != (
            position.breakeven_active,
            position.trailing_active,
        )
        if stop == position.stop_loss and not flags_changed:
            return None
        return StopUpdate(stop, breakeven, trailing, cause or "flags")
