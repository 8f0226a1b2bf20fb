"""How likely the chosen trial is a fluke of the search: the deflated Sharpe ratio of the best
trial and the probability of backtest overfitting of the whole search (docs/concepts/
overfitting.md; the statistics are `atb.research.overfitting`).

Both need every trial's returns, bar by bar, over the same window: the finished, feasible
trials are run once more through the runner (in parallel, as the search ran them), keeping the
equity's bar-to-bar returns. The Sharpe ratios here are per bar, as the statistics require.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

from atb.research.objective import Objective
from atb.research.overfitting import (
    DeflatedSharpe,
    PboResult,
    deflated_sharpe_of_returns,
    probability_of_backtest_overfitting,
)
from atb.research.runners import TrialRunner
from atb.research.search import StudyTrial, best_trial

__all__ = ["SelectionBias", "assess_selection_bias"]

PBO_PARTITIONS = 16
"""Blocks of the CSCV split (C(16, 8) = 12,870 combinations), fewer when the window is short."""


@attrs.frozen(slots=True, kw_only=True)
class SelectionBias:
    """The statistics of one search, each None when it cannot be computed (and why)."""

    deflated_sharpe: DeflatedSharpe | None
    pbo: PboResult | None
    notes: tuple[str, ...] = ()


def assess_selection_bias(
    trials: Sequence[StudyTrial], objective: Objective, runner: TrialRunner
) -> SelectionBias:
    """The deflated Sharpe ratio of the best trial given every feasible trial, and the PBO of
    the search by combinatorially symmetric cross-validation."""
    candidates = [trial for trial in trials if trial.feasible and trial.value is not None]
    best = best_trial(trials, objective)
    if best is None or len(candidates) < 2:
        return SelectionBias(
            deflated_sharpe=None,
            pbo=None,
            notes=("fewer than two feasible trials: no selection to correct for",),
        )
    returns = _returns(candidates, runner)
    notes: list[str] = []
    deflated: DeflatedSharpe | None = None
    sharpes = [_sharpe(series) for series in returns.values()]
    try:
        deflated = deflated_sharpe_of_returns(returns[best.slot], sharpes)
    except ValueError as error:
        notes.append(f"deflated Sharpe ratio not computed: {error}")
    pbo: PboResult | None = None
    matrix = np.column_stack([returns[trial.slot] for trial in candidates])
    partitions = PBO_PARTITIONS
    while partitions > 2 and matrix.shape[0] < partitions * 4:
        partitions -= 2
    try:
        pbo = probability_of_backtest_overfitting(matrix, partitions=partitions)
    except ValueError as error:
        notes.append(f"probability of backtest overfitting not computed: {error}")
    return SelectionBias(deflated_sharpe=deflated, pbo=pbo, notes=tuple(notes))


def _returns(
    trials: Sequence[StudyTrial], runner: TrialRunner
) -> dict[int, npt.NDArray[np.float64]]:
    found: dict[int, npt.NDArray[np.float64]] = {}
    size = max(1, runner.workers)
    for start in range(0, len(trials), size):
        batch = [(trial.slot, trial.params) for trial in trials[start : start + size]]
        for outcome in runner.run(batch, with_returns=True):
            if outcome.returns is not None:
                found[outcome.slot] = outcome.returns
    return found


def _sharpe(returns: npt.NDArray[np.float64]) -> float:
    """Mean over standard deviation (ddof=1) of bar returns; 0 for a flat series."""
    spread = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    return float(np.mean(returns)) / spread if spread > 0 else 0.0
