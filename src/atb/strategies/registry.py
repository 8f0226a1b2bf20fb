"""Find strategies by name: the built-ins, or a user strategy anywhere.

`create_strategy("sma_cross", {"fast": 5})` validates the parameters against the strategy's
declared fields and builds it. A user strategy is named `path/to/file.py:Class` or
`package.module:Class` (importable from the working directory, like `python -m`); `Class` is a
strategy class (`atb.strategies.definition`: a frozen attrs class of parameter fields with
`warmup`, `features` and `decide`). A class or factory satisfying the engines' `Strategy`
Protocol directly, with a `parameter_specs` attribute, is accepted too (the older contract).
Unknown names, import failures, missing members and parameter classes that are not frozen
raise `StrategyError` in one line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import attrs

from atb.deferred_modules import DeferredModule
from atb.domain.errors import StrategyError
from atb.strategies.breakout import Breakout
from atb.strategies.buy_and_hold import BuyAndHold
from atb.strategies.definition import DefinedStrategy, strategy_name
from atb.strategies.ml_artifact import (
    ModelArtifact,
    artifact_paths,
    default_model_dir,
    load_artifact,
)
from atb.strategies.ml_basic import MlBasic
from atb.strategies.ml_training import train
from atb.strategies.parameter_fields import parameter_specs
from atb.strategies.parameters import (
    ParameterSpec,
    ParamValue,
    parse_params,
    resolve_parameters,
)
from atb.strategies.protocol import Strategy
from atb.strategies.rsi_mean_reversion import RsiMeanReversion
from atb.strategies.sma_cross import SmaCross

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = DeferredModule("pandas")


@attrs.frozen(slots=True)
class StrategyContext:
    """What a run knows besides parameters: `ml_basic` finds its model from these."""

    symbol: str | None = None
    timeframe: str | None = None
    model_dir: Path | None = None


StrategyFactory = Callable[[Mapping[str, ParamValue], StrategyContext], Strategy]
"""Builds a strategy from validated parameters and the run context."""


ModelTrainer = Callable[["pd.DataFrame", str, str, Path, int], ModelArtifact]
"""Fits a strategy's model on a candle frame (the whole training window) for (symbol,
timeframe), saves it in a folder with a seed, and returns the artifact: what a walk-forward
validation runs on each fold's in-sample window."""


@attrs.frozen(slots=True)
class StrategyEntry:
    """A registered strategy: name, one-line description, parameter specs, factory, and the
    trainer of its model when it has one."""

    name: str
    description: str
    parameters: tuple[ParameterSpec, ...]
    factory: StrategyFactory
    trainer: ModelTrainer | None = None

    def create(
        self, params: Mapping[str, object] | None = None, context: StrategyContext | None = None
    ) -> Strategy:
        """Validate `params` (defaults fill the rest) and build the strategy."""
        values = resolve_parameters(self.parameters, params)
        return self.factory(values, context or StrategyContext())

    def parse(self, assignments: Iterable[str]) -> dict[str, ParamValue]:
        """Parse `["fast=10", …]` against this strategy's specs (only the given names)."""
        return parse_params(assignments, self.parameters)


ContextFields = Callable[[Mapping[str, ParamValue], StrategyContext], Mapping[str, object]]
"""Supplies a strategy class's context fields (not parameters) for a run, e.g. its model."""


def definition_entry(
    cls: type,
    description: str,
    *,
    name: str | None = None,
    context_fields: ContextFields | None = None,
    trainer: ModelTrainer | None = None,
) -> StrategyEntry:
    """The registry entry of a strategy class (see `atb.strategies.definition`): its parameter
    fields are its parameters; `context_fields` supplies the others. `StrategyError` if it is
    not a frozen attrs class."""
    specs = parameter_specs(cls)

    def build(values: Mapping[str, ParamValue], context: StrategyContext) -> Strategy:
        extra = {} if context_fields is None else dict(context_fields(values, context))
        try:
            definition = cls(**values, **extra)
        except TypeError as error:
            raise StrategyError(f"{cls.__qualname__}: {error}") from None
        return DefinedStrategy(definition, name=name)

    return StrategyEntry(name or strategy_name(cls), description, specs, build, trainer)


def _ml_model(values: Mapping[str, ParamValue], context: StrategyContext) -> dict[str, object]:
    """`ml_basic`'s model: `--param model=PATH`, else the model dir's one for the market."""
    model = values.get("model")
    if isinstance(model, str):
        artifact = load_artifact(
            Path(model).expanduser(), symbol=context.symbol, timeframe=context.timeframe
        )
    else:
        if context.symbol is None or context.timeframe is None:
            raise StrategyError(
                "ml_basic needs a symbol and timeframe to find its model "
                "(or --param model=PATH to the artifact's .json)"
            )
        json_path, _ = artifact_paths(
            context.model_dir or default_model_dir(), context.symbol, context.timeframe
        )
        artifact = load_artifact(json_path, symbol=context.symbol, timeframe=context.timeframe)
    return {"artifact": artifact}


def _train_ml_basic(
    frame: pd.DataFrame, symbol: str, timeframe: str, folder: Path, seed: int
) -> ModelArtifact:
    """`atb train ml_basic` with the default training parameters."""
    artifact, _metrics = train(frame, symbol, timeframe, seed=seed, model_dir=folder)
    return artifact


