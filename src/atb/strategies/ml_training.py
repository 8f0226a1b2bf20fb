"""`train`: fit `ml_basic`'s model on a candle window, evaluate it, save the artifact."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from atb.deferred_modules import DeferredModule
from atb.domain.errors import StrategyError
from atb.strategies.ml_artifact import (
    ModelArtifact,
    candles_fingerprint,
    default_model_dir,
    save_artifact,
)
from atb.strategies.ml_model import TrainingMetrics, fit_and_evaluate
from atb.strategies.protocol import check_frame

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")


def train(
    frame: pd.DataFrame,
    symbol: str,
    timeframe: str,
    params: Mapping[str, object] | None = None,
    *,
    seed: int = 0,
    model_dir: Path | None = None,
) -> tuple[ModelArtifact, TrainingMetrics]:
    """Fit on `frame` (the whole training window), evaluate on its held-out tail, and save.

    `frame` is a validated OHLCV frame already cut to the training window; every bar in it is
    recorded as the training window (the held-out tail included), so a later backtest over any
    of these bars is flagged by `training_window_overlaps`. The ridge fit is closed-form, so
    `seed` changes nothing today; it is recorded so stochastic models keep the same interface.
    The artifact goes to `model_dir` (default `default_model_dir()`); the same inputs give a
    byte-identical artifact.
    """
    check_frame(frame, "ml_basic training")
    if seed < 0:
        raise StrategyError(f"seed must be an int >= 0, got {seed!r}")
    fit = fit_and_evaluate(frame, params)
    artifact = save_artifact(
        fit.model,
        model_dir or default_model_dir(),
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "window_start": fit.window_start,
            "window_end": fit.window_end,
            "holdout_start": fit.holdout_start,
            "fingerprint": candles_fingerprint(frame),
            "metrics": fit.metrics.as_dict(),
            "params": dict(fit.params),
            "seed": seed,
        },
    )
    return artifact, fit.metrics
