"""The model behind `ml_basic`: ridge regression of the next bar's log return, in numpy.

Fitting is closed-form (`(ZᵀZ + λ·n·I) w = Zᵀ(y − ȳ)` on standardised features Z), so it is
deterministic and takes milliseconds. Predictions are computed feature by feature in a fixed
order (not through BLAS), so a bar's prediction is bit-for-bit the same whatever the length of
the frame it was computed in — the property the bias check proves.

`fit_and_evaluate` fits on the head of a training frame and evaluates on its held-out tail;
saving and loading live in `atb.strategies.ml_artifact`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.errors import StrategyError
from atb.managers import portable_math
from atb.strategies.ml_features import FEATURE_NAMES, compute_features, next_bar_return
from atb.strategies.parameters import (
    ParameterSpec,
    ParamKind,
    ParamValue,
    resolve_parameters,
    typed_float,
    typed_int,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray: TypeAlias = npt.NDArray[np.float64]
else:
    np = DeferredModule("numpy")
    pd = DeferredModule("pandas")

TRAIN_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "l2", ParamKind.FLOAT, 0.1, "ridge penalty λ (per sample, on standardised features)",
        minimum=0.0,
    ),
    ParameterSpec(
        "holdout_fraction", ParamKind.FLOAT, 0.2, "share of the window held out for evaluation",
        minimum=0.05, maximum=0.5,
    ),
    ParameterSpec(
        "min_rows", ParamKind.INT, 500, "fewest usable rows accepted for training", minimum=50,
    ),
    ParameterSpec(
        "entry_quantile", ParamKind.FLOAT, 0.8,
        "quantile of |prediction| on the fit rows used as the default entry threshold",
        minimum=0.0, maximum=0.99, exclusive_minimum=True,
    ),
    ParameterSpec(
        "full_size_quantile", ParamKind.FLOAT, 0.95,
        "quantile of |prediction| on the fit rows at which the position takes full size",
        minimum=0.0, maximum=1.0, exclusive_minimum=True,
    ),
)  # fmt: skip
"""Training hyper-parameters (`atb train --param`)."""


@attrs.frozen(slots=True, eq=False)
class RidgeModel:
    """A fitted linear model on standardised features.

    `prediction = intercept + Σ_j weights[j] · (x_j − mean[j]) / scale[j]`, in feature order.
    `entry_threshold` and `full_size` are |prediction| calibration points from the fit rows.
    """

    feature_names: tuple[str, ...]
    mean: FloatArray
    scale: FloatArray
    weights: FloatArray
    intercept: float
    entry_threshold: float
    full_size: float

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Predicted next-bar log return per row (NaN where any feature is NaN)."""
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise StrategyError(f"model needs feature(s) missing from the frame: {missing}")
        out = np.full(len(features), self.intercept, dtype=np.float64)
        # One vector operation per feature, in a fixed order: each row's sum is formed the
        # same way whatever the frame length (a BLAS mat-vec may block rows differently).
        for j, name in enumerate(self.feature_names):
            column = features[name].to_numpy(dtype=np.float64)
            out += self.weights[j] * ((column - self.mean[j]) / self.scale[j])
        return out

    def predict_one(self, values: Mapping[str, float]) -> float:
        """The prediction for one row of feature values (the live fast path): the same
        operations as `predict`, feature by feature in the same order, so the same bits."""
        missing = [name for name in self.feature_names if name not in values]
        if missing:
            raise StrategyError(f"model needs feature(s) missing from the row: {missing}")
        out = np.float64(self.intercept)
        for j, name in enumerate(self.feature_names):
            out += self.weights[j] * ((np.float64(values[name]) - self.mean[j]) / self.scale[j])
        return float(out)


