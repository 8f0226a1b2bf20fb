"""`sma_cross`: trend following on fast/slow simple-moving-average crosses.

- Bullish cross (fast moves above slow): enter long when flat; a short is reversed to long.
- Bearish cross (fast moves below slow): exit a long, or reverse it to short when shorts are
  allowed; enter short when flat and shorts are allowed.

A reversal is an opposite entry: the kernel closes the position and opens the new side in one
step at the next fill. Entries carry `size` (fraction of equity; the run's caps apply
separately) and optional stop-loss / take-profit distances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.decisions import HOLD, Decision
from atb.domain.errors import StrategyError
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.strategies.decision_builders import enter_long, enter_short, exit_position
from atb.strategies.indicators import sma, sma_at
from atb.strategies.parameter_fields import parameter
from atb.strategies.recent_bars import RecentBars
from atb.strategies.row import Row
from atb.strategies.signals import crossed_above, crossed_below, crossing

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")


@attrs.frozen
class SmaCross:
    """Fast/slow SMA crossover (see the module docstring)."""

    name: ClassVar[str] = "sma_cross"

    fast: int = parameter(10, "fast SMA window (bars)", minimum=1)
    slow: int = parameter(30, "slow SMA window (bars), > fast", minimum=2)
    stop_loss: float | None = parameter(
        None, "stop-loss distance from entry as a fraction (None = off)", above=0.0, maximum=1.0
    )
    take_profit: float | None = parameter(
        None, "take-profit distance from entry as a fraction (None = off)", above=0.0
    )
    size: float = parameter(
        1.0, "position size as a fraction of equity (caps apply separately)", above=0.0, maximum=1.0
    )
    allow_short: bool = parameter(False, "enter short on bearish crosses")

    def __attrs_post_init__(self) -> None:
        if self.fast >= self.slow:
            raise StrategyError(
                f"parameter fast = {self.fast} must be smaller than slow = {self.slow}"
            )

    @property
    def warmup(self) -> int:
        """`slow + 1`: a cross compares this bar's regime with the previous bar's."""
        return self.slow + 1

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Both SMAs and the crosses (+1 bullish, −1 bearish, 0); `may_act` on crosses."""
        fast, slow = sma(frame["close"], self.fast), sma(frame["close"], self.slow)
        up, down = crossed_above(fast, slow), crossed_below(fast, slow)
        cross = up.astype(float) - down.astype(float)
        return pd.DataFrame(
            {"fast_sma": fast, "slow_sma": slow, "cross": cross, "may_act": up | down}
        )

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        """The newest bar's features from the last `slow + 1` closes (the live fast path)."""
        close, last = bars.close, len(bars) - 1
        fast_before, fast = (sma_at(close, self.fast, row) for row in (last - 1, last))
        slow_before, slow = (sma_at(close, self.slow, row) for row in (last - 1, last))
        cross = crossing(fast_before - slow_before, fast - slow)
        return {"fast_sma": fast, "slow_sma": slow, "cross": cross, "may_act": float(cross != 0)}

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        """Act on a cross: enter, exit or reverse (an entry against a position reverses it)."""
        side = None if position is None else position.side
        stop, target = self.stop_loss, self.take_profit
        if row["cross"] > 0 and side is not PositionSide.LONG:
            return enter_long(self.size, stop=stop, target=target, reason="bullish cross")
        if row["cross"] < 0 and side is not PositionSide.SHORT:
            if self.allow_short:
                return enter_short(self.size, stop=stop, target=target, reason="bearish cross")
            if side is PositionSide.LONG:
                return exit_position("bearish cross")
        return HOLD
