"""Where a bar's price path reaches a resting order's level.

The sandbox walks every bar along one fixed path: open → low → high → close. The low comes
before the high because that is the adverse extreme for a long position — the only side a spot
account can hold — which makes it atb's default `pessimistic` intrabar policy: a position whose
stop and target are both inside one bar is stopped out, never paid.

A level is *reached* at a distance along that path (0 at the open). A level the open is already
through (a gap) is reached at the open and fills there; any other level fills at itself.
"""

from __future__ import annotations

from atb.domain.bars import Bar

__all__ = ["PathHit", "reach"]

PathHit = tuple[float, float]
"""(distance along the path where the level is reached, the fill price)."""


def reach(level: float, falling: bool, bar: Bar) -> PathHit | None:
    """Where `bar`'s path first reaches `level`, or None if it never does.

    `falling`: the level is reached by prices at or below it (a buy limit, a sell stop, a buy
    take-profit); otherwise by prices at or above it.
    """
    if falling:
        if bar.open <= level:
            return 0.0, bar.open
        if bar.low <= level:
            # On the first leg, open → low.
            return bar.open - level, level
        return None
    if bar.open >= level:
        return 0.0, bar.open
    if bar.high >= level:
        # On the second leg, low → high: every level above the open that the bar reaches is
        # passed there (the third leg, high → close, stays inside [low, high]).
        return (bar.open - bar.low) + (level - bar.low), level
    return None
