"""Strategies: the `Strategy` Protocol, indicators, the built-ins, the registry, the bias check.

What engines call::

    strategy = create_strategy(name, params, StrategyContext(symbol, timeframe, model_dir))
    strategy.prepare(frame)            # frame = warm-up bars + the run window
    mask = strategy.signal_mask()      # decide only where True (HOLD elsewhere)
    decision = strategy.decide(i, bar, position_view)

`ml_basic` also exposes `model_artifact` (see `ModelBacked`): check
`training_window_overlaps(strategy.model_artifact, start, end)` before a run.
"""

from atb.strategies.bias_check import BiasFinding, BiasReport, check_strategy
from atb.strategies.ml_artifact import (
    ModelArtifact,
    default_model_dir,
    load_artifact,
    training_window_overlaps,
)
from atb.strategies.ml_training import train
from atb.strategies.parameters import (
    ParameterSpec,
    ParamKind,
    ParamValue,
    parse_params,
    resolve_parameters,
)
from atb.strategies.protocol import ModelBacked, Strategy
from atb.strategies.registry import (
    BUILTINS,
    StrategyContext,
    StrategyEntry,
    available,
    create_strategy,
    get_entry,
)

__all__ = [
    "BUILTINS",
    "BiasFinding",
    "BiasReport",
    "ModelArtifact",
    "ModelBacked",
    "ParamKind",
    "ParamValue",
    "ParameterSpec",
    "Strategy",
    "StrategyContext",
    "StrategyEntry",
    "available",
    "check_strategy",
    "create_strategy",
    "default_model_dir",
    "get_entry",
    "load_artifact",
    "parse_params",
    "resolve_parameters",
    "train",
    "training_window_overlaps",
]
