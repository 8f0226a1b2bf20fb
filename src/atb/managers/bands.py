"""`Band`: the open interval of values in which a manager has nothing to do.

Managers state their bands (`DynamicRiskHandler.quiet_band` on drawdown,
`TrailingStopManager.quiet_band` on the reference price, resting levels on the bar's range,
`TimeExitManager.deadline` on time); the backtest's fast path only intersects them with its
arrays, so no manager rule is written twice.
"""

from __future__ import annotations

import math

import attrs


@attrs.frozen(slots=True)
class Band:
    """Values strictly between `below` and `above` are quiet."""

    below: float = -math.inf
    above: float = math.inf

    def contains(self, value: float) -> bool:
        """True when `value` is strictly inside the band."""
        return self.below < value < self.above
