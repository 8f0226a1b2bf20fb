"""The search space of `atb optimize`: ranges and choices of a strategy's typed parameters.

`--param` takes the `atb backtest` form for a fixed value and three more forms for a dimension
of the search, each checked against the parameter's declared spec (`ParameterSpec`):

    fast=10                 fixed (every trial uses it)
    fast=5:50               an integer (or float) range, bounds included
    slow=20:200:10          a range on a step (20, 30, …, 200)
    stop_loss=0.005:0.1:log a range searched on a log scale
    allow_short=true,false  a choice among values (any kind, parsed like a fixed value)

A range must lie inside the parameter's declared bounds; a range of a boolean or text parameter
is refused (give a choice); a space with no dimension is refused (nothing to search).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from atb.domain.errors import StrategyError
from atb.strategies.parameters import ParameterSpec, ParamKind, ParamValue

__all__ = [
    "Choice",
    "Dimension",
    "FloatRange",
    "IntRange",
    "SearchSpace",
    "parse_space",
]


@attrs.frozen(slots=True)
class IntRange:
    """Integers from `low` to `high` (both included) on `step`, or on a log scale."""

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False

    def grid(self) -> tuple[ParamValue, ...]:
        """Every value of the range (a log range has no grid: refused by the caller)."""
        return tuple(range(self.low, self.high + 1, self.step))


@attrs.frozen(slots=True)
class FloatRange:
    """Floats from `low` to `high` (both included), on `step` if given, or on a log scale."""

    name: str
    low: float
    high: float
    step: float | None = None
    log: bool = False

    def grid(self) -> tuple[ParamValue, ...]:
        """Every value on the step (only a stepped float range has a grid)."""
        if self.step is None:
            return ()
        count = round((self.high - self.low) / self.step)
        return tuple(round(self.low + index * self.step, 12) for index in range(count + 1))


@attrs.frozen(slots=True)
class Choice:
    """One of `values`, in the order given."""

    name: str
    values: tuple[ParamValue, ...]

    def grid(self) -> tuple[ParamValue, ...]:
        """The values."""
        return self.values


Dimension = IntRange | FloatRange | Choice
"""One searched parameter."""


@attrs.frozen(slots=True, kw_only=True)
class SearchSpace:
    """The searched dimensions, in the order given, and the fixed parameters."""

    dimensions: tuple[Dimension, ...]
    fixed: Mapping[str, ParamValue]

    @property
    def names(self) -> tuple[str, ...]:
        """The searched parameters' names."""
        return tuple(dimension.name for dimension in self.dimensions)

    def grid(self) -> dict[str, list[ParamValue]]:
        """Every dimension's values, for an exhaustive grid search; `StrategyError` for a
        dimension without a finite set of values (a continuous or log range)."""
        values: dict[str, list[ParamValue]] = {}
        for dimension in self.dimensions:
            points = dimension.grid()
            if isinstance(dimension, IntRange | FloatRange) and (dimension.log or not points):
                raise StrategyError(
                    f"--param {dimension.name}: a grid search needs a finite set of values; "
                    "give a step (low:high:step) or a choice (a,b,c)"
                )
            values[dimension.name] = list(points)
        return values

    def grid_size(self) -> int:
        """The number of points of the grid."""
        size = 1
        for points in self.grid().values():
            size *= len(points)
        return size


