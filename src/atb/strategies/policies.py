"""Typed builders for the policies a strategy attaches to its decisions.

A strategy writes::

    from atb.strategies.policies import partials, policy_bundle, trailing

    BUNDLE = policy_bundle(
        trailing=trailing(activation_pct=0.015, distance_pct=0.01),
        partials=partials(max_scale_ins=0),
    )

Every builder is the typed changes class itself (`atb.domain.policy_changes`), so a misspelled
field or a value of the wrong type is a mypy error. A field left out inherits the run's
configuration; a section given as `None` switches that policy off for the position; a section
that is off in the configuration is switched on from its defaults by any changes object.
"""

from __future__ import annotations

from typing import Final

from atb.domain.policy_changes import (
    UNSET,
    PartialChanges,
    PolicyBundle,
    TimeExitChanges,
    TrailingChanges,
    Unset,
)

__all__ = [
    "UNSET",
    "PartialChanges",
    "PolicyBundle",
    "TimeExitChanges",
    "TrailingChanges",
    "Unset",
    "partials",
    "policy_bundle",
    "time_exits",
    "trailing",
]

trailing: Final = TrailingChanges
"""`trailing(activation_pct=…, distance_pct=…, …)`: changes to the trailing stop."""

partials: Final = PartialChanges
"""`partials(exit_targets=…, scale_in_thresholds=…, max_scale_ins=…)`: changes to the ladder."""

time_exits: Final = TimeExitChanges
"""`time_exits(max_holding=…, weekend_flat=…, daily_flat_hour=…)`: changes to time exits."""

policy_bundle: Final = PolicyBundle
"""`policy_bundle(trailing=…, partials=…, time_exits=…)`: the bundle a decision carries."""
