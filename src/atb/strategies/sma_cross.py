"""`sma_cross`: trend following on fast/slow simple-moving-average crosses.

- Bullish cross (fast moves above slow): enter long when flat; a short is reversed to long.
- Bearish cross (fast moves below slow): exit a long, or reverse it to short when shorts are
  allowed; enter short when flat and shorts are allowed.

A reversal is an opposite entry: the kernel closes the position and opens the new side in one
step at the next fill (`atb.managers.kernel`: "reverse: …").

Entries carry `size` (fraction of equity; the engine's caps apply separately) and optional
stop-loss / take-profit distances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.errors import StrategyError
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.strategies.indicators import sma
from atb.strategies.parameters import (
    ParameterSpec,
    ParamKind,
    ParamValue,
    resolve_parameters,
    typed_bool,
    typed_float,
    typed_int,
    typed_optional_float,
)
from atb.strategies.protocol import BoolArray, check_frame, require_prepared

SMA_CROSS_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("fast", ParamKind.INT, 10, "fast SMA window (bars)", minimum=1),
    ParameterSpec("slow", ParamKind.INT, 30, "slow SMA window (bars), > fast", minimum=2),
    ParameterSpec(
        "stop_loss",
        ParamKind.FLOAT,
        None,
        "stop-loss distance from entry as a fraction (None = off)",
        minimum=0.0,
        maximum=1.0,
        nullable=True,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "take_profit",
        ParamKind.FLOAT,
        None,
        "take-profit distance from entry as a fraction (None = off)",
        minimum=0.0,
        nullable=True,
        exclusive_minimum=True,
    ),
    ParameterSpec(
        "size",
        ParamKind.FLOAT,
        1.0,
        "position size as a fraction of equity (caps apply separately)",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
    ),
    ParameterSpec("allow_short", ParamKind.BOOL, False, "enter short on bearish crosses"),
)
"""Declared parameters of `sma_cross`."""


class SmaCross:
    """Fast/slow SMA crossover (see the module docstring). Satisfies `Strategy`."""

    name: ClassVar[str] = "sma_cross"
    parameter_specs: ClassVar[Sequence[ParameterSpec]] = SMA_CROSS_PARAMETERS

    def __init__(self, **params: ParamValue) -> None:
        values = resolve_parameters(SMA_CROSS_PARAMETERS, params)
        self._fast = typed_int(values, "fast")
        self._slow = typed_int(values, "slow")
        if self._fast >= self._slow:
            raise StrategyError(
                f"parameter fast = {self._fast} must be smaller than slow = {self._slow}"
            )
        self._values = values
        self._size = typed_float(values, "size")
        self._allow_short = typed_bool(values, "allow_short")
        self._stop_loss = typed_optional_float(values, "stop_loss")
        self._take_profit = typed_optional_float(values, "take_profit")
        self._features: pd.DataFrame | None = None
        self._cross = np.zeros(0, dtype=np.int8)
        self._mask = np.zeros(0, dtype=np.bool_)

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        """Current parameter values."""
        return dict(self._values)

    @property
    def warmup(self) -> int:
        """`slow + 1`: a cross compares this bar's regime with the previous bar's."""
        return self._slow + 1

    def prepare(self, frame: pd.DataFrame) -> None:
        """Compute both SMAs, the regime (sign of fast − slow) and the crosses."""
        check_frame(frame, self.name)
        close = frame["close"].astype(np.float64)
        fast = sma(close, self._fast).to_numpy()
        slow = sma(close, self._slow).to_numpy()
        valid = ~(np.isnan(fast) | np.isnan(slow))
        regime = np.where(valid, np.sign(fast - slow), np.nan)
        previous = np.full(len(regime), np.nan)
        previous[1:] = regime[:-1]
        both = ~(np.isnan(regime) | np.isnan(previous))
        up = both & (regime > 0) & (previous <= 0)
        down = both & (regime < 0) & (previous >= 0)
        cross = up.astype(np.int8) - down.astype(np.int8)
        self._cross = cross
        self._mask = cross != 0
        self._features = pd.DataFrame(
            {
                "fast_sma": fast,
                "slow_sma": slow,
                "regime": regime,
                "cross": cross.astype(np.float64),
            },
            index=frame.index,
        )

    def features(self) -> pd.DataFrame:
        """Columns fast_sma, slow_sma, regime (+1/0/−1), cross (+1 bullish, −1 bearish, 0)."""
        return require_prepared(self._features, self.name)

    def signal_mask(self) -> BoolArray:
        """The cross bars."""
        require_prepared(self._features, self.name)
        return self._mask.copy()

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """Act on a cross at `bar_index`: enter, exit or reverse."""
        cross = int(self._cross[bar_index])
        side = None if position is None else position.side
        if cross > 0 and side is not PositionSide.LONG:
            # flat: enter; short (only possible with allow_short): reverse to long
            return self._enter(Action.ENTER_LONG)
        if cross < 0 and side is not PositionSide.SHORT:
            if self._allow_short:
                return self._enter(Action.ENTER_SHORT)
            if side is PositionSide.LONG:
                return Decision(Action.EXIT, reason="bearish cross")
        return HOLD

    def _enter(self, action: Action) -> Decision:
        direction = "bullish" if action is Action.ENTER_LONG else "bearish"
        return Decision(
            action,
            size=self._size,
            stop_loss_pct=self._stop_loss,
            take_profit_pct=self._take_profit,
            reason=f"{direction} cross",
        )
