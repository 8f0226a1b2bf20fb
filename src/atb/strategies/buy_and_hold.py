"""`buy_and_hold`: the baseline. Enters long at the first bar it may decide and holds.

It is stateless (decisions depend only on the bar and the position), so "the first bar it may
decide" means: whenever it is flat it asks to enter long. In a plain run that is once, at the
first decided bar. If something outside the strategy closes the position (a risk latch, a
trailing stop enabled by config) it asks again at the next bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.protocols import PositionState
from atb.strategies.parameters import (
    ParameterSpec,
    ParamKind,
    ParamValue,
    resolve_parameters,
    typed_float,
)
from atb.strategies.protocol import BoolArray, check_frame, require_prepared

BUY_AND_HOLD_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "size",
        ParamKind.FLOAT,
        1.0,
        "position size as a fraction of equity (caps apply separately)",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    ),
)
"""Declared parameters of `buy_and_hold`."""


class BuyAndHold:
    """Long from the first decided bar to the end. Satisfies `Strategy`."""

    name: ClassVar[str] = "buy_and_hold"
    parameter_specs: ClassVar[Sequence[ParameterSpec]] = BUY_AND_HOLD_PARAMETERS

    def __init__(self, **params: ParamValue) -> None:
        self._values = resolve_parameters(BUY_AND_HOLD_PARAMETERS, params)
        self._entry = Decision(
            Action.ENTER_LONG, size=typed_float(self._values, "size"), reason="buy and hold"
        )
        self._features: pd.DataFrame | None = None

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        """Current parameter values."""
        return dict(self._values)

    @property
    def warmup(self) -> int:
        """One bar: nothing is computed from history."""
        return 1

    def prepare(self, frame: pd.DataFrame) -> None:
        """Keep the close as the only feature (for the bias check and reports)."""
        check_frame(frame, self.name)
        self._features = pd.DataFrame(
            {"close": frame["close"].to_numpy(dtype=np.float64)}, index=frame.index
        )

    def features(self) -> pd.DataFrame:
        """One column, close."""
        return require_prepared(self._features, self.name)

    def signal_mask(self) -> BoolArray:
        """Every bar: when flat, any bar is an entry."""
        return np.ones(len(require_prepared(self._features, self.name)), dtype=np.bool_)

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """Enter long when flat, otherwise hold."""
        return self._entry if position is None else HOLD
