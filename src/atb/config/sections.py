"""The sections users set, by name, and where each lives in the typed `RunConfiguration`.

Users see one flat list of sections (`costs`, `fills`, `risk`, `trailing`, `partials`,
`dynamic_risk`, `time_exits`, `correlation`), in that order, in `--set`, TOML files and
`result.json`. The typed tree groups them: `costs` and `fills` are fields of
`RunConfiguration`, the others belong to its `risk` part (`RiskConfiguration`), where the user's
`risk` section is the `limits` field. This module is the one place that knows the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from attrs import AttrsInstance

from atb.domain.policies import PartialPolicy, TimeExitPolicy, TrailingPolicy
from atb.managers.execution_config import COSTS_DEFAULTS, FILLS_DEFAULTS
from atb.managers.risk_config import (
    CORRELATION_DEFAULTS,
    DYNAMIC_RISK_DEFAULTS,
    LIMITS_DEFAULTS,
    PARTIALS_DEFAULTS,
    TIME_EXITS_DEFAULTS,
    TRAILING_DEFAULTS,
    CorrelationPolicy,
    DynamicRiskConfig,
    RiskConfiguration,
)
from atb.managers.run_config import RunConfiguration

__all__ = [
    "OPTIONAL_SECTIONS",
    "SECTION_DEFAULTS",
    "read_section",
    "with_sections",
]

SECTION_DEFAULTS: Mapping[str, AttrsInstance] = {
    "costs": COSTS_DEFAULTS,
    "fills": FILLS_DEFAULTS,
    "risk": LIMITS_DEFAULTS,
    "trailing": TRAILING_DEFAULTS,
    "partials": PARTIALS_DEFAULTS,
    "dynamic_risk": DYNAMIC_RISK_DEFAULTS,
    "time_exits": TIME_EXITS_DEFAULTS,
    "correlation": CORRELATION_DEFAULTS,
}
"""Every section users set, in their order, with the value it takes when on and not overridden."""

OPTIONAL_SECTIONS = frozenset({"trailing", "partials", "dynamic_risk", "time_exits", "correlation"})
"""Sections that may be switched off with an explicit None."""

_RUN_FIELDS = frozenset({"costs", "fills"})
"""Sections that are fields of `RunConfiguration` itself; the rest are in its `risk` part."""

_RISK_FIELDS: Mapping[str, str] = {
    "risk": "limits",
    "trailing": "trailing",
    "partials": "partials",
    "dynamic_risk": "dynamic_risk",
    "time_exits": "time_exits",
    "correlation": "correlation",
}
"""User section name → field of `RiskConfiguration`."""


def read_section(config: RunConfiguration, section: str) -> AttrsInstance | None:
    """The current value of one user section (`None` when an optional section is off)."""
    if section in _RUN_FIELDS:
        value: AttrsInstance | None = getattr(config, section)
    else:
        value = getattr(config.risk, _RISK_FIELDS[section])
    return value


def with_sections(config: RunConfiguration, values: Mapping[str, object]) -> RunConfiguration:
    """`config` with the given user sections replaced (`None` switches an optional one off)."""
    if not values:
        return config
    risk = config.risk
    return RunConfiguration(
        costs=_required(values, "costs", config.costs),
        fills=_required(values, "fills", config.fills),
        risk=RiskConfiguration(
            limits=_required(values, "risk", risk.limits),
            trailing=_optional(values, "trailing", risk.trailing, TrailingPolicy),
            partials=_optional(values, "partials", risk.partials, PartialPolicy),
            dynamic_risk=_optional(values, "dynamic_risk", risk.dynamic_risk, DynamicRiskConfig),
            time_exits=_optional(values, "time_exits", risk.time_exits, TimeExitPolicy),
            correlation=_optional(values, "correlation", risk.correlation, CorrelationPolicy),
        ),
    )


_T = TypeVar("_T")


def _required(values: Mapping[str, object], section: str, current: _T) -> _T:
    value = values.get(section, current)
    if not isinstance(value, type(current)):  # pragma: no cover - the merge builds each kind
        raise TypeError(f"{section} must be a {type(current).__name__}, got {value!r}")
    return value


def _optional(
    values: Mapping[str, object], section: str, current: _T | None, kind: type[_T]
) -> _T | None:
    value = values.get(section, current)
    if value is not None and not isinstance(value, kind):  # pragma: no cover - as above
        raise TypeError(f"{section} must be a {kind.__name__} or None, got {value!r}")
    return value
