"""The `Strategy` Protocol: what every strategy provides (no base class).

Lifecycle, as both engines use it:

1. Construct with validated parameters (`atb.strategies.registry.create_strategy`).
2. `prepare(frame)` once over a candle frame (backtest: the whole run plus `warmup` bars before
   its start; live: the rolling window, again on every new bar). Features are computed
   vectorised and kept by the strategy.
3. `decide(bar_index, bar, position)` at the close of bar `bar_index` of the prepared frame,
   using rows `<= bar_index` only. It satisfies `atb.domain.decisions.Decider`.

Contracts proven by `atb.strategies.bias_check.check_strategy`:

- no look-ahead: features and decisions at a bar are the same whether the frame ends at that
  bar or continues;
- bounded history: a frame of only `warmup` bars ending at a bar gives the same features and
  decision at that bar as the full history (so features at bar `i` depend on rows
  `i - warmup + 1 .. i`; an engine that loads `warmup` bars before its start has enough);
- `signal_mask()[i]` is False ⇒ `decide` returns `HOLD` at `i`, whatever the position; the
  backtest engine skips `decide` on those bars for speed. The mask is False during warm-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from atb.deferred_modules import DeferredModule
from atb.domain.bars import Bar
from atb.domain.decisions import Decision
from atb.domain.errors import StrategyError
from atb.domain.protocols import PositionState
from atb.strategies.parameters import ParameterSpec, ParamValue

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    BoolArray: TypeAlias = npt.NDArray[np.bool_]
    """The type of `signal_mask()`."""
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

    def __getattr__(name: str) -> object:
        # `BoolArray` is built on first use (it needs numpy, which listing strategies does not).
        if name == "BoolArray":
            import numpy.typing as npt

            return npt.NDArray[np.bool_]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from atb.strategies.ml_artifact import ModelArtifact
    from atb.strategies.recent_bars import RecentBars

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
"""Columns of the candle frame handed to `prepare` (float64, UTC `DatetimeIndex` of open times)."""


@runtime_checkable
class Strategy(Protocol):
    """A trading strategy: parameters, warm-up, vectorised features, per-bar decisions."""

    @property
    def name(self) -> str:
        """Registry name, e.g. "sma_cross"."""
        ...

    @property
    def parameter_specs(self) -> Sequence[ParameterSpec]:
        """Declared parameters with defaults, bounds and descriptions."""
        ...

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        """Current (validated) parameter values, one per spec."""
        ...

    @property
    def warmup(self) -> int:
        """Bars of history (the current bar included) that features at a bar depend on (>= 1)."""
        ...

    def prepare(self, frame: pd.DataFrame) -> None:
        """Compute features over `frame` (vectorised); replaces any previous preparation."""
        ...

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """Decision at the close of row `bar_index` of the prepared frame (rows <= it only).
        `position` is valid for the call: the engine changes it in place at later bars."""
        ...

    def features(self) -> pd.DataFrame:
        """The prepared features, indexed like the prepared frame (NaN during warm-up)."""
        ...

    def signal_mask(self) -> BoolArray:
        """True where `decide` may return something other than HOLD, for any position."""
        ...


@runtime_checkable
class PreparesRecent(Protocol):
    """A strategy that can prepare the newest bar alone, from plain arrays (the live engine's
    fast path; see `atb.strategies.recent_bars`)."""

    def prepare_recent(self, recent: RecentBars) -> Mapping[str, float] | None:
        """Prepare the newest bar of `recent` for `decide(len(recent) - 1, …)` and return its
        features; None when the strategy has no incremental path (then `prepare(frame)`)."""
        ...


@runtime_checkable
class ModelBacked(Protocol):
    """A strategy driven by a trained model (`ml_basic`): engines read the artifact to refuse
    a run that overlaps its training window and to report its id."""

    @property
    def model_artifact(self) -> ModelArtifact:
        """The verified artifact the strategy predicts with."""
        ...


def check_frame(frame: pd.DataFrame, who: str) -> None:
    """Raise `StrategyError` unless `frame` has the OHLCV columns and a DatetimeIndex."""
    missing = [column for column in OHLCV_COLUMNS if column not in frame.columns]
    if missing:
        raise StrategyError(f"{who}: candle frame lacks column(s) {', '.join(missing)}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise StrategyError(f"{who}: candle frame must have a DatetimeIndex")


def column(frame: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    """One OHLCV column as a contiguous float64 array."""
    return np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))


def require_prepared(features: pd.DataFrame | None, who: str) -> pd.DataFrame:
    """The prepared features, or `StrategyError` when `prepare` has not run."""
    if features is None:
        raise StrategyError(f"{who}: prepare(frame) must be called before use")
    return features
