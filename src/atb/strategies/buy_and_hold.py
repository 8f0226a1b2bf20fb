"""`buy_and_hold`: long from the first decided bar to the end of the run — the baseline every
strategy is compared with."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.decisions import HOLD, Decision
from atb.domain.protocols import PositionState
from atb.strategies.decision_builders import enter_long
from atb.strategies.parameter_fields import parameter
from atb.strategies.recent_bars import RecentBars
from atb.strategies.row import Row

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")


@attrs.frozen
class BuyAndHold:
    """Enter long when flat, then hold."""

    name: ClassVar[str] = "buy_and_hold"

    size: float = parameter(
        1.0, "position size as a fraction of equity (caps apply separately)", above=0.0, maximum=1.0
    )

    @property
    def warmup(self) -> int:
        """One bar: nothing is computed from history."""
        return 1

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """No features: every bar is decidable."""
        return pd.DataFrame(index=frame.index)

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        """No features (the live fast path has nothing to compute)."""
        return {}

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        """Enter long when flat, otherwise hold."""
        return enter_long(self.size, reason="buy and hold") if position is None else HOLD
