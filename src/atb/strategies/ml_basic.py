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

from typing import TYPE_CHECKING, ClassVar

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.decisions import HOLD, Decision
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide
from atb.strategies.decision_builders import enter_long, enter_short, exit_position
from atb.strategies.ml_artifact import ModelArtifact
from atb.strategies.ml_features import FEATURE_WARMUP, compute_features, features_at
from atb.strategies.parameter_fields import parameter
from atb.strategies.policies import partials, policy_bundle, trailing
from atb.strategies.recent_bars import RecentBars
from atb.strategies.row import Row

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

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


@attrs.frozen
class MlBasic:
    """Model-driven entries and exits (see the module docstring)."""

    name: ClassVar[str] = "ml_basic"

    artifact: ModelArtifact = attrs.field(kw_only=True)
    """The verified model (context from the registry, not a parameter)."""
    threshold: float | None = parameter(
        None,
        "predicted return needed to enter (None = the model's calibrated threshold)",
        above=0.0,
    )
    exit_threshold: float | None = parameter(
        None,
        "adverse predicted return that exits (None = same as the entry threshold)",
        above=0.0,
    )
    size: float = parameter(
        1.0, "largest position size, a fraction of equity", above=0.0, maximum=1.0
    )
    stop_loss: float | None = parameter(
        0.025, "stop-loss distance from entry (None = off)", above=0.0, maximum=1.0
    )
    take_profit: float | None = parameter(
        0.06, "take-profit distance from entry (None = off)", above=0.0
    )
    allow_short: bool = parameter(False, "enter short on negative predictions")
    policies: bool = parameter(True, "attach the trailing/partials policy bundle")
    model: str | None = parameter(
        None, "path of the artifact's .json (None = the model dir's one for --symbol/--timeframe)"
    )  # fmt: skip

    @property
    def model_artifact(self) -> ModelArtifact:
        """The verified artifact (engines check its training window and report its id)."""
        return self.artifact

    @property
    def warmup(self) -> int:
        """The feature set's warm-up (the longest indicator window)."""
        return FEATURE_WARMUP

    @property
    def entry_threshold(self) -> float:
        """Effective entry threshold: the parameter, else the model's calibrated one."""
        calibrated = self.artifact.model.entry_threshold
        default = calibrated if calibrated > 0 else 1e-4
        return default if self.threshold is None else self.threshold

    @property
    def exit_level(self) -> float:
        """Effective exit threshold: the parameter, else the entry threshold."""
        return self.entry_threshold if self.exit_threshold is None else self.exit_threshold

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's inputs, its `prediction`, and `may_act` where |prediction| reaches the
        entry or exit threshold."""
        features = compute_features(frame)
        prediction = self.artifact.model.predict(features)
        features["prediction"] = prediction
        with np.errstate(invalid="ignore"):
            reach = min(self.entry_threshold, self.exit_level)
            features["may_act"] = np.abs(prediction) >= reach
        return features

    def features_now(self, bars: RecentBars) -> dict[str, float]:
        """The newest bar's features and prediction from the last bars (the live fast path;
        the bias check proves them equal to `features`)."""
        values = features_at(bars)
        prediction = self.artifact.model.predict_one(values)
        reach = min(self.entry_threshold, self.exit_level)
        return {**values, "prediction": prediction, "may_act": float(abs(prediction) >= reach)}

    def decide(self, row: Row, position: PositionState | None) -> Decision:
        """Enter on a strong prediction, exit when it turns against the position."""
        prediction, entry, exit_level = row["prediction"], self.entry_threshold, self.exit_level
        if not np.isfinite(prediction):
            return HOLD
        side = None if position is None else position.side
        if side is None:
            if prediction >= entry:
                return self._enter(prediction)
            return self._enter(prediction) if self.allow_short and prediction <= -entry else HOLD
        if side is PositionSide.LONG and prediction <= -exit_level:
            if self.allow_short and prediction <= -entry:
                return self._enter(prediction)  # the kernel reverses
            return exit_position("prediction turned down")
        if side is PositionSide.SHORT and prediction >= exit_level:
            return (
                self._enter(prediction)
                if prediction >= entry
                else exit_position("prediction turned up")
            )
        return HOLD

    def _enter(self, prediction: float) -> Decision:
        full_size = max(self.artifact.model.full_size, self.entry_threshold)
        size = self.size * min(1.0, abs(prediction) / full_size)
        bundle = ML_BASIC_POLICIES if self.policies else None
        stop, target = self.stop_loss, self.take_profit
        if prediction > 0:
            return enter_long(
                size, stop=stop, target=target, policies=bundle, reason="model predicts up"
            )
        return enter_short(
            size, stop=stop, target=target, policies=bundle, reason="model predicts down"
        )
