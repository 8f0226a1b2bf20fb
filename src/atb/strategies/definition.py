"""The strategy contract users write, and the adapter the engines run it through.

A strategy is a frozen attrs class whose fields are its parameters (see
`atb.strategies.parameter_fields.parameter`) with three members:

- `warmup` — bars of history, the current one included, that a bar's features depend on;
- `features(frame) -> DataFrame` — vectorised columns over the candle frame, indexed like it;
  an optional boolean column `may_act` says on which bars `decide` may act (the bias check
  proves the promise; without it every bar is decidable);
- `decide(row, position) -> Decision` — what to do at the close of the bar `row` describes
  (that bar's features and prices), given the open position or None.

Nothing else: no `prepare`, no bar index, no hidden state. `DefinedStrategy` wraps such a class
into the engines' `Strategy` Protocol (`prepare` computes the features once per frame, `decide`
builds the row of the bar it is asked about), so the backtest, live sessions, parity and the
bias check run user strategies exactly as the built-ins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from atb.deferred_modules import DeferredModule
from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Decision
from atb.domain.errors import StrategyError
from atb.domain.protocols import PositionState
from atb.strategies.ml_artifact import ModelArtifact
from atb.strategies.parameter_fields import parameter_specs
from atb.strategies.parameters import ParameterSpec, ParamValue
from atb.strategies.protocol import OHLCV_COLUMNS, check_frame, require_prepared
from atb.strategies.recent_bars import RecentBars
from atb.strategies.row import Row

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from atb.strategies.protocol import BoolArray
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

__all__ = ["MAY_ACT", "DefinedStrategy", "StrategyDefinition", "strategy_name"]

MAY_ACT = "may_act"
"""The optional feature column that marks the bars where `decide` may act."""


@runtime_checkable
class StrategyDefinition(Protocol):
    """What a strategy class provides (its fields are its parameters)."""

    @property
    def warmup(self) -> int:
        """Bars of history (the current bar included) that a bar's features depend on."""
        ...

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Feature columns over `frame` (OHLCV, UTC open times), indexed like it."""
        ...

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        """The decision at the close of the bar `row` describes."""
        ...


@runtime_checkable
class IncrementalDefinition(Protocol):
    """A strategy that also computes the newest bar's features from plain arrays (optional;
    see `atb.strategies.recent_bars`)."""

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        """The newest bar's features, equal bit for bit to the last row of `features`."""
        ...


def strategy_name(cls: type) -> str:
    """A strategy's name: its `name` class attribute, else its class name in snake_case."""
    declared = cls.__dict__.get("name")
    if isinstance(declared, str) and declared:
        return declared
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


