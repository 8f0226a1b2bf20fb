"""Value checks shared by the domain value objects, and attrs validators built on them.

Every message names the field and the offending value, so a bad construction is easy to trace.
The `require_*` functions take the name explicitly (nested values such as ladder entries use
them); the attrs validators pass the attribute's own name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def require_finite(name: str, value: object) -> None:
    """NaN and infinities are rejected; the sign is free (PnL can be negative)."""
    if not math.isfinite(_number(name, value)):
        raise ValueError(f"{name} must be finite, got {value!r}")


def require_finite_positive(name: str, value: object) -> None:
    """A finite number strictly greater than zero (prices, quantities)."""
    number = _number(name, value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")


def require_finite_non_negative(name: str, value: object) -> None:
    """A finite number >= 0 (fees, costs, distances that may be zero)."""
    number = _number(name, value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")


def require_fraction(name: str, value: object) -> None:
    """A fraction in (0, 1]."""
    number = _number(name, value)
    if not math.isfinite(number) or not 0 < number <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")


def require_non_negative_int(name: str, value: object) -> None:
    """A count: an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")


def require_aware_datetime(name: str, value: object) -> None:
    """Times are timezone-aware (UTC by convention); naive datetimes are ambiguous."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def require_non_empty_str(name: str, value: object) -> None:
    """A non-blank string (symbols, ids, reasons)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _attrs_validator(check: Callable[[str, object], None]) -> Validator:
    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check(attribute.name, value)

    return validate


def _optional(check: Callable[[str, object], None]) -> Validator:
    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(attribute.name, value)

    return validate


# The attrs validators below run on every fill, trade and position a run creates. Each starts
# with a fast path for the common valid case (a plain float or datetime; NaN fails every
# comparison, so it falls through) and defers to the `require_*` check, which builds the
# message, only when that path does not apply.
_INF = math.inf


def finite(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: `require_finite`."""
    if type(value) is float and -_INF < value < _INF:
        return
    require_finite(attribute.name, value)


def finite_positive(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: `require_finite_positive`."""
    if type(value) is float and 0.0 < value < _INF:
        return
    require_finite_positive(attribute.name, value)


def finite_non_negative(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: `require_finite_non_negative`."""
    if type(value) is float and 0.0 <= value < _INF:
        return
    require_finite_non_negative(attribute.name, value)


def aware_datetime(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: `require_aware_datetime`."""
    if type(value) is datetime and value.tzinfo is not None:
        return
    require_aware_datetime(attribute.name, value)


def non_empty_str(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: `require_non_empty_str`."""
    if type(value) is str and value and not value[0].isspace():
        return
    require_non_empty_str(attribute.name, value)


def optional_finite_positive(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: None, or `require_finite_positive`."""
    if value is None or (type(value) is float and 0.0 < value < _INF):
        return
    require_finite_positive(attribute.name, value)


fraction = _attrs_validator(require_fraction)
non_negative_int = _attrs_validator(require_non_negative_int)
optional_finite_non_negative = _optional(require_finite_non_negative)


def instance_of(kind: type) -> Validator:
    """Like `attrs.validators.instance_of`, but raising ValueError naming field and value.

    attrs raises TypeError; the domain promises ValueError for every rejected value, including a
    side of `None`.
    """

    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if type(value) is not kind and not isinstance(value, kind):
            raise ValueError(f"{attribute.name} must be a {kind.__name__}, got {value!r}")

    return validate
