"""`rsi_mean_reversion`: buy weakness, sell the bounce.

Enter long when the RSI crosses back above `oversold` (the sell-off is losing steam); exit when
it crosses above `overbought`, or at the stop. With `allow_short`, the mirror image: short when
it crosses back below `overbought`, cover when it crosses below `oversold`.
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
from atb.strategies.indicators import rsi, rsi_at
from atb.strategies.parameter_fields import parameter
from atb.strategies.recent_bars import RecentBars
from atb.strategies.row import Row
from atb.strategies.signals import crossed_above, crossed_below, crossing

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")


@attrs.frozen
class RsiMeanReversion:
    """RSI mean reversion (see the module docstring)."""

    name: ClassVar[str] = "rsi_mean_reversion"

    window: int = parameter(14, "RSI window (bars)", minimum=2)
    oversold: float = parameter(30.0, "RSI level a long waits to cross back above", above=0.0)
    overbought: float = parameter(70.0, "RSI level that ends a long", maximum=100.0)
    stop_loss: float | None = parameter(0.03, "stop distance (None = off)", above=0.0)
    size: float = parameter(1.0, "fraction of equity per entry", above=0.0, maximum=1.0)
    allow_short: bool = parameter(False, "also fade overbought markets")

    def __attrs_post_init__(self) -> None:
        if self.oversold >= self.overbought:
            raise StrategyError(f"oversold = {self.oversold} must be below {self.overbought}")

    @property
    def warmup(self) -> int:
        """`window + 2`: the RSI needs `window + 1` closes, a cross one bar more."""
        return self.window + 2

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The RSI and its four crossings; `may_act` where any happens."""
        strength = rsi(frame["close"], self.window)
        signals = {
            "rsi": strength,
            "leaves_oversold": crossed_above(strength, self.oversold),
            "enters_overbought": crossed_above(strength, self.overbought),
            "leaves_overbought": crossed_below(strength, self.overbought),
            "enters_oversold": crossed_below(strength, self.oversold),
        }
        features = pd.DataFrame(signals)
        features["may_act"] = features.drop(columns="rsi").any(axis=1)
        return features

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        """The newest bar's features from the last `window + 2` closes (the live fast path)."""
        last = len(bars) - 1
        before, now = (rsi_at(bars.close, self.window, row) for row in (last - 1, last))
        oversold = crossing(before - self.oversold, now - self.oversold)
        overbought = crossing(before - self.overbought, now - self.overbought)
        signals = {
            "leaves_oversold": float(oversold > 0),
            "enters_overbought": float(overbought > 0),
            "leaves_overbought": float(overbought < 0),
            "enters_oversold": float(oversold < 0),
        }
        return {"rsi": now, **signals, "may_act": float(any(signals.values()))}

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        """Enter on a level left behind, exit on the opposite level reached."""
        side = None if position is None else position.side
        if side is PositionSide.LONG and row["enters_overbought"]:
            return exit_position("RSI overbought")
        if side is PositionSide.SHORT and row["enters_oversold"]:
            return exit_position("RSI oversold")
        if side is None and row["leaves_oversold"]:
            return enter_long(self.size, stop=self.stop_loss, reason="RSI leaves oversold")
        if side is None and self.allow_short and row["leaves_overbought"]:
            return enter_short(self.size, stop=self.stop_loss, reason="RSI leaves overbought")
        return HOLD
