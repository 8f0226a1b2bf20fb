"""Declared strategy parameters: a spec per parameter, validation, and `key=value` parsing.

A strategy lists its parameters as `ParameterSpec`s (name, kind, default, bounds, description).
Every value that reaches a strategy, from the CLI (`--param fast=10`) or from code, goes through
`resolve_parameters`, so an unknown name or a bad value is a `StrategyError` naming the
parameter and the value.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from atb.domain.errors import StrategyError

ParamValue = int | float | bool | str | None
"""A parameter value: a scalar, or None where the spec is `nullable` (None = feature off)."""


class ParamKind(enum.Enum):
    """The type of a parameter's value."""

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NONE = frozenset({"none", "null", "off"})


@attrs.frozen(slots=True)
class ParameterSpec:
    """One declared parameter.

    `minimum` and `maximum` are inclusive bounds for numbers unless `exclusive_minimum` is set
    (fractions such as a stop-loss distance must be > 0). `nullable` allows None, which a
    strategy reads as "off" (e.g. `stop_loss=None`).
    """

    name: str
    kind: ParamKind
    default: ParamValue
    description: str
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    exclusive_minimum: bool = False

    def validate(self, value: object) -> ParamValue:
        """Return `value` coerced to this parameter's kind, or raise `StrategyError`."""
        if value is None:
            if self.nullable:
                return None
            raise StrategyError(f"parameter {self.name} may not be None")
        coerced = self._coerce(value)
        if isinstance(coerced, (int, float)) and not isinstance(coerced, bool):
            self._check_bounds(coerced, value)
        return coerced

    def parse(self, text: str) -> ParamValue:
        """Parse a command-line string (`"10"`, `"0.02"`, `"true"`, `"None"`) and validate it."""
        stripped = text.strip()
        if self.nullable and stripped.lower() in _NONE and self.kind is not ParamKind.BOOL:
            return None
        try:
            if self.kind is ParamKind.INT:
                return self.validate(int(stripped))
            if self.kind is ParamKind.FLOAT:
                return self.validate(float(stripped))
        except ValueError as error:
            if isinstance(error, StrategyError):
                raise
            raise StrategyError(
                f"parameter {self.name}: {text!r} is not a valid {self.kind.value}"
            ) from None
        if self.kind is ParamKind.BOOL:
            lowered = stripped.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise StrategyError(f"parameter {self.name}: {text!r} is not a valid bool")
        return self.validate(stripped)

    def _coerce(self, value: object) -> ParamValue:
        kind = self.kind
        if kind is ParamKind.BOOL:
            if isinstance(value, bool):
                return value
        elif kind is ParamKind.INT:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
        elif kind is ParamKind.FLOAT:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                number = float(value)
                if math.isfinite(number):
                    return number
        elif isinstance(value, str) and value.strip():
            return value
        raise StrategyError(f"parameter {self.name}: {value!r} is not a valid {kind.value}")

    def _check_bounds(self, number: float, original: object) -> None:
        low, high = self.minimum, self.maximum
        if low is not None and (number <= low if self.exclusive_minimum else number < low):
            bound = f"> {low:g}" if self.exclusive_minimum else f">= {low:g}"
            raise StrategyError(f"parameter {self.name}: {original!r} must be {bound}")
        if high is not None and number > high:
            raise StrategyError(f"parameter {self.name}: {original!r} must be <= {high:g}")


def resolve_parameters(
    specs: Sequence[ParameterSpec], values: Mapping[str, object] | None = None
) -> dict[str, ParamValue]:
    """Defaults overlaid with `values`, each validated; unknown names are a `StrategyError`."""
    by_name = {spec.name: spec for spec in specs}
    given = dict(values or {})
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise StrategyError(
            f"unknown parameter {unknown[0]} = {given[unknown[0]]!r} (known parameters: {known})"
        )
    return {
        spec.name: spec.validate(given[spec.name]) if spec.name in given else spec.default
        for spec in specs
    }


def parse_params(
    assignments: Iterable[str], specs: Sequence[ParameterSpec]
) -> dict[str, ParamValue]:
    """Parse `["fast=10", "stop_loss=0.02"]` against `specs`; returns only the given names.

    Malformed assignments, unknown names and bad values raise `StrategyError` naming the
    parameter and the value. Pass the result to `resolve_parameters` (or a registry factory).
    """
    by_name = {spec.name: spec for spec in specs}
    parsed: dict[str, ParamValue] = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        name = name.strip()
        if not separator or not name:
            raise StrategyError(f"parameter assignment {assignment!r} must look like name=value")
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise StrategyError(f"unknown parameter {name} = {text!r} (known parameters: {known})")
        parsed[name] = spec.parse(text)
    return parsed


def typed_int(values: Mapping[str, ParamValue], name: str) -> int:
    """Read a validated int parameter (narrows the type for mypy)."""
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise StrategyError(f"parameter {name} must be an int, got {value!r}")
    return value


def typed_float(values: Mapping[str, ParamValue], name: str) -> float:
    """Read a validated float parameter."""
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StrategyError(f"parameter {name} must be a number, got {value!r}")
    return float(value)


def typed_optional_float(values: Mapping[str, ParamValue], name: str) -> float | None:
    """Read a validated nullable float parameter (None = off)."""
    return None if values[name] is None else typed_float(values, name)


def typed_bool(values: Mapping[str, ParamValue], name: str) -> bool:
    """Read a validated bool parameter."""
    value = values[name]
    if not isinstance(value, bool):
        raise StrategyError(f"parameter {name} must be a bool, got {value!r}")
    return value
