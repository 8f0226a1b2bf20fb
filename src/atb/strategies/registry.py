"""Find strategies by name: the built-ins, or any importable `module:attribute`.

`create_strategy("sma_cross", {"fast": 5})` validates the parameters against the strategy's
declared specs and builds it. A user strategy is named `package.module:Factory`, where
`Factory` is a class or function called with the validated parameters as keyword arguments;
it declares them with a `parameter_specs` attribute (a sequence of `ParameterSpec`) and must
return an object satisfying `Strategy`. Unknown names raise `StrategyError` listing the
available ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import attrs

from atb.domain.errors import StrategyError
from atb.strategies.buy_and_hold import BUY_AND_HOLD_PARAMETERS, BuyAndHold
from atb.strategies.ml_artifact import artifact_paths, default_model_dir, load_artifact
from atb.strategies.ml_basic import ML_BASIC_PARAMETERS, MlBasic
from atb.strategies.parameters import (
    ParameterSpec,
    ParamValue,
    parse_params,
    resolve_parameters,
)
from atb.strategies.protocol import Strategy
from atb.strategies.sma_cross import SMA_CROSS_PARAMETERS, SmaCross


@attrs.frozen(slots=True)
class StrategyContext:
    """What a run knows besides parameters: `ml_basic` finds its model from these."""

    symbol: str | None = None
    timeframe: str | None = None
    model_dir: Path | None = None


StrategyFactory = Callable[[Mapping[str, ParamValue], StrategyContext], Strategy]
"""Builds a strategy from validated parameters and the run context."""


@attrs.frozen(slots=True)
class StrategyEntry:
    """A registered strategy: name, one-line description, parameter specs, factory."""

    name: str
    description: str
    parameters: tuple[ParameterSpec, ...]
    factory: StrategyFactory

    def create(
        self, params: Mapping[str, object] | None = None, context: StrategyContext | None = None
    ) -> Strategy:
        """Validate `params` (defaults fill the rest) and build the strategy."""
        values = resolve_parameters(self.parameters, params)
        return self.factory(values, context or StrategyContext())

    def parse(self, assignments: Iterable[str]) -> dict[str, ParamValue]:
        """Parse `["fast=10", …]` against this strategy's specs (only the given names)."""
        return parse_params(assignments, self.parameters)


def _sma_cross(values: Mapping[str, ParamValue], _context: StrategyContext) -> Strategy:
    return SmaCross(**values)


def _buy_and_hold(values: Mapping[str, ParamValue], _context: StrategyContext) -> Strategy:
    return BuyAndHold(**values)


def _ml_basic(values: Mapping[str, ParamValue], context: StrategyContext) -> Strategy:
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
    return MlBasic(artifact, **values)


BUILTINS: Mapping[str, StrategyEntry] = {
    entry.name: entry
    for entry in (
        StrategyEntry(
            "sma_cross",
            "long (optionally short) on fast/slow SMA crosses",
            SMA_CROSS_PARAMETERS,
            _sma_cross,
        ),
        StrategyEntry(
            "buy_and_hold",
            "long from the first decided bar; the baseline",
            BUY_AND_HOLD_PARAMETERS,
            _buy_and_hold,
        ),
        StrategyEntry(
            "ml_basic",
            "ridge model of the next bar's return (needs `atb train ml_basic`)",
            ML_BASIC_PARAMETERS,
            _ml_basic,
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
        "(or a user strategy as package.module:attribute)"
    )


def create_strategy(
    name: str,
    params: Mapping[str, object] | None = None,
    context: StrategyContext | None = None,
) -> Strategy:
    """Build strategy `name` with validated `params` (see `get_entry`)."""
    return get_entry(name).create(params, context)


def _user_entry(path: str) -> StrategyEntry:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise StrategyError(f"user strategy {path!r} must look like package.module:attribute")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StrategyError(
            f"user strategy {path!r}: cannot import {module_name}: {error}"
        ) from None
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise StrategyError(f"user strategy {path!r}: {module_name} has no {attribute}")
        target = getattr(target, part)
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

    doc = (getattr(target, "__doc__", None) or "user strategy").strip().splitlines()[0]
    return StrategyEntry(path, doc, specs, build)


def _declared_specs(path: str, declared: object) -> tuple[ParameterSpec, ...]:
    if isinstance(declared, property) or declared is None:
        return ()
    if not isinstance(declared, Sequence) or not all(
        isinstance(spec, ParameterSpec) for spec in declared
    ):
        raise StrategyError(f"user strategy {path!r}: parameter_specs must be ParameterSpecs")
    return tuple(declared)
