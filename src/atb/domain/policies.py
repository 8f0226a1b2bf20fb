"""Typed position policies: how a position's stop trails, how it scales in and out, when it
must be flat.

These are plain value objects with no defaults: every default lives in
`atb.managers.risk_config`, the one source of risk numbers. A position carries the policies it
was opened with (`PositionPolicies`); the `PolicyHydrator` swaps them atomically.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

import attrs

from atb.domain.validation import (
    finite_non_negative,
    finite_positive,
    instance_of,
    non_negative_int,
    optional_finite_positive,
    require_finite_positive,
    require_fraction,
)

MAX_ATR_PERIOD = 1_000
"""The longest ATR period a trailing policy may use: the live engine keeps `period + 1` bars in
its window and recomputes from them on every bar, so the look-back is bounded."""


def _atr_period(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATR_PERIOD:
        raise ValueError(
            f"{attribute.name} must be an integer from 1 to {MAX_ATR_PERIOD}, got {value!r}"
        )


class TrailReference(enum.Enum):
    """Which price of the completed bar the trailing stop follows."""

    CLOSE = "close"
    EXTREME = "extreme"


@attrs.frozen(slots=True)
class TrailingPolicy:
    """Breakeven, then trailing.

    Moves are fractions of the entry price (0.015 = +1.5 %). When `atr_multiple` is set, the
    trailing distance is ATR(`atr_period`) × k in quote units instead of `distance_pct` of the
    reference price. `breakeven_trigger_pct = None` disables the breakeven step.
    """

    activation_pct: float = attrs.field(validator=finite_non_negative)
    distance_pct: float = attrs.field(validator=finite_positive)
    breakeven_trigger_pct: float | None = attrs.field(validator=optional_finite_positive)
    breakeven_buffer_pct: float = attrs.field(validator=finite_non_negative)
    atr_multiple: float | None = attrs.field(validator=optional_finite_positive)
    atr_period: int = attrs.field(validator=_atr_period)
    reference: TrailReference = attrs.field(validator=instance_of(TrailReference))


Ladder = tuple[tuple[float, float], ...]
"""Rungs of (move from the first entry price as a fraction, size as a fraction of original)."""


def _ladder(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple):
        raise ValueError(f"{attribute.name} must be a tuple of (move, size) pairs, got {value!r}")
    previous = 0.0
    for index, rung in enumerate(value):
        if not (isinstance(rung, tuple) and len(rung) == 2):
            raise ValueError(f"{attribute.name}[{index}] must be a (move, size) pair, got {rung!r}")
        move, size = rung
        require_finite_positive(f"{attribute.name}[{index}].move", move)
        require_fraction(f"{attribute.name}[{index}].size", size)
        if move <= previous:
            raise ValueError(f"{attribute.name} moves must strictly increase, got {value!r}")
        previous = move


@attrs.frozen(slots=True)
class PartialPolicy:
    """A ladder of partial-exit targets and scale-in thresholds.

    Levels are fixed from the first entry price: a long's exit target at move 0.03 sits at
    first_entry × 1.03. Sizes are fractions of the original quantity.
    """

    exit_targets: Ladder = attrs.field(validator=_ladder)
    scale_in_thresholds: Ladder = attrs.field(validator=_ladder)
    max_scale_ins: int = attrs.field(validator=non_negative_int)


@attrs.frozen(slots=True)
class TimeExitPolicy:
    """Time-based exits, judged on bar time only.

    `max_holding` closes a position held that long; `weekend_flat` closes a position at the
    first bar that closes in the weekend (Saturday/Sunday UTC) and refuses entries that would be
    held into it; `daily_flat_hour` closes at the first bar that ends at or after that UTC hour
    each day.
    """

    max_holding: timedelta | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.instance_of(timedelta))
    )
    weekend_flat: bool = attrs.field(validator=instance_of(bool))
    daily_flat_hour: int | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.in_(range(24)))
    )


@attrs.frozen(slots=True)
class PositionPolicies:
    """The policies attached to one position; `None` means the feature is off for it."""

    trailing: TrailingPolicy | None = None
    partials: PartialPolicy | None = None
    time_exit: TimeExitPolicy | None = None
