"""One trial of a search: a backtest of one set of parameters, as `atb backtest` runs it.

`TrialInputs` is everything a trial needs besides its parameters — the candles, the config, the
market's rules, the account — shipped to the workers once (Ray's object store holds one copy).
`evaluate` builds the strategy with the fixed and the trial's parameters and runs the very
`BacktestRequest` `atb backtest --param …` would run, so a trial's metrics are the backtest's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt

from atb.data.candles import ValidatedCandles
from atb.data.instruments import ResolvedInstrument
from atb.domain.errors import AtbError
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.managers.run_config import RunConfiguration
from atb.strategies.parameters import ParamValue
from atb.strategies.registry import StrategyContext, create_strategy

__all__ = ["TrialInputs", "TrialOutcome", "backtest_request", "evaluate"]

MetricValues = dict[str, float | int | None]


@attrs.frozen(slots=True, kw_only=True)
class TrialInputs:
    """What every trial shares."""

    strategy: str
    fixed: Mapping[str, ParamValue]
    config: RunConfiguration
    candles: ValidatedCandles
    symbol: str
    timeframe: str
    instrument: ResolvedInstrument
    initial_balance: float
    model_dir: Path | None = None
    data_file: Path | None = None
    drop_outliers: bool = False
    overlap_allowed: bool = False


@attrs.frozen(slots=True, kw_only=True)
class TrialOutcome:
    """What one trial produced: its metrics (`PerformanceMetrics.as_dict()`) and how long it
    took, or why it could not run (an invalid combination of parameters, say)."""

    slot: int
    params: Mapping[str, ParamValue]
    metrics: MetricValues = attrs.field(factory=dict)
    seconds: float = 0.0
    error: str | None = None
    returns: npt.NDArray[np.float64] | None = attrs.field(default=None, eq=False)
    """The equity's return from each bar's close to the next (when asked for: the overfitting
    statistics need every trial's)."""


def backtest_request(inputs: TrialInputs, params: Mapping[str, ParamValue]) -> BacktestRequest:
    """The backtest of `params` (over the fixed ones): the request `atb backtest` would make."""
    context = StrategyContext(inputs.symbol, inputs.timeframe, inputs.model_dir)
    strategy = create_strategy(inputs.strategy, {**inputs.fixed, **params}, context)
    return BacktestRequest(
        strategy=strategy,
        candles=inputs.candles,
        config=inputs.config,
        symbol=inputs.symbol,
        initial_balance=inputs.initial_balance,
        overlap_allowed=inputs.overlap_allowed,
        instrument=inputs.instrument,
        data_file=inputs.data_file,
        drop_outliers=inputs.drop_outliers,
    )


def evaluate(
    inputs: TrialInputs,
    slot: int,
    params: Mapping[str, ParamValue],
    with_returns: bool = False,
) -> TrialOutcome:
    """Run one trial; an `AtbError` (parameters the strategy refuses together) is its outcome,
    not a crash of the search. `with_returns` keeps the equity's bar-to-bar returns."""
    started = time.perf_counter()
    try:
        result = run_backtest(backtest_request(inputs, params))
    except AtbError as error:
        return TrialOutcome(
            slot=slot, params=dict(params), seconds=time.perf_counter() - started, error=str(error)
        )
    returns = None
    if with_returns:
        equity = np.asarray(result.equity.equity, dtype=np.float64)
        returns = equity[1:] / equity[:-1] - 1.0
    return TrialOutcome(
        slot=slot,
        params=dict(params),
        metrics=result.metrics.as_dict(),
        seconds=time.perf_counter() - started,
        returns=returns,
    )
