"""Typed values for configuration keys: coercion driven by attrs type hints, and durations.

`coerce_field` turns a raw override value (from TOML, `--set` or a stored config) into the type
of one attrs field, generically from its type hint: ints become floats for float fields, integral
floats become ints, enum fields take their value names, `tuple[X, ...]` takes lists (so ladders
take lists of pairs), `timedelta` takes hours or duration strings, and `X | None` takes `None`
(or `false`, as TOML has no null). Errors are `ConfigError`s naming the dotted key and value.
"""

from __future__ import annotations

import enum
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import cache
from typing import Any

from attrs import AttrsInstance

from atb.domain.errors import ConfigError
from atb.domain.policies import MAX_ATR_PERIOD

__all__ = ["coerce_field", "format_duration", "parse_duration"]


def coerce_field(dotted: str, kind: type[AttrsInstance], name: str, value: object) -> object:
    """Coerce `value` for field `name` of the attrs class `kind`; `dotted` names it in errors.

    Range checks stay with the domain validators (run when the value object is built), except
    the few in `_KEY_CHECKS` that the domain leaves to the config layer.
    """
    coerced = _coerce(dotted, _hints(kind)[name], value)
    check = _KEY_CHECKS.get(dotted)
    problem = check(coerced) if check is not None and coerced is not None else None
    if problem is not None:
        raise ConfigError(f"{dotted}: {problem}, got {_show(value)}")
    return coerced


@cache
def _hints(kind: type[AttrsInstance]) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _coerce(key: str, hint: Any, value: object) -> object:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if optional and (value is None or (value is False and bool not in members)):
            return None
        if len(members) != 1:  # pragma: no cover - the config tree has no such fields
            raise ConfigError(f"{key}: unsupported field type {hint!r}")
        hint = members[0]
        origin = typing.get_origin(hint)
    if value is None:
        raise ConfigError(
            f"{key}: cannot be None (only optional keys can; switch an optional section off "
            "with section=None), got None"
        )
    if origin is tuple:
        return _coerce_tuple(key, typing.get_args(hint), value)
    coerce = _SCALARS.get(hint)
    if coerce is not None:
        return coerce(key, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _coerce_enum(key, hint, value)
    raise ConfigError(f"{key}: unsupported field type {hint!r}")  # pragma: no cover


def _coerce_float(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: must be a number, got {_show(value)}")
    return float(value)


def _coerce_int(key: str, value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: must be an integer, got {_show(value)}")
    return value


def _coerce_bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: must be true or false, got {_show(value)}")
    return value


def _coerce_str(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: must be a non-empty string, got {_show(value)}")
    return value.strip()


def _coerce_duration(key: str, value: object) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from exc


def _coerce_enum(key: str, kind: type[enum.Enum], value: object) -> enum.Enum:
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        word = value.strip().lower().replace("-", "_")
        for member in kind:
            if word in (str(member.value).lower(), member.name.lower()):
                return member
    valid = ", ".join(str(member.value) for member in kind)
    raise ConfigError(f"{key}: unknown value (valid: {valid}), got {_show(value)}")


def _coerce_tuple(key: str, args: tuple[Any, ...], value: object) -> tuple[object, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ConfigError(f"{key}: must be a list, got {_show(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_coerce(f"{key}[{i}]", args[0], item) for i, item in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"{key}: must be a list of {len(args)} items, got {_show(value)}")
    return tuple(
        _coerce(f"{key}[{i}]", arg, item)
        for i, (arg, item) in enumerate(zip(args, value, strict=True))
    )


_SCALARS: Mapping[object, Callable[[str, object], object]] = {
    float: _coerce_float,
    int: _coerce_int,
    bool: _coerce_bool,
    str: _coerce_str,
    timedelta: _coerce_duration,
}

_TIMEFRAME = re.compile(r"[1-9][0-9]*[smhdwM]")


def _timeframe_problem(value: object) -> str | None:
    if isinstance(value, str) and _TIMEFRAME.fullmatch(value):
        return None
    return "must be a timeframe such as 1m, 5m, 1h (a count and a unit s/m/h/d/w/M)"


def _period_problem(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ATR_PERIOD:
        return None
    return f"must be an integer from 1 to {MAX_ATR_PERIOD} (bars of history the engines keep)"


_KEY_CHECKS: Mapping[str, Callable[[object], str | None]] = {
    "fills.detail_timeframe": _timeframe_problem,
    "trailing.atr_period": _period_problem,
}
"""Range checks the domain classes leave to the config layer, by dotted key."""


# --- durations -------------------------------------------------------------------------------

_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_COMPACT = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+")
_COMPACT_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_ISO = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def parse_duration(value: object) -> timedelta:
    """A positive duration from a `timedelta`, a number of hours, or a string.

    Strings: a number of hours (`"48"`), counts with units w/d/h/m/s (`"48h"`, `"2d"`, `"90m"`,
    `"1d12h"`; `m` is minutes), or ISO 8601 (`"P2D"`, `"PT1H30M"`). Raises ValueError naming the
    value otherwise.
    """
    result: timedelta | None = None
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = timedelta(hours=value) if math.isfinite(value) else None
    elif isinstance(value, str):
        result = _parse_duration_text(value.strip())
    if result is None or result <= timedelta(0):
        raise ValueError(
            f"must be a positive duration (hours, or a string like 48h, 2d, 90m, PT36H), "
            f"got {_show(value)}"
        )
    return result


def _parse_duration_text(text: str) -> timedelta | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(hours=float(text))
    lowered = text.lower()
    if _COMPACT.fullmatch(lowered):
        seconds = sum(
            float(count) * _UNIT_SECONDS[unit] for count, unit in _COMPACT_PART.findall(lowered)
        )
        return timedelta(seconds=seconds)
    match = _ISO.fullmatch(text.upper())
    if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        return None
    parts = {name: float(count) for name, count in match.groupdict().items() if count}
    return sum(
        (timedelta(seconds=count * _UNIT_SECONDS[name]) for name, count in parts.items()),
        timedelta(0),
    )


def format_duration(value: timedelta) -> str:
    """ISO 8601 duration (`P2DT3H`, `PT1H30M`, `PT0.5S`), exact to the microsecond.

    `parse_duration(format_duration(d)) == d` for every positive `d`.
    """
    if value < timedelta(0):
        return "-" + format_duration(-value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"P{value.days}D" if value.days else "P"
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or value.microseconds:
        fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        clock += f"{seconds}{fraction}S"
    if clock:
        text += "T" + clock
    return text if text != "P" else "PT0S"


def _show(value: object) -> str:
    return repr(value)
