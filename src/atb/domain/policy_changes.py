"""Typed per-position policy changes a strategy attaches to a decision.

A strategy does not write configuration keys; it builds a `PolicyBundle` of typed changes, so a
misspelled field or a value of the wrong type is a mypy error rather than a failure mid-run::

    PolicyBundle(
        trailing=TrailingChanges(activation_pct=0.015, distance_pct=0.01),
        partials=PartialChanges(max_scale_ins=0),
        time_exits=None,
    )

Key-presence semantics (the same as users' overrides, DESIGN §4):

- a field left at `UNSET` (the default) inherits the run's configuration;
- `None` on a field that may be None (`breakeven_trigger_pct`, `atr_multiple`, `max_holding`,
  `daily_flat_hour`) sets it to None;
- a whole section given as `None` switches that policy off for the position, and an `UNSET`
  section keeps the configuration's;
- a changes object for a section that is off in the configuration switches it on from its
  defaults plus the fields given (an empty changes object switches it on unchanged).

The changes are applied by `atb.managers.policies.PolicyHydrator`; out-of-range values raise
`ConfigError` naming the dotted key (`trailing.distance_pct`) there.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final, TypeVar

import attrs

from atb.domain.errors import ConfigError, keyed_message
from atb.domain.policies import (
    Ladder,
    PartialPolicy,
    TimeExitPolicy,
    TrailingPolicy,
    TrailReference,
)
from atb.domain.validation import Validator

__all__ = [
    "UNSET",
    "PartialChanges",
    "PolicyBundle",
    "TimeExitChanges",
    "TrailingChanges",
    "Unset",
]


class Unset(enum.Enum):
    """The type of `UNSET`: a field that is not changed (it inherits the configuration)."""

    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
"""Marks a field or section a bundle leaves alone."""


def _float(value: float | Unset) -> float | Unset:
    """Ints given for float fields become floats, as they do in the configuration; bools are
    left for the validators to refuse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _optional_float(value: float | Unset | None) -> float | Unset | None:
    """As `_float`, for fields that may be None."""
    return value if value is None else _float(value)


_P = TypeVar("_P", TrailingPolicy, PartialPolicy, TimeExitPolicy)
_T = TypeVar("_T")


def _pick(change: _T | Unset, current: _T) -> _T:
    """The changed value, or the current one when the change is `UNSET`."""
    return current if isinstance(change, Unset) else change


def _apply(section: str, changes: attrs.AttrsInstance, base: _P, build: Callable[[], _P]) -> _P:
    """`build()` (the policy with the changes), or `base` when nothing is set; a validation
    error becomes a `ConfigError` naming the dotted key (`trailing.distance_pct`)."""
    names = [
        field.name
        for field in attrs.fields(type(changes))
        if getattr(changes, field.name) is not UNSET
    ]
    if not names:
        return base
    try:
        return build()
    except (ValueError, TypeError) as exc:
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        raise ConfigError(keyed_message(section, names, message)) from exc


@attrs.frozen(slots=True)
class TrailingChanges:
    """Changes to the trailing policy (`TrailingPolicy` fields); `UNSET` fields inherit."""

    activation_pct: float | Unset = attrs.field(default=UNSET, converter=_float)
    distance_pct: float | Unset = attrs.field(default=UNSET, converter=_float)
    breakeven_trigger_pct: float | Unset | None = attrs.field(
        default=UNSET, converter=_optional_float
    )
    breakeven_buffer_pct: float | Unset = attrs.field(default=UNSET, converter=_float)
    atr_multiple: float | Unset | None = attrs.field(default=UNSET, converter=_optional_float)
    atr_period: int | Unset = UNSET
    reference: TrailReference | Unset = UNSET

    def apply_to(self, base: TrailingPolicy) -> TrailingPolicy:
        """`base` with these changes; raises `ConfigError` naming `trailing.<field>`."""
        return _apply(
            "trailing",
            self,
            base,
            lambda: TrailingPolicy(
                activation_pct=_pick(self.activation_pct, base.activation_pct),
                distance_pct=_pick(self.distance_pct, base.distance_pct),
                breakeven_trigger_pct=_pick(self.breakeven_trigger_pct, base.breakeven_trigger_pct),
                breakeven_buffer_pct=_pick(self.breakeven_buffer_pct, base.breakeven_buffer_pct),
                atr_multiple=_pick(self.atr_multiple, base.atr_multiple),
                atr_period=_pick(self.atr_period, base.atr_period),
                reference=_pick(self.reference, base.reference),
            ),
        )


@attrs.frozen(slots=True)
class PartialChanges:
    """Changes to the partial-operations ladder (`PartialPolicy` fields); `UNSET` inherits."""

    exit_targets: Ladder | Unset = UNSET
    scale_in_thresholds: Ladder | Unset = UNSET
    max_scale_ins: int | Unset = UNSET

    def apply_to(self, base: PartialPolicy) -> PartialPolicy:
        """`base` with these changes; raises `ConfigError` naming `partials.<field>`."""
        return _apply(
            "partials",
            self,
            base,
            lambda: PartialPolicy(
                exit_targets=_pick(self.exit_targets, base.exit_targets),
                scale_in_thresholds=_pick(self.scale_in_thresholds, base.scale_in_thresholds),
                max_scale_ins=_pick(self.max_scale_ins, base.max_scale_ins),
            ),
        )


@attrs.frozen(slots=True)
class TimeExitChanges:
    """Changes to the time exits (`TimeExitPolicy` fields); `UNSET` fields inherit."""

    max_holding: timedelta | Unset | None = UNSET
    weekend_flat: bool | Unset = UNSET
    daily_flat_hour: int | Unset | None = UNSET

    def apply_to(self, base: TimeExitPolicy) -> TimeExitPolicy:
        """`base` with these changes; raises `ConfigError` naming `time_exits.<field>`."""
        return _apply(
            "time_exits",
            self,
            base,
            lambda: TimeExitPolicy(
                max_holding=_pick(self.max_holding, base.max_holding),
                weekend_flat=_pick(self.weekend_flat, base.weekend_flat),
                daily_flat_hour=_pick(self.daily_flat_hour, base.daily_flat_hour),
            ),
        )


def _section(kind: type[object]) -> Validator:
    """A section holds its changes object, `None` (off) or `UNSET` (inherit)."""

    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and value is not UNSET and not isinstance(value, kind):
            raise ConfigError(
                f"policy bundle: {attribute.name}: must be a {kind.__name__}, None or UNSET, "
                f"got {value!r}"
            )

    return check


@attrs.frozen(slots=True)
class PolicyBundle:
    """Per-position policy changes for the three sections a strategy may set per position.

    Frozen and hashable, so equal bundles compare equal and hydration can be memoised. Only
    `trailing`, `partials` and `time_exits` exist here: costs, fills and risk limits belong to
    the run, not to a position.
    """

    trailing: TrailingChanges | Unset | None = attrs.field(
        default=UNSET, validator=_section(TrailingChanges)
    )
    partials: PartialChanges | Unset | None = attrs.field(
        default=UNSET, validator=_section(PartialChanges)
    )
    time_exits: TimeExitChanges | Unset | None = attrs.field(
        default=UNSET, validator=_section(TimeExitChanges)
    )