@attrs.frozen(slots=True)
class TrainingMetrics:
    """Held-out evaluation of a fitted model (and the naive baselines it must beat)."""

    fit_rows: int
    holdout_rows: int
    directional_accuracy: float
    baseline_up_accuracy: float
    correlation: float
    mse: float
    baseline_zero_mse: float
    r2_vs_zero: float
    fit_directional_accuracy: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for JSON metadata and the CLI."""
        return attrs.asdict(self)


@attrs.frozen(slots=True, eq=False)
class FitResult:
    """A model, its metrics, and the windows it was fitted and evaluated on."""

    model: RidgeModel
    metrics: TrainingMetrics
    params: Mapping[str, ParamValue]
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    holdout_start: pd.Timestamp


def fit_ridge(
    x: FloatArray, y: FloatArray, l2: float, names: tuple[str, ...]
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Closed-form ridge on standardised `x`; returns (mean, scale, weights, intercept)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    flat = [names[j] for j in np.flatnonzero(~(scale > 0))]
    if flat:
        raise StrategyError(f"feature(s) constant over the training rows: {flat}")
    z = (x - mean) / scale
    target_mean = float(y.mean())
    # Portable sums and solve (not einsum/BLAS/LAPACK, whose kernels depend on the CPU): the
    # same weights, bit for bit, on every machine.
    columns = [np.ascontiguousarray(z[:, j]) for j in range(z.shape[1])]
    centred = y - target_mean
    gram = np.empty((len(columns), len(columns)))
    for i, left in enumerate(columns):
        for j in range(i, len(columns)):
            gram[i, j] = gram[j, i] = portable_math.dot(left, columns[j])
        gram[i, i] += l2 * len(z)
    rhs = np.array([portable_math.dot(column, centred) for column in columns])
    weights = portable_math.solve_positive_definite(gram, rhs)
    return mean, scale, weights, target_mean


def _directional_accuracy(prediction: FloatArray, actual: FloatArray) -> float:
    moved = actual != 0
    if not moved.any():
        return 0.0
    return float(np.mean(np.sign(prediction[moved]) == np.sign(actual[moved])))


def _correlation(a: FloatArray, b: FloatArray) -> float:
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def fit_and_evaluate(frame: pd.DataFrame, params: Mapping[str, object] | None = None) -> FitResult:
    """Fit on the head of `frame` and evaluate on its held-out tail.

    Rows without a complete feature row or a next-bar target are dropped. One row between the
    fit and held-out parts is skipped, because the last fit row's target is the first held-out
    row's return.
    """
    values = resolve_parameters(TRAIN_PARAMETERS, params)
    holdout_fraction = typed_float(values, "holdout_fraction")
    if len(frame) == 0:
        raise StrategyError("ml_basic training: the training window holds no candles")
    features = compute_features(frame)
    target = next_bar_return(frame).to_numpy()
    x_all = features.to_numpy(dtype=np.float64)
    usable = np.isfinite(x_all).all(axis=1) & np.isfinite(target)
    rows = int(usable.sum())
    min_rows = typed_int(values, "min_rows")
    if rows < min_rows:
        raise StrategyError(
            f"ml_basic training: only {rows} usable rows in the window, need at least "
            f"{min_rows} (widen --start/--end)"
        )
    x, y = x_all[usable], target[usable]
    times = frame.index[usable]
    holdout = max(1, round(rows * holdout_fraction))
    fit_end = rows - holdout - 1
    mean, scale, weights, intercept = fit_ridge(
        x[:fit_end], y[:fit_end], typed_float(values, "l2"), FEATURE_NAMES
    )
    provisional = RidgeModel(FEATURE_NAMES, mean, scale, weights, intercept, 0.0, 0.0)
    fit_frame = pd.DataFrame(x[:fit_end], columns=list(FEATURE_NAMES))
    fit_prediction = provisional.predict(fit_frame)
    magnitude = np.abs(fit_prediction)
    model = attrs.evolve(
        provisional,
        entry_threshold=float(np.quantile(magnitude, typed_float(values, "entry_quantile"))),
        full_size=float(np.quantile(magnitude, typed_float(values, "full_size_quantile"))),
    )
    held_x, held_y = x[rows - holdout :], y[rows - holdout :]
    prediction = model.predict(pd.DataFrame(held_x, columns=list(FEATURE_NAMES)))
    mse = float(np.mean((prediction - held_y) ** 2))
    zero_mse = float(np.mean(held_y**2))
    metrics = TrainingMetrics(
        fit_rows=fit_end,
        holdout_rows=holdout,
        directional_accuracy=_directional_accuracy(prediction, held_y),
        baseline_up_accuracy=float(np.mean(held_y[held_y != 0] > 0)) if held_y.any() else 0.0,
        correlation=_correlation(prediction, held_y),
        mse=mse,
        baseline_zero_mse=zero_mse,
        r2_vs_zero=1.0 - mse / zero_mse if zero_mse > 0 else 0.0,
        fit_directional_accuracy=_directional_accuracy(fit_prediction, y[:fit_end]),
    )
    index = frame.index
    return FitResult(
        model=model,
        metrics=metrics,
        params=values,
        window_start=pd.Timestamp(index[0]),
        window_end=pd.Timestamp(index[-1]),
        holdout_start=pd.Timestamp(times[rows - holdout]),
    )
