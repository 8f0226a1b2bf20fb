"""A strategy's parameters are the fields of its frozen attrs class.

    @attrs.frozen
    class Breakout:
        window: int = parameter(20, "bars in the channel", minimum=2)
        stop: float | None = parameter(0.02, "stop distance (None: no stop)", above=0.0)

`parameter` is an `attrs.field` with a default and the bounds and help kept as metadata;
`parameter_specs(Breakout)` turns the fields into the `ParameterSpec`s every command parses
`--param` against, so any such class gets validation and CLI parsing without writing either.
The field's annotation gives the kind (`int`, `float`, `bool`, `str`; `X | None` may be None,
meaning "off"). A class that is not a frozen attrs class is refused with one line: a strategy's
parameters never change during a run.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import TypeVar, cast

import attrs

from atb.domain.errors import StrategyError
from atb.strategies.parameters import ParameterSpec, ParamKind, ParamValue

__all__ = ["parameter", "parameter_specs"]

_METADATA_KEY = "atb.parameter"

_KINDS: Mapping[object, ParamKind] = {
    bool: ParamKind.BOOL,
    int: ParamKind.INT,
    float: ParamKind.FLOAT,
    str: ParamKind.STR,
}

T = TypeVar("T")


@attrs.frozen(slots=True)
class _Bounds:
    description: str
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool


def parameter(
    default: T,
    description: str = "",
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> T:
    """A strategy parameter: its default, one line of help, and inclusive bounds (`minimum`,
    `maximum`) or a strict lower bound (`above`, e.g. `above=0.0` for a distance)."""
    if minimum is not None and above is not None:
        raise StrategyError("parameter: give either minimum or above, not both")
    bounds = _Bounds(
        description=description,
        minimum=above if above is not None else minimum,
        maximum=maximum,
        exclusive_minimum=above is not None,
    )
    # attrs.field is typed to return its default's type, so the class body's annotation holds.
    return attrs.field(default=default, metadata={_METADATA_KEY: bounds})


def parameter_specs(cls: type) -> tuple[ParameterSpec, ...]:
    """The parameters a strategy class declares, in field order (`StrategyError` naming the
    class when it is not a frozen attrs class or a `parameter(...)` is not a parameter kind).

    A field declared with `parameter(...)` is a parameter; so is a plain field of a parameter
    kind with a default. Any other field (e.g. `ml_basic`'s model, `attrs.field(kw_only=True)`)
    is context its factory supplies, not a parameter.
    """
    _check_frozen_attrs(cls)
    hints = typing.get_type_hints(cls)
    specs: list[ParameterSpec] = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        bounds = field.metadata.get(_METADATA_KEY)
        declared = isinstance(bounds, _Bounds)
        kind = _kind(hints.get(field.name))
        if kind is None:
            if declared:
                raise StrategyError(
                    f"{cls.__qualname__}.{field.name}: a parameter is an int, float, bool or str "
                    f"(optionally `| None`), not {hints.get(field.name)!r}"
                )
            continue  # context, supplied by the strategy's factory
        if field.default is attrs.NOTHING:
            if declared:
                raise StrategyError(f"{cls.__qualname__}.{field.name}: a parameter needs a default")
            continue
        if not isinstance(bounds, _Bounds):
            bounds = _Bounds("", None, None, exclusive_minimum=False)
        specs.append(
            ParameterSpec(
                field.name,
                kind[0],
                cast("ParamValue", field.default),
                bounds.description,
                minimum=bounds.minimum,
                maximum=bounds.maximum,
                nullable=kind[1],
                exclusive_minimum=bounds.exclusive_minimum,
            )
        )
    return tuple(specs)


def _check_frozen_attrs(cls: type) -> None:
    name = getattr(cls, "__qualname__", repr(cls))
    if not attrs.has(cls):
        raise StrategyError(
            f"{name}: a strategy's parameters must be a frozen attrs class (@attrs.frozen)"
        )
    first = next((field for field in attrs.fields(cls) if field.init), None)
    if first is None:
        return
    # A bare instance (no __init__: context fields may have no default) tells whether
    # attributes can be assigned after construction.
    probe = object.__new__(cls)
    try:
        object.__getattribute__(probe, "__setattr__")(first.name, None)
    except attrs.exceptions.FrozenInstanceError:
        return
    except Exception:  # a validator refusing None still means "assignable": not frozen
        pass
    raise StrategyError(
        f"{name}: the parameter class is not frozen; declare it with @attrs.frozen "
        "(a strategy's parameters never change during a run)"
    )


def _kind(hint: object) -> tuple[ParamKind, bool] | None:
    """The parameter kind of an annotation and whether it admits None; None if it is none."""
    nullable = False
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        members = [member for member in typing.get_args(hint) if member is not type(None)]
        nullable = len(members) < len(typing.get_args(hint))
        hint = members[0] if len(members) == 1 else None
    kind = _KINDS.get(hint)
    return None if kind is None else (kind, nullable)
