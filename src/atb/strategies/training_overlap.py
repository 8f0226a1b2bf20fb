"""The overlap-with-training rule: a model is never judged on the bars it was fitted on.

Every run that makes decisions with a `ModelBacked` strategy applies it — `run_backtest`, a new
live session (paper, replay or real), and therefore `atb parity`, which runs both — so a library
caller gets the same refusal as the CLI. A run may overlap only when the caller says so
(`--allow-overlap`, `overlap_allowed=True`), and then its result says it did.
"""

from __future__ import annotations

from datetime import datetime

from atb.domain.errors import StrategyError
from atb.strategies.ml_artifact import training_window_overlaps
from atb.strategies.protocol import ModelBacked, Strategy

__all__ = ["refuse_training_overlap"]


def refuse_training_overlap(
    strategy: Strategy,
    start: datetime,
    end: datetime | None,
    *,
    allowed: bool,
    run: str = "backtest",
) -> None:
    """Raise `StrategyError` when the decisions of `run` over [start, end] (None: open-ended,
    a live session) would use a model on bars of its own training window, unless `allowed`."""
    if allowed or not isinstance(strategy, ModelBacked):
        return
    artifact = strategy.model_artifact
    if not training_window_overlaps(artifact, start, end):
        return
    until = "onwards" if end is None else f"→ {end:%Y-%m-%d}"
    raise StrategyError(
        f"the {run} window {start:%Y-%m-%d} {until} overlaps model {artifact.artifact_id}'s "
        f"training window {artifact.training_start:%Y-%m-%d} → "
        f"{artifact.training_end:%Y-%m-%d}; pick a later window or pass --allow-overlap"
    )
