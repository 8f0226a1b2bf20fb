"""`ScriptedStrategy`: a `Strategy` whose decisions are a script by frame row, for engine tests.

Its signal mask is True exactly on the scripted rows, so the backtest's fast path may skip every
other bar; its features are the row numbers. It satisfies the `Strategy` Protocol (no base class).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Decision
from atb.domain.protocols import PositionState
from atb.strategies.parameters import ParameterSpec, ParamValue
from atb.strategies.protocol import BoolArray


class ScriptedStrategy:
    """Decides `script[row]` (HOLD on other rows) over whatever frame it is prepared on."""

    name: ClassVar[str] = "scripted"
    parameter_specs: ClassVar[Sequence[ParameterSpec]] = ()

    def __init__(self, script: Mapping[int, Decision], warmup: int = 1) -> None:
        self._script = dict(script)
        self._warmup = warmup
        self._rows = 0

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        """No parameters."""
        return {}

    @property
    def warmup(self) -> int:
        """Bars of history a decision looks at."""
        return self._warmup

    def prepare(self, frame: pd.DataFrame) -> None:
        """Remember how many rows there are (the script is by row)."""
        self._rows = len(frame)

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """The scripted decision for this row."""
        return self._script.get(bar_index, HOLD)

    def features(self) -> pd.DataFrame:
        """The row numbers."""
        return pd.DataFrame({"row": np.arange(self._rows, dtype=np.float64)})

    def signal_mask(self) -> BoolArray:
        """True on the scripted rows."""
        mask = np.zeros(self._rows, dtype=np.bool_)
        for row in self._script:
            if 0 <= row < self._rows:
                mask[row] = True
        return mask