class DefinedStrategy:
    """A `StrategyDefinition` instance as the engines' `Strategy`."""

    __slots__ = (
        "_columns",
        "_definition",
        "_features",
        "_first_decidable",
        "_incremental",
        "_mask",
        "_name",
        "_specs",
    )

    def __init__(self, definition: StrategyDefinition, *, name: str | None = None) -> None:
        """Wrap `definition`; `name` overrides its name (a user strategy is named by the
        reference it was loaded by, so a session or a result can load it again)."""
        if not isinstance(definition, StrategyDefinition):
            raise StrategyError(
                f"{type(definition).__qualname__} is not a strategy: it needs warmup, "
                "features(frame) and decide(row, position)"
            )
        cls = type(definition)
        self._definition = definition
        self._specs = parameter_specs(cls)
        self._name = name or strategy_name(cls)
        self._features: pd.DataFrame | None = None
        self._columns: dict[str, npt.NDArray[np.float64]] = {}
        self._mask: BoolArray = np.zeros(0, dtype=np.bool_)
        self._first_decidable = 0
        self._incremental = definition if isinstance(definition, IncrementalDefinition) else None

    @property
    def definition(self) -> StrategyDefinition:
        """The user's strategy object."""
        return self._definition

    @property
    def model_artifact(self) -> ModelArtifact:
        """The definition's model, for strategies driven by one (`ModelBacked`); an
        `AttributeError` otherwise, so `isinstance(strategy, ModelBacked)` tells."""
        artifact = getattr(self._definition, "model_artifact", None)
        if not isinstance(artifact, ModelArtifact):
            raise AttributeError(f"{self._name} is not driven by a model")
        return artifact

    @property
    def name(self) -> str:
        """The strategy's name (see `strategy_name`)."""
        return self._name

    @property
    def parameter_specs(self) -> Sequence[ParameterSpec]:
        """The declared parameters (the class's fields)."""
        return self._specs

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        """The parameter values of this instance (its fields named by `parameter_specs`)."""
        definition = self._definition
        return {
            spec.name: cast("ParamValue", getattr(definition, spec.name)) for spec in self._specs
        }

    @property
    def warmup(self) -> int:
        """The definition's warm-up (checked to be an int >= 1)."""
        warmup: object = self._definition.warmup  # user code: checked, not trusted
        if type(warmup) is not int or warmup < 1:
            raise StrategyError(f"{self._name}: warmup must be an int >= 1, got {warmup!r}")
        return warmup

    def prepare(self, frame: pd.DataFrame) -> None:
        """Compute the features over `frame` and keep them as float columns per name."""
        check_frame(frame, self._name)
        features = self._definition.features(frame)
        if not isinstance(features, pd.DataFrame):
            raise StrategyError(
                f"{self._name}: features(frame) must return a DataFrame, "
                f"got {type(features).__name__}"
            )
        if not features.index.equals(frame.index):
            raise StrategyError(f"{self._name}: features must be indexed like the frame")
        clashes = [name for name in features.columns if name in OHLCV_COLUMNS]
        if clashes:
            raise StrategyError(
                f"{self._name}: feature name(s) {clashes} clash with the bar's prices; "
                "read those as row.close, row.high, …"
            )
        columns = {name: _floats(frame[name], self._name, name) for name in OHLCV_COLUMNS}
        for name in features.columns:
            columns[str(name)] = _floats(features[name], self._name, str(name))
        if MAY_ACT in features.columns:
            mask = np.asarray(features[MAY_ACT].fillna(False).to_numpy(dtype=np.bool_))
        else:
            mask = np.ones(len(frame), dtype=np.bool_)
        mask = mask.copy()
        self._first_decidable = self.warmup - 1
        mask[: self._first_decidable] = False
        self._features = features
        self._columns = columns
        self._mask = mask

    def prepare_recent(self, recent: RecentBars) -> Mapping[str, float] | None:
        """The live fast path: with a `features_now`, prepare only the newest bar of `recent`
        (no DataFrame) and return its features; None without one."""
        if self._incremental is None:
            return None
        values = self._incremental.features_now(recent)
        size = len(recent)
        columns: dict[str, npt.NDArray[np.float64]] = {
            "open": recent.open,
            "high": recent.high,
            "low": recent.low,
            "close": recent.close,
            "volume": recent.volume,
        }
        for name, value in values.items():
            column = np.full(size, np.nan)
            column[-1] = float(value)
            columns[name] = column
        self._columns = columns
        self._first_decidable = self.warmup - 1
        # Only the newest row exists: `features()` and `signal_mask()` need `prepare(frame)`.
        self._features = None
        return values

    def features(self) -> pd.DataFrame:
        """The prepared features."""
        return require_prepared(self._features, self._name)

    def signal_mask(self) -> BoolArray:
        """The `may_act` column (every bar after warm-up without one)."""
        require_prepared(self._features, self._name)
        return self._mask.copy()

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """The definition's decision on the row of bar `bar_index`; HOLD during warm-up (the
        first `warmup - 1` rows), where a strategy's features are not complete yet."""
        if bar_index < self._first_decidable:
            return HOLD
        decision = self._definition.decide(Row(self._columns, bar_index, bar.time), position)
        if not isinstance(decision, Decision):
            raise StrategyError(
                f"{self._name}: decide must return a Decision (enter_long(…), exit_position(), "
                f"HOLD), got {decision!r}"
            )
        return decision


def _floats(series: pd.Series[float], who: str, name: str) -> npt.NDArray[np.float64]:
    try:
        return np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    except (TypeError, ValueError):
        raise StrategyError(
            f"{who}: feature {name!r} is not numeric or boolean (dtype {series.dtype})"
        ) from None
