"""Deliberately broken strategies: the bias check must catch each one (also used by the CLI
end-to-end test as `tests.unit.strategies.leaky:LookAheadStrategy`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.protocols import PositionState
from atb.strategies import ParameterSpec, ParamKind, ParamValue, resolve_parameters
from atb.strategies.indicators import sma
from atb.strategies.protocol import BoolArray

NOT_CALLABLE = 42


def not_a_strategy() -> object:
    """Returns something that is not a strategy."""
    return object()


class _Base:
    """Shared plumbing for the test strategies (tests may use a helper class; strategies in
    `atb.strategies` do not)."""

    name: ClassVar[str] = "broken"
    parameter_specs: ClassVar[Sequence[ParameterSpec]] = ()
    warmup_bars: ClassVar[int] = 5

    def __init__(self, **params: ParamValue) -> None:
        self._values = resolve_parameters(self.parameter_specs, params)
        self._features = pd.DataFrame()
        self._mask = np.zeros(0, dtype=np.bool_)

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        return dict(self._values)

    @property
    def warmup(self) -> int:
        return self.warmup_bars

    def features(self) -> pd.DataFrame:
        return self._features

    def signal_mask(self) -> BoolArray:
        return self._mask

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        signal = float(self._features["signal"].iloc[bar_index])
        if position is None and signal > 0:
            return Decision(Action.ENTER_LONG, size=1.0)
        return HOLD

    def _keep(
        self, frame: pd.DataFrame, signal: pd.Series[float], **extra: pd.Series[float]
    ) -> None:
        self._features = pd.DataFrame({"signal": signal, **extra}, index=frame.index)
        self._mask = np.asarray(signal.to_numpy() > 0, dtype=np.bool_)
        self._mask[: self.warmup - 1] = False


class LookAheadStrategy(_Base):
    """Buys when the close `lead` bars ahead is higher: look-ahead bias via shift(-lead)."""

    name: ClassVar[str] = "look_ahead"
    parameter_specs: ClassVar[Sequence[ParameterSpec]] = (
        ParameterSpec("lead", ParamKind.INT, 1, "bars of look-ahead", minimum=1),
    )

    def prepare(self, frame: pd.DataFrame) -> None:
        lead = int(self._values["lead"] or 1)
        future = frame["close"].shift(-lead)
        signal = (future > frame["close"]).astype(np.float64)
        self._keep(frame, signal, future_close=future)


class RecursiveStrategy(_Base):
    """A classic (recursive) EMA: its value depends on the whole history, not on `warmup`."""

    name: ClassVar[str] = "recursive"

    def prepare(self, frame: pd.DataFrame) -> None:
        ewm = frame["close"].ewm(span=20, adjust=True).mean()
        signal = (frame["close"] > ewm).astype(np.float64)
        self._keep(frame, signal, ewm=ewm)


class MaskLiarStrategy(_Base):
    """Promises HOLD everywhere (mask all False) but enters on rising closes."""

    name: ClassVar[str] = "mask_liar"

    def prepare(self, frame: pd.DataFrame) -> None:
        rising = (frame["close"].diff() > 0).astype(np.float64)
        self._keep(frame, rising, sma=sma(frame["close"], 5))
        self._mask = np.zeros(len(frame), dtype=np.bool_)
