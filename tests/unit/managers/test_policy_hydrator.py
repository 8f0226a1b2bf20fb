"""`PolicyHydrator`: policy bundles from strategy decisions → typed, frozen position policies."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import attrs
import pytest

from atb.config import merge_overrides
from atb.domain.errors import ConfigError
from atb.domain.policies import (
    PartialPolicy,
    PositionPolicies,
    TimeExitPolicy,
    TrailingPolicy,
    TrailReference,
)
from atb.domain.policy_changes import (
    UNSET,
    PartialChanges,
    PolicyBundle,
    TimeExitChanges,
    TrailingChanges,
)
from atb.managers.policies import POLICY_SECTIONS, PolicyHydrator
from atb.managers.risk_config import PARTIALS_DEFAULTS, TRAILING_DEFAULTS
from atb.managers.run_config import RunConfiguration

DEFAULT = RunConfiguration.default()
CONFIGURED = merge_overrides(
    DEFAULT, {"trailing.distance_pct": 0.02, "partials": "on", "time_exits.max_holding": "48h"}
)


def _error(bundle: PolicyBundle, config: RunConfiguration = DEFAULT) -> str:
    with pytest.raises(ConfigError) as info:
        PolicyHydrator(config.risk).hydrate(bundle)
    return str(info.value)


def test_no_bundle_gives_the_config_policies() -> None:
    assert PolicyHydrator(DEFAULT.risk).hydrate(None) == PositionPolicies()
    hydrator = PolicyHydrator(CONFIGURED.risk)
    assert hydrator.hydrate(None) == PositionPolicies(
        trailing=CONFIGURED.risk.trailing,
        partials=PARTIALS_DEFAULTS,
        time_exit=TimeExitPolicy(
            max_holding=timedelta(hours=48), weekend_flat=False, daily_flat_hour=None
        ),
    )
    assert hydrator.defaults == hydrator.hydrate(None)
    assert hydrator.config is CONFIGURED.risk


def test_empty_bundle_inherits_everything() -> None:
    hydrator = PolicyHydrator(CONFIGURED.risk)
    assert hydrator.hydrate(PolicyBundle()) == hydrator.defaults


def test_a_key_enables_a_section_that_is_off_in_the_config() -> None:
    policies = PolicyHydrator(DEFAULT.risk).hydrate(
        PolicyBundle(trailing=TrailingChanges(distance_pct=0.01))
    )
    assert policies.trailing == attrs.evolve(TRAILING_DEFAULTS, distance_pct=0.01)
    assert policies.partials is None
    assert policies.time_exit is None


def test_absent_keys_inherit_the_config_section() -> None:
    policies = PolicyHydrator(CONFIGURED.risk).hydrate(
        PolicyBundle(
            trailing=TrailingChanges(reference=TrailReference.EXTREME),
            partials=PartialChanges(max_scale_ins=0),
        )
    )
    assert policies.trailing == attrs.evolve(
        TRAILING_DEFAULTS, distance_pct=0.02, reference=TrailReference.EXTREME
    )
    assert policies.partials == attrs.evolve(PARTIALS_DEFAULTS, max_scale_ins=0)
    assert policies.time_exit == CONFIGURED.risk.time_exits


def test_none_switches_a_policy_off_for_the_position() -> None:
    hydrator = PolicyHydrator(CONFIGURED.risk)
    policies = hydrator.hydrate(PolicyBundle(partials=None, time_exits=None))
    assert policies.partials is None
    assert policies.time_exit is None
    assert policies.trailing == CONFIGURED.risk.trailing
    assert hydrator.defaults.partials == PARTIALS_DEFAULTS


def test_none_on_an_optional_key() -> None:
    policies = PolicyHydrator(CONFIGURED.risk).hydrate(
        PolicyBundle(trailing=TrailingChanges(breakeven_trigger_pct=None))
    )
    assert policies.trailing is not None
    assert policies.trailing.breakeven_trigger_pct is None
    assert policies.trailing.distance_pct == 0.02


def test_ladders_and_durations_are_typed() -> None:
    policies = PolicyHydrator(DEFAULT.risk).hydrate(
        PolicyBundle(
            partials=PartialChanges(exit_targets=((0.05, 0.5), (0.08, 1.0))),
            time_exits=TimeExitChanges(max_holding=timedelta(days=1), daily_flat_hour=22),
        )
    )
    assert policies.partials == attrs.evolve(
        PARTIALS_DEFAULTS, exit_targets=((0.05, 0.5), (0.08, 1.0))
    )
    assert policies.time_exit == TimeExitPolicy(
        max_holding=timedelta(days=1), weekend_flat=False, daily_flat_hour=22
    )


def test_result_is_frozen_and_the_config_unchanged() -> None:
    hydrator = PolicyHydrator(CONFIGURED.risk)
    policies = hydrator.hydrate(PolicyBundle(trailing=None))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policies.trailing = TRAILING_DEFAULTS  # type: ignore[misc]
    assert CONFIGURED.risk.trailing is not None
    assert hydrator.defaults.trailing == CONFIGURED.risk.trailing


def test_equal_bundles_give_equal_results() -> None:
    hydrator = PolicyHydrator(DEFAULT.risk)
    first = hydrator.hydrate(
        PolicyBundle(trailing=TrailingChanges(distance_pct=0.01), partials=PartialChanges())
    )
    second = hydrator.hydrate(
        PolicyBundle(partials=PartialChanges(), trailing=TrailingChanges(distance_pct=0.01))
    )
    assert first == second


def test_cache_stays_bounded() -> None:
    hydrator = PolicyHydrator(DEFAULT.risk)
    results = [
        hydrator.hydrate(PolicyBundle(trailing=TrailingChanges(distance_pct=0.001 * (i + 1))))
        for i in range(300)
    ]
    assert [p.trailing.distance_pct for p in results if p.trailing] == [
        0.001 * (i + 1) for i in range(300)
    ]
    assert (
        hydrator.hydrate(PolicyBundle(trailing=TrailingChanges(distance_pct=0.001))) == results[0]
    )


def test_an_empty_changes_object_switches_a_section_on_unchanged() -> None:
    policies = PolicyHydrator(CONFIGURED.risk).hydrate(
        PolicyBundle(trailing=TrailingChanges(), partials=PartialChanges())
    )
    assert policies.trailing == CONFIGURED.risk.trailing
    assert policies.partials == PARTIALS_DEFAULTS
    enabled = PolicyHydrator(DEFAULT.risk).hydrate(PolicyBundle(time_exits=TimeExitChanges()))
    assert enabled.time_exit == TimeExitPolicy(
        max_holding=None, weekend_flat=False, daily_flat_hour=None
    )


def test_unset_is_the_default_of_every_field() -> None:
    assert PolicyBundle() == PolicyBundle(trailing=UNSET, partials=UNSET, time_exits=UNSET)
    assert TrailingChanges() == TrailingChanges(distance_pct=UNSET, atr_multiple=UNSET)
    assert repr(UNSET) == "UNSET"


@pytest.mark.parametrize(
    ("changes", "policy"),
    [
        (TrailingChanges, TrailingPolicy),
        (PartialChanges, PartialPolicy),
        (TimeExitChanges, TimeExitPolicy),
    ],
)
def test_every_policy_field_can_be_changed(changes: type, policy: type) -> None:
    assert [f.name for f in attrs.fields(changes)] == [f.name for f in attrs.fields(policy)]


def test_ints_for_float_fields_become_floats() -> None:
    changes = TrailingChanges(distance_pct=1, atr_multiple=2)
    assert isinstance(changes.distance_pct, float)
    assert isinstance(changes.atr_multiple, float)


def test_invalid_values_are_errors_naming_the_key() -> None:
    assert _error(PolicyBundle(trailing=TrailingChanges(distance_pct=-0.01))) == (
        "policy bundle: trailing.distance_pct: must be finite and > 0, got -0.01"
    )
    assert _error(PolicyBundle(trailing=TrailingChanges(atr_period=0))) == (
        "policy bundle: trailing.atr_period: must be an integer from 1 to 1000, got 0"
    )
    assert _error(PolicyBundle(partials=PartialChanges(exit_targets=((0.03, 2.0),)))) == (
        "policy bundle: partials.exit_targets[0].size: must be in (0, 1], got 2.0"
    )
    untyped = cast(float, "0.01")  # what a caller without mypy could pass
    assert _error(PolicyBundle(trailing=TrailingChanges(distance_pct=untyped))) == (
        "policy bundle: trailing.distance_pct: must be a number, got '0.01'"
    )
    assert _error(PolicyBundle(time_exits=TimeExitChanges(daily_flat_hour=24))).startswith(
        "policy bundle: time_exits.daily_flat_hour: "
    )


def test_a_section_of_the_wrong_type_is_an_error() -> None:
    wrong = cast(PartialChanges, TrailingChanges())  # what an untyped caller could pass
    with pytest.raises(ConfigError, match="policy bundle: partials: must be a PartialChanges"):
        PolicyBundle(partials=wrong)


def test_policy_sections() -> None:
    assert frozenset({"trailing", "partials", "time_exits"}) == POLICY_SECTIONS
    assert {field.name for field in attrs.fields(PolicyBundle)} == POLICY_SECTIONS
