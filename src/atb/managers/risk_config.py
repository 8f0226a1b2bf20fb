"""`RiskConfiguration`: the typed, frozen risk sections of a run's configuration.

Sections (dotted keys users set with `--set key=value` or TOML, read by `atb.config`):

- `risk` (field `limits`): `max_position`, `max_exposure`, `max_leverage`, `max_drawdown`,
  `max_positions` (a portfolio's open positions)
- `correlation` (portfolio): off unless enabled; then `CORRELATION_DEFAULTS`
- `trailing`, `partials`, `time_exits`: off (`None`) unless enabled; when enabled they take the
  values of `TRAILING_DEFAULTS`, `PARTIALS_DEFAULTS`, `TIME_EXITS_DEFAULTS`
- `dynamic_risk`: on by default (`DYNAMIC_RISK_DEFAULTS`)

Costs and fills are execution, not risk: `atb.managers.execution_config`. The whole run's
configuration is `atb.managers.run_config.RunConfiguration(costs, fills, risk)`.

The core never parses text: `--set`, TOML files and stored configs are turned into this tree by
`atb.config` (the edge), strategies attach typed policy changes (`atb.domain.policy_changes`).
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from atb.domain.policies import (
    PartialPolicy,
    TimeExitPolicy,
    TrailingPolicy,
    TrailReference,
)
from atb.domain.validation import (
    finite_positive,
    fraction,
    instance_of,
    optional_finite_positive,
    require_fraction,
)


@attrs.frozen(slots=True)
class RiskLimits:
    """Sizing caps, as fractions of equity, and the max-drawdown close-only latch.

    `max_position` caps one position's notional, `max_exposure` the total notional, and
    `max_leverage` bounds both (margin style: notional ≤ max_leverage × equity). A drawdown from
    the equity peak of `max_drawdown` or more latches close-only (None disables the latch).

    In a portfolio the fractions are of the portfolio's equity: `max_position` caps each
    symbol's position, `max_exposure` (and `max_leverage`) the sum over symbols, and
    `max_positions` the number of positions open at once (None: no limit).
    """

    max_position: float = attrs.field(validator=finite_positive)
    max_exposure: float = attrs.field(validator=finite_positive)
    max_leverage: float = attrs.field(validator=finite_positive)
    max_drawdown: float | None = attrs.field(validator=optional_finite_positive)
    max_positions: int | None = attrs.field(default=None)

    @max_positions.validator
    def _at_least_one(self, _attribute: attrs.Attribute[Any], value: int | None) -> None:
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"max_positions must be an integer >= 1 or None, got {value!r}")

    @max_drawdown.validator
    def _drawdown_below_one(self, _attribute: attrs.Attribute[Any], value: float | None) -> None:
        if value is not None:
            require_fraction("max_drawdown", value)

    @property
    def position_cap(self) -> float:
        """Largest fraction of equity one position may take."""
        return min(self.max_position, self.max_exposure, self.max_leverage)

    @property
    def exposure_cap(self) -> float:
        """Largest fraction of equity all positions together may take."""
        return min(self.max_exposure, self.max_leverage)


class CorrelationAction(enum.Enum):
    """What correlation control does to a new position that moves with an open one."""

    REDUCE = "reduce"
    REFUSE = "refuse"


@attrs.frozen(slots=True)
class CorrelationPolicy:
    """Correlation control for a portfolio (the seed system's rule): before a new position is
    sized, the Pearson correlation of its symbol's last `lookback` bar returns with each open
    position's symbol is measured (on the times both have bars); at `threshold` or above the
    entry is cut to `reduce_to` of its size (`action = reduce`) or refused (`refuse`)."""

    threshold: float = attrs.field(validator=fraction)
    lookback: int = attrs.field()
    action: CorrelationAction = attrs.field(validator=instance_of(CorrelationAction))
    reduce_to: float = attrs.field(validator=fraction)

    @lookback.validator
    def _enough_returns(self, _attribute: attrs.Attribute[Any], value: int) -> None:
        if type(value) is not int or value < 3:
            raise ValueError(f"lookback must be an integer >= 3 (bars), got {value!r}")


def _tiers(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty tuple of pairs, got {value!r}")
    previous = 0.0
    for index, tier in enumerate(value):
        if not (isinstance(tier, tuple) and len(tier) == 2):
            raise ValueError(
                f"{attribute.name}[{index}] must be a (drawdown, factor) pair, got {tier!r}"
            )
        drawdown, factor = tier
        require_fraction(f"{attribute.name}[{index}].drawdown", drawdown)
        require_fraction(f"{attribute.name}[{index}].factor", factor)
        if drawdown <= previous:
            raise ValueError(f"{attribute.name} drawdowns must strictly increase, got {value!r}")
        previous = drawdown


@attrs.frozen(slots=True)
class DynamicRiskConfig:
    """Drawdown tiers: at a drawdown of at least `tiers[i][0]` new entries are scaled by
    `tiers[i][1]`. A tier is left only once equity has regained `recovery_fraction` of the drop
    from the peak to the tier's threshold (hysteresis)."""

    tiers: tuple[tuple[float, float], ...] = attrs.field(validator=_tiers)
    recovery_fraction: float = attrs.field(validator=fraction)


TRAILING_DEFAULTS = TrailingPolicy(
    activation_pct=0.015,
    distance_pct=0.005,
    breakeven_trigger_pct=0.02,
    breakeven_buffer_pct=0.001,
    atr_multiple=None,
    atr_period=14,
    reference=TrailReference.CLOSE,
)
"""Trailing values when the section is enabled: activation +1.5 %, distance 0.5 %, breakeven at
+2 % to entry ± 0.1 %."""

PARTIALS_DEFAULTS = PartialPolicy(
    exit_targets=((0.03, 0.25), (0.06, 0.25), (0.10, 0.50)),
    scale_in_thresholds=((0.02, 0.25), (0.05, 0.25)),
    max_scale_ins=2,
)
"""Partials when enabled: exits at +3/+6/+10 % for 25/25/50 % of the original quantity, scale-ins
at +2/+5 % for 25/25 %, at most 2."""

TIME_EXITS_DEFAULTS = TimeExitPolicy(max_holding=None, weekend_flat=False, daily_flat_hour=None)
"""Time exits when enabled: nothing set until the user sets a key."""

DYNAMIC_RISK_DEFAULTS = DynamicRiskConfig(
    tiers=((0.05, 0.8), (0.10, 0.6), (0.15, 0.4)), recovery_fraction=0.5
)
"""Drawdown tiers 5/10/15 % → ×0.8/×0.6/×0.4; a tier is left after regaining half the drop."""

CORRELATION_DEFAULTS = CorrelationPolicy(
    threshold=0.7, lookback=100, action=CorrelationAction.REDUCE, reduce_to=0.5
)
"""Correlation control when enabled: returns of the last 100 bars; at a correlation of 0.7 or
more with an open position, a new position takes half its size."""

LIMITS_DEFAULTS = RiskLimits(
    max_position=0.10, max_exposure=1.0, max_leverage=1.0, max_drawdown=0.20
)
"""Max position 10 % of equity, total exposure 100 % (leverage 1), max drawdown 20 %."""


@attrs.frozen(slots=True)
class RiskConfiguration:
    """The risk sections: sizing limits and the policies that manage a position's risk.

    `RiskConfiguration.default()` is the documented default (DESIGN §4): trailing, partials and
    time exits off, dynamic risk on.
    """

    limits: RiskLimits = attrs.field(validator=instance_of(RiskLimits))
    trailing: TrailingPolicy | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(TrailingPolicy))
    )
    partials: PartialPolicy | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(PartialPolicy))
    )
    dynamic_risk: DynamicRiskConfig | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(DynamicRiskConfig))
    )
    time_exits: TimeExitPolicy | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(TimeExitPolicy))
    )
    correlation: CorrelationPolicy | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(CorrelationPolicy))
    )

    @classmethod
    def default(cls) -> RiskConfiguration:
        """Defaults of DESIGN §4: trailing, partials and time exits off; dynamic risk on."""
        return cls(limits=LIMITS_DEFAULTS, dynamic_risk=DYNAMIC_RISK_DEFAULTS)
