"""Strategies: the contract users write, indicators, the built-ins, the registry, the bias check.

What a strategy author imports (five concepts: `parameter`, `features`, `Row`, the decisions,
the position)::

    from atb.strategies import HOLD, PositionState, Row, enter_long, exit_position, parameter

What engines call (the `Strategy` Protocol; `DefinedStrategy` adapts a strategy class to it)::

    strategy = create_strategy(name, params, StrategyContext(symbol, timeframe, model_dir))
    strategy.prepare(frame)            # frame = warm-up bars + the run window
    mask = strategy.signal_mask()      # decide only where True (HOLD elsewhere)
    decision = strategy.decide(i, bar, position_view)

`ml_basic` also exposes `model_artifact` (see `ModelBacked`): check
`training_window_overlaps(strategy.model_artifact, start, end)` before a run.
"""

from typing import TYPE_CHECKING

from atb.deferred_modules import deferred_exports
from atb.domain.decisions import HOLD, Decision
from atb.domain.protocols import PositionState
from atb.domain.sides import PositionSide

if TYPE_CHECKING:
    from atb.strategies.bias_check import BiasFinding, BiasReport, check_strategy
    from atb.strategies.decision_builders import enter_long, enter_short, exit_position
    from atb.strategies.definition import MAY_ACT, DefinedStrategy, StrategyDefinition
    from atb.strategies.ml_artifact import (
        ModelArtifact,
        default_model_dir,
        load_artifact,
        training_window_overlaps,
    )
    from atb.strategies.ml_training import train
    from atb.strategies.parameter_fields import parameter, parameter_specs
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
    from atb.strategies.row import Row
    from atb.strategies.signals import crossed_above, crossed_below


__all__ = [
    "BUILTINS",
    "HOLD",
    "MAY_ACT",
    "BiasFinding",
    "BiasReport",
    "Decision",
    "DefinedStrategy",
    "ModelArtifact",
    "ModelBacked",
    "ParamKind",
    "ParamValue",
    "ParameterSpec",
    "PositionSide",
    "PositionState",
    "Row",
    "Strategy",
    "StrategyContext",
    "StrategyDefinition",
    "StrategyEntry",
    "available",
    "check_strategy",
    "create_strategy",
    "crossed_above",
    "crossed_below",
    "default_model_dir",
    "enter_long",
    "enter_short",
    "exit_position",
    "get_entry",
    "load_artifact",
    "parameter",
    "parameter_specs",
    "parse_params",
    "resolve_parameters",
    "train",
    "training_window_overlaps",
]

# Imported on first use: importing one submodule must not import them all (ADR 0020).
__getattr__ = deferred_exports(
    __name__,
    {
        "BiasFinding": "bias_check",
        "BiasReport": "bias_check",
        "check_strategy": "bias_check",
        "enter_long": "decision_builders",
        "enter_short": "decision_builders",
        "exit_position": "decision_builders",
        "MAY_ACT": "definition",
        "DefinedStrategy": "definition",
        "StrategyDefinition": "definition",
        "ModelArtifact": "ml_artifact",
        "default_model_dir": "ml_artifact",
        "load_artifact": "ml_artifact",
        "training_window_overlaps": "ml_artifact",
        "train": "ml_training",
        "parameter": "parameter_fields",
        "parameter_specs": "parameter_fields",
        "ParameterSpec": "parameters",
        "ParamKind": "parameters",
        "ParamValue": "parameters",
        "parse_params": "parameters",
        "resolve_parameters": "parameters",
        "ModelBacked": "protocol",
        "Strategy": "protocol",
        "BUILTINS": "registry",
        "StrategyContext": "registry",
        "StrategyEntry": "registry",
        "available": "registry",
        "create_strategy": "registry",
        "get_entry": "registry",
        "Row": "row",
        "crossed_above": "signals",
        "crossed_below": "signals",
    },
)
