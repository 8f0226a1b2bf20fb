"""`sma_cross`: trend following on fast/slow simple-moving-average crosses.

- Bullish cross (fast moves above slow): enter long when flat; exit a short.
- Bearish cross (fast moves below slow): exit a long; enter short when flat and shorts are
  allowed.
- Reversal with `allow_short`: the cross bar exits, and the next bar enters the new side when
  the position is flat and the cross still holds. A decision is one action, so a reversal takes
  two (the exit fills at the next open, the entry one bar later); this never relies on an engine
  turning an opposite entry into close-and-open.

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
        """`slow + 2`: the cross at the previous bar needs the slow SMA two bars back."""
        return self._slow + 2

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
        mask = cross != 0
        if self._allow_short:
            mask[1:] |= cross[:-1] != 0
        self._cross = cross
        self._mask = mask
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
        """Cross bars, plus the bar after a cross when shorts are allowed (reversal entry)."""
        require_prepared(self._features, self.name)
        return self._mask.copy()

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """Act on a cross at `bar_index` (or complete a reversal the bar after one)."""
        cross = int(self._cross[bar_index])
        side = None if position is None else position.side
        if cross > 0:
            if side is PositionSide.SHORT:
                return Decision(Action.EXIT, reason="bullish cross")
            return self._enter(Action.ENTER_LONG) if side is None else HOLD
        if cross < 0:
            if side is PositionSide.LONG:
                return Decision(Action.EXIT, reason="bearish cross")
            if side is None and self._allow_short:
                return self._enter(Action.ENTER_SHORT)
            return HOLD
        if self._allow_short and side is None and bar_index > 0:
            previous = int(self._cross[bar_index - 1])
            if previous > 0:
                return self._enter(Action.ENTER_LONG)
            if previous < 0:
                return self._enter(Action.ENTER_SHORT)
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
