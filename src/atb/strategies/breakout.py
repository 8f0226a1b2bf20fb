"""`breakout`: trade a close beyond the recent range (a Donchian channel).

Enter long when the close rises above the highest high of the previous `window` bars, with a
stop and an optional target; exit when it falls below the lowest low of the previous
`exit_window` bars. The channel excludes the current bar, so a breakout is always news.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.decisions import HOLD, Decision
from atb.domain.protocols import PositionState
from atb.strategies.decision_builders import enter_long, exit_position
from atb.strategies.indicators import extreme_at, rolling_max, rolling_min
from atb.strategies.parameter_fields import parameter
from atb.strategies.recent_bars import RecentBars
from atb.strategies.row import Row

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")


@attrs.frozen
class Breakout:
    """Donchian breakout, long only (see the module docstring)."""

    name: ClassVar[str] = "breakout"

    window: int = parameter(20, "bars in the entry channel", minimum=2)
    exit_window: int = parameter(10, "bars in the exit channel", minimum=2)
    stop_loss: float | None = parameter(0.02, "stop distance (None = off)", above=0.0)
    take_profit: float | None = parameter(None, "target distance (None = off)", above=0.0)

    @property
    def warmup(self) -> int:
        """The longer channel plus the current bar."""
        return max(self.window, self.exit_window) + 1

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Yesterday's channel and whether this close broke out of it."""
        upper = rolling_max(frame["high"], self.window).shift(1)
        lower = rolling_min(frame["low"], self.exit_window).shift(1)
        above, below = frame["close"] > upper, frame["close"] < lower
        return pd.DataFrame(
            {
                "upper": upper,
                "lower": lower,
                "above": above,
                "below": below,
                "may_act": above | below,
            }
        )

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        """The newest bar's features from the channels before it (the live fast path)."""
        last = len(bars) - 1
        upper = extreme_at(bars.high, self.window, last - 1, highest=True)
        lower = extreme_at(bars.low, self.exit_window, last - 1, highest=False)
        close = float(bars.close[last])
        above, below = close > upper, close < lower
        return {
            "upper": upper,
            "lower": lower,
            "above": float(above),
            "below": float(below),
            "may_act": float(above or below),
        }

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        """Enter on a close above the channel, leave on one below the exit channel."""
        if position is None and row["above"]:
            return enter_long(stop=self.stop_loss, target=self.take_profit, reason="breakout")
        if position is not None and row["below"]:
            return exit_position("channel low broken")
        return HOLD