def parse_space(strategy: str, specs: Sequence[ParameterSpec], texts: Sequence[str]) -> SearchSpace:
    """The search space of `--param` texts for a strategy with these declared parameters;
    `StrategyError` naming the option for an unknown parameter, a malformed range, a range
    outside the parameter's bounds, a repeated parameter, or a space with nothing to search."""
    by_name = {spec.name: spec for spec in specs}
    dimensions: list[Dimension] = []
    fixed: dict[str, ParamValue] = {}
    seen: set[str] = set()
    for text in texts:
        name, separator, value = text.partition("=")
        name = name.strip()
        if not separator or not name or not value.strip():
            raise StrategyError(f"--param {text!r}: expected name=value, name=low:high or a,b,c")
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise StrategyError(
                f"--param {text!r}: {strategy} has no parameter {name!r}; its parameters: {known}"
            )
        if name in seen:
            raise StrategyError(f"--param {name} is given twice")
        seen.add(name)
        value = value.strip()
        if ":" in value:
            dimensions.append(_range(spec, text, value))
        elif "," in value:
            dimensions.append(_choice(spec, text, value))
        else:
            fixed[name] = _parse(spec, text, value)
    if not dimensions:
        raise StrategyError(
            "nothing to search: give at least one range or choice, e.g. --param fast=5:50"
        )
    return SearchSpace(dimensions=tuple(dimensions), fixed=fixed)


def _choice(spec: ParameterSpec, text: str, value: str) -> Choice:
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise StrategyError(f"--param {text!r}: an empty choice")
    values = tuple(_parse(spec, text, item) for item in items)
    if len(set(values)) != len(values):
        raise StrategyError(f"--param {text!r}: a choice is repeated")
    return Choice(spec.name, values)


def _range(spec: ParameterSpec, text: str, value: str) -> IntRange | FloatRange:
    if spec.kind not in (ParamKind.INT, ParamKind.FLOAT):
        raise StrategyError(
            f"--param {text!r}: {spec.name} is a {spec.kind.value}; give a choice (a,b) instead "
            "of a range"
        )
    parts = [part.strip() for part in value.split(":")]
    if len(parts) not in (2, 3):
        raise StrategyError(f"--param {text!r}: expected low:high, low:high:step or low:high:log")
    log = len(parts) == 3 and parts[2].lower() == "log"
    low_value = _parse(spec, text, parts[0])
    high_value = _parse(spec, text, parts[1])
    if not isinstance(low_value, int | float) or not isinstance(high_value, int | float):
        raise StrategyError(f"--param {text!r}: a range needs numbers at both ends")
    if not low_value < high_value:
        raise StrategyError(f"--param {text!r}: the low end must be below the high end")
    if log and low_value <= 0:
        raise StrategyError(f"--param {text!r}: a log range must start above 0")
    step_text = parts[2] if len(parts) == 3 and not log else None
    if spec.kind is ParamKind.INT:
        step = 1 if step_text is None else _int_step(text, step_text)
        if (int(high_value) - int(low_value)) % step:
            raise StrategyError(
                f"--param {text!r}: the step {step} does not divide the range {low_value}:"
                f"{high_value}"
            )
        return IntRange(spec.name, int(low_value), int(high_value), step, log)
    step_float = None if step_text is None else _float_step(text, step_text)
    if step_float is not None:
        count = (float(high_value) - float(low_value)) / step_float
        if abs(count - round(count)) > 1e-9:
            raise StrategyError(
                f"--param {text!r}: the step {step_text} does not divide the range "
                f"{low_value}:{high_value}"
            )
    return FloatRange(spec.name, float(low_value), float(high_value), step_float, log)


def _parse(spec: ParameterSpec, text: str, value: str) -> ParamValue:
    """One value, validated against the spec (its kind and bounds), named by its option."""
    try:
        return spec.parse(value)
    except StrategyError as error:
        raise StrategyError(f"--param {text!r}: {error}") from None


def _int_step(text: str, step: str) -> int:
    try:
        value = int(step)
    except ValueError:
        raise StrategyError(f"--param {text!r}: the step {step!r} is not an integer") from None
    if value < 1:
        raise StrategyError(f"--param {text!r}: the step must be at least 1")
    return value


def _float_step(text: str, step: str) -> float:
    try:
        value = float(step)
    except ValueError:
        raise StrategyError(f"--param {text!r}: the step {step!r} is not a number") from None
    if not value > 0:
        raise StrategyError(f"--param {text!r}: the step must be above 0")
    return value