BUILTINS: Mapping[str, StrategyEntry] = {
    entry.name: entry
    for entry in (
        definition_entry(SmaCross, "long (optionally short) on fast/slow SMA crosses"),
        definition_entry(BuyAndHold, "long from the first decided bar; the baseline"),
        definition_entry(RsiMeanReversion, "long as the RSI leaves oversold, out when overbought"),
        definition_entry(Breakout, "long on a close above the recent high, out below the low"),
        definition_entry(
            MlBasic,
            "ridge model of the next bar's return (needs `atb train ml_basic`)",
            context_fields=_ml_model,
            trainer=_train_ml_basic,
        ),
    )
}
"""The built-in strategies, by name."""


def available() -> list[str]:
    """Names of the built-in strategies, sorted."""
    return sorted(BUILTINS)


def get_entry(name: str) -> StrategyEntry:
    """The entry for a built-in name or a `module:attribute` path."""
    entry = BUILTINS.get(name)
    if entry is not None:
        return entry
    if ":" in name:
        return _user_entry(name)
    raise StrategyError(
        f"unknown strategy {name!r}; available: {', '.join(available())} "
        "(or a user strategy as path/to/file.py:Class or package.module:Class)"
    )


def create_strategy(
    name: str,
    params: Mapping[str, object] | None = None,
    context: StrategyContext | None = None,
) -> Strategy:
    """Build strategy `name` with validated `params` (see `get_entry`)."""
    return get_entry(name).create(params, context)


def _user_entry(path: str) -> StrategyEntry:
    target = _user_target(path)
    doc = (getattr(target, "__doc__", None) or "user strategy").strip().splitlines()[0]
    if isinstance(target, type) and _looks_defined(target):
        return definition_entry(target, doc, name=_reference(path))
    if not callable(target):
        raise StrategyError(f"user strategy {path!r} is not a class or factory")
    specs = _declared_specs(path, getattr(target, "parameter_specs", ()))
    factory: Callable[..., object] = target

    def build(values: Mapping[str, ParamValue], _context: StrategyContext) -> Strategy:
        strategy = factory(**values)
        if not isinstance(strategy, Strategy):
            missing = [
                member
                for member in (
                    "name", "parameter_specs", "parameters", "warmup", "prepare", "decide",
                    "features", "signal_mask",
                )
                if not hasattr(strategy, member)
            ]  # fmt: skip
            raise StrategyError(
                f"user strategy {path!r} does not satisfy the Strategy protocol "
                f"(missing: {', '.join(missing)})"
            )
        return strategy

    return StrategyEntry(path, doc, specs, build)


def _reference(path: str) -> str:
    """How a user strategy is named in sessions and results, so that `atb parity`, a resumed
    session or `--rerun` load the same class from any folder: a file by its absolute path."""
    source, _, attribute = path.rpartition(":")
    if source.endswith(".py"):
        return f"{Path(source).resolve()}:{attribute}"
    return path


def _looks_defined(cls: type) -> bool:
    # The new contract: features(frame) and decide(row, position), no prepare().
    members = ("features", "decide")
    return all(callable(getattr(cls, member, None)) for member in members) and not hasattr(
        cls, "prepare"
    )


def _user_target(path: str) -> object:
    """The object `path` names: `package.module:attribute` (importable from the working
    directory, like `python -m`) or `path/to/file.py:attribute`."""
    source, _, attribute = path.rpartition(":")
    if not source or not attribute:
        raise StrategyError(
            f"user strategy {path!r} must look like package.module:Class or path/to/file.py:Class"
        )
    module = _load_file(path, Path(source)) if source.endswith(".py") else _import(path, source)
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise StrategyError(f"user strategy {path!r}: {source} has no {attribute}")
        target = getattr(target, part)
    return target


def _import(path: str, module_name: str) -> ModuleType:
    working = os.getcwd()
    if working not in sys.path:
        sys.path.insert(0, working)
    try:
        return importlib.import_module(module_name)
    except Exception as error:  # user code: any failure is a one-line refusal
        raise StrategyError(
            f"user strategy {path!r}: cannot import {module_name}: {type(error).__name__}: {error}"
        ) from None


def _load_file(path: str, file: Path) -> ModuleType:
    if not file.is_file():
        raise StrategyError(f"user strategy {path!r}: no file {file}")
    resolved = file.resolve()
    # One module per file, named after its location, registered so that typing and attrs
    # can resolve the annotations of the classes it defines.
    module_name = "atb_user_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise StrategyError(f"user strategy {path!r}: {file} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    # Like `python file.py`: the file's own folder is importable (its sibling modules).
    if str(resolved.parent) not in sys.path:
        sys.path.insert(0, str(resolved.parent))
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # user code: any failure is a one-line refusal
        del sys.modules[module_name]
        raise StrategyError(
            f"user strategy {path!r}: importing {file} failed: {type(error).__name__}: {error}"
        ) from None
    return module


def _declared_specs(path: str, declared: object) -> tuple[ParameterSpec, ...]:
    if isinstance(declared, property) or declared is None:
        return ()
    if not isinstance(declared, Sequence) or not all(
        isinstance(spec, ParameterSpec) for spec in declared
    ):
        raise StrategyError(f"user strategy {path!r}: parameter_specs must be ParameterSpecs")
    return tuple(declared)
