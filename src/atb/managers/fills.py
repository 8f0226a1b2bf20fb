"""`FillModel`: which resting levels a bar touches, in the order its price path meets them.

A bar's path is open → first extreme → second extreme → close. The intrabar policy decides which
extreme comes first; a bar whose outcome would differ under the other order is *ambiguous*.
A level already crossed at the open (a gap) fills at the open; otherwise at the level.
"""

from __future__ import annotations

import enum

import attrs

from atb.domain.bars import Bar
from atb.domain.sides import PositionSide
from atb.managers.execution_config import IntrabarPolicy


class Trigger(enum.Enum):
    """A level fires when the price rises to it (UP) or falls to it (DOWN)."""

    UP = "up"
    DOWN = "down"


class LevelKind(enum.Enum):
    """What a resting level does when it fires."""

    STOP_LOSS = "stop loss"
    TAKE_PROFIT = "take profit"
    PARTIAL_EXIT = "partial exit"
    SCALE_IN = "scale-in"

    @property
    def is_limit(self) -> bool:
        """Take-profit and partial-exit targets are resting limits (maker); the rest are stops."""
        return self in (LevelKind.TAKE_PROFIT, LevelKind.PARTIAL_EXIT)

    @property
    def closes_position(self) -> bool:
        """Stop loss and take profit close the whole position."""
        return self in (LevelKind.STOP_LOSS, LevelKind.TAKE_PROFIT)


@attrs.frozen(slots=True, cache_hash=True)
class Level:
    """A resting price level of an open position. `rung` indexes partial/scale-in ladders."""

    price: float
    trigger: Trigger
    kind: LevelKind
    rung: int = 0

    def crossed_by(self, price: float) -> bool:
        """True when `price` is at or beyond the level in its trigger direction."""
        return price >= self.price if self.trigger is Trigger.UP else price <= self.price

    def within(self, low: float, high: float) -> bool:
        """True when a bar ranging from `low` to `high` reaches the level."""
        return high >= self.price if self.trigger is Trigger.UP else low <= self.price


@attrs.frozen(slots=True)
class LevelHit:
    """A level met by the bar path; `price` is where it executes before costs (level or open)."""

    level: Level
    price: float
    gapped: bool


@attrs.frozen(slots=True)
class BarWalk:
    """The hits of one bar in path order, and whether another intrabar order changes them."""

    hits: tuple[LevelHit, ...]
    ambiguous: bool


_NOTHING = BarWalk((), ambiguous=False)


def levels_for_exit(
    side: PositionSide, stop_loss: float | None, take_profit: float | None
) -> tuple[Level, ...]:
    """Stop-loss and take-profit levels of a position on `side`."""
    down, up = (
        (Trigger.DOWN, Trigger.UP) if side is PositionSide.LONG else (Trigger.UP, Trigger.DOWN)
    )
    levels: list[Level] = []
    if stop_loss is not None:
        levels.append(Level(stop_loss, down, LevelKind.STOP_LOSS))
    if take_profit is not None:
        levels.append(Level(take_profit, up, LevelKind.TAKE_PROFIT))
    return tuple(levels)


def _ordered(levels: list[Level], trigger: Trigger) -> list[Level]:
    """Levels of one trigger direction in the order a monotone move meets them."""
    chosen = [level for level in levels if level.trigger is trigger]
    return sorted(chosen, key=lambda level: level.price, reverse=trigger is Trigger.DOWN)


def _walk(levels: tuple[Level, ...], bar: Bar, low_first: bool) -> tuple[LevelHit, ...]:
    pending = list(levels)
    hits: list[LevelHit] = []
    # A level already beyond the open was gapped through: it fills at the open, in the order
    # the overnight move would have met it.
    for trigger in (Trigger.DOWN, Trigger.UP):
        for level in _ordered(pending, trigger):
            if level.crossed_by(bar.open):
                hits.append(LevelHit(level, bar.open, gapped=True))
    pending = [level for level in pending if not level.crossed_by(bar.open)]
    points = (bar.low, bar.high) if low_first else (bar.high, bar.low)
    start = bar.open
    for end in (*points, bar.close):
        trigger = Trigger.DOWN if end < start else Trigger.UP
        if end != start:
            for level in _ordered(pending, trigger):
                if level.crossed_by(end):
                    hits.append(LevelHit(level, level.price, gapped=False))
                    pending.remove(level)
        start = end
    return tuple(hits)


def _outcome(hits: tuple[LevelHit, ...]) -> tuple[Level, ...]:
    """The part of a hit sequence that decides the result: up to the first full exit."""
    outcome: list[Level] = []
    for hit in hits:
        outcome.append(hit.level)
        if hit.level.kind.closes_position:
            break
    return tuple(outcome)


@attrs.frozen(slots=True)
class FillModel:
    """Walks a bar's path under one intrabar policy."""

    policy: IntrabarPolicy

    def low_first(self, bar: Bar, side: PositionSide) -> bool:
        """Whether the policy visits the low before the high on this bar for this side."""
        adverse_low = side is PositionSide.LONG
        if self.policy is IntrabarPolicy.PESSIMISTIC:
            return adverse_low
        if self.policy is IntrabarPolicy.OPTIMISTIC:
            return not adverse_low
        if self.policy is IntrabarPolicy.NEAREST_EXTREME:
            to_low, to_high = bar.open - bar.low, bar.high - bar.open
            return to_low < to_high if to_low != to_high else adverse_low
        # Candle direction: a bullish bar is read as open → low → high → close.
        return bar.close >= bar.open

    def walk(
        self, levels: tuple[Level, ...], bar: Bar, side: PositionSide, *, reverse: bool = False
    ) -> BarWalk:
        """Hits of `levels` on `bar` in path order, with the ambiguity flag.

        `reverse=True` walks the extremes in the opposite order to the policy's choice.
        """
        # Only levels inside the bar's range can fire; most bars touch none.
        low, high = bar.low, bar.high
        reachable = tuple(level for level in levels if level.within(low, high))
        if not reachable:
            return _NOTHING
        low_first = self.low_first(bar, side) != reverse
        hits = _walk(reachable, bar, low_first)
        triggers = {level.trigger for level in reachable}
        if len(triggers) == 1:
            # Levels on one side only: both extreme orders meet them identically.
            return BarWalk(hits, ambiguous=False)
        other = _walk(reachable, bar, not low_first)
        return BarWalk(hits, ambiguous=_outcome(hits) != _outcome(other))
