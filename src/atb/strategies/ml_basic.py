"""`ml_basic`: trade the next-bar return predicted by the project's own ridge model.

At each bar the model (`ml_model.RidgeModel`, trained with `atb train ml_basic`) predicts the
next bar's log return from `ml_features.FEATURE_NAMES`.

- Flat: enter long when the prediction is at least `threshold` (short when it is at most
  `−threshold` and shorts are allowed). `threshold` defaults to the model's calibrated value
  (a quantile of |prediction| on its fit rows).
- Size: `size × confidence`, where confidence = |prediction| / the model's full-size point,
  capped at 1 — always within (0, `size`]; the engine's caps apply on top.
- Every entry carries `stop_loss` / `take_profit` and a policy bundle that enables breakeven,
  trailing, scale-ins and partial exits, with levels sized for hourly BTC moves.
- In a position: exit when the prediction turns against it by at least `exit_threshold`; if
  it also clears the entry threshold on the other side (and shorts are allowed), reverse — an
  opposite entry, which the kernel turns into close-and-open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.strategies.ml_artifact import ModelArtifact
from atb.strategies.ml_features import FEATURE_WARMUP, compute_features
from atb.strategies.parameters import (
    ParameterSpec,
    ParamKind,
    ParamValue,
    resolve_parameters,
    typed_bool,
    typed_float,
    typed_optional_float,
)
from atb.strategies.policies import partials, policy_bundle, trailing
from atb.strategies.protocol import BoolArray, check_frame, require_prepared

ML_BASIC_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "threshold", ParamKind.FLOAT, None,
        "predicted return needed to enter (None = the model's calibrated threshold)",
        minimum=0.0, nullable=True, exclusive_minimum=True,
    ),
    ParameterSpec(
        "exit_threshold", ParamKind.FLOAT, None,
        "adverse predicted return that exits (None = same as the entry threshold)",
        minimum=0.0, nullable=True, exclusive_minimum=True,
    ),
    ParameterSpec(
        "size", ParamKind.FLOAT, 1.0, "largest position size, a fraction of equity",
        minimum=0.0, maximum=1.0, exclusive_minimum=True,
    ),
    ParameterSpec(
        "stop_loss", ParamKind.FLOAT, 0.025, "stop-loss distance from entry (None = off)",
        minimum=0.0, maximum=1.0, nullable=True, exclusive_minimum=True,
    ),
    ParameterSpec(
        "take_profit", ParamKind.FLOAT, 0.06, "take-profit distance from entry (None = off)",
        minimum=0.0, nullable=True, exclusive_minimum=True,
    ),
    ParameterSpec("allow_short", ParamKind.BOOL, False, "enter short on negative predictions"),
    ParameterSpec(
        "policies", ParamKind.BOOL, True, "attach the trailing/partials policy bundle"
    ),
    ParameterSpec(
        "model", ParamKind.STR, None,
        "path of the artifact's .json (None = the model dir's one for --symbol/--timeframe)",
        nullable=True,
    ),
)  # fmt: skip
"""Declared parameters of `ml_basic`."""

# Hourly BTC moves ~0.5 % per bar: scale in on early strength, take partial profits within a
# day's typical range, trail once a move has proven itself.
ML_BASIC_POLICIES = policy_bundle(
    trailing=trailing(
        breakeven_trigger_pct=0.01,
        breakeven_buffer_pct=0.001,
        activation_pct=0.015,
        distance_pct=0.01,
    ),
    partials=partials(
        exit_targets=((0.012, 0.25), (0.025, 0.25), (0.04, 0.5)),
        scale_in_thresholds=((0.004, 0.25), (0.008, 0.25)),
        max_scale_ins=2,
    ),
)
"""The policy bundle every `ml_basic` entry carries (typed changes; other fields inherit)."""


class MlBasic:
    """Model-driven entries and exits (see the module docstring). Satisfies `Strategy`."""

    name: ClassVar[str] = "ml_basic"
    parameter_specs: ClassVar[Sequence[ParameterSpec]] = ML_BASIC_PARAMETERS

    def __init__(self, artifact: ModelArtifact, **params: ParamValue) -> None:
        values = resolve_parameters(ML_BASIC_PARAMETERS, params)
        self._values = values
        self._artifact = artifact
        model = artifact.model
        calibrated = model.entry_threshold if model.entry_threshold > 0 else 1e-4
        threshold = typed_optional_float(values, "threshold")
        self._threshold = calibrated if threshold is None else threshold
        exit_threshold = typed_optional_float(values, "exit_threshold")
        self._exit_threshold = self._threshold if exit_threshold is None else exit_threshold
        self._full_size = max(model.full_size, self._threshold)
        self._size = typed_float(values, "size")
        self._stop_loss = typed_optional_float(values, "stop_loss")
        self._take_profit = typed_optional_float(values, "take_profit")
        self._allow_short = typed_bool(values, "allow_short")
        self._policies = ML_BASIC_POLICIES if typed_bool(values, "policies") else None
        self._features: pd.DataFrame | None = None
        self._prediction = np.zeros(0)
        self._mask = np.zeros(0, dtype=np.bool_)

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        """Current parameter values."""
        return dict(self._values)

    @property
    def warmup(self) -> int:
        """The feature set's warm-up (the longest indicator window)."""
        return FEATURE_WARMUP

    @property
    def model_artifact(self) -> ModelArtifact:
        """The verified artifact (engines check its training window and report its id)."""
        return self._artifact

    @property
    def threshold(self) -> float:
        """Effective entry threshold (predicted log return)."""
        return self._threshold

    def prepare(self, frame: pd.DataFrame) -> None:
        """Compute the features and the model's prediction for every bar."""
        check_frame(frame, self.name)
        features = compute_features(frame)
        prediction = self._artifact.model.predict(features)
        reach = min(self._threshold, self._exit_threshold)
        with np.errstate(invalid="ignore"):
            self._mask = np.asarray(np.abs(prediction) >= reach, dtype=np.bool_)
        self._prediction = prediction
        features["prediction"] = prediction
        self._features = features

    def features(self) -> pd.DataFrame:
        """The model's inputs plus a `prediction` column."""
        return require_prepared(self._features, self.name)

    def signal_mask(self) -> BoolArray:
        """Bars where |prediction| reaches the entry or exit threshold."""
        require_prepared(self._features, self.name)
        return self._mask.copy()

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """Enter on a strong prediction, exit when it turns against the position."""
        prediction = float(self._prediction[bar_index])
        if not np.isfinite(prediction):
            return HOLD
        if position is None:
            if prediction >= self._threshold:
                return self._enter(Action.ENTER_LONG, prediction)
            if self._allow_short and prediction <= -self._threshold:
                return self._enter(Action.ENTER_SHORT, prediction)
            return HOLD
        if position.side is PositionSide.LONG and prediction <= -self._exit_threshold:
            if self._allow_short and prediction <= -self._threshold:
                return self._enter(Action.ENTER_SHORT, prediction)  # the kernel reverses
            return Decision(Action.EXIT, reason="prediction turned down")
        if position.side is PositionSide.SHORT and prediction >= self._exit_threshold:
            if prediction >= self._threshold:
                return self._enter(Action.ENTER_LONG, prediction)
            return Decision(Action.EXIT, reason="prediction turned up")
        return HOLD

    def _enter(self, action: Action, prediction: float) -> Decision:
        confidence = min(1.0, abs(prediction) / self._full_size)
        return Decision(
            action,
            size=self._size * confidence,
            stop_loss_pct=self._stop_loss,
            take_profit_pct=self._take_profit,
            policies=self._policies,
            reason="model predicts up" if action is Action.ENTER_LONG else "model predicts down",
        )
