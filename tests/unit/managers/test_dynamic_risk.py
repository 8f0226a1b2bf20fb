"""DynamicRiskHandler: drawdown tiers 5/10/15 % → ×0.8/0.6/0.4, entered at once, left only after
recovering half the drop to the tier's threshold (hysteresis), several tiers at a time."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from atb.managers.dynamic_risk import NO_TIER, DynamicRiskHandler, RiskTier
from atb.managers.risk_config import DYNAMIC_RISK_DEFAULTS, DynamicRiskConfig
from atb.managers.run_config import RunConfiguration

HANDLER = DynamicRiskHandler(DYNAMIC_RISK_DEFAULTS)


def _run(drawdowns: Sequence[float], handler: DynamicRiskHandler = HANDLER) -> list[int]:
    tier = NO_TIER
    seen: list[int] = []
    for drawdown in drawdowns:
        tier = handler.update(tier, drawdown)
        seen.append(tier.tier)
    return seen


def test_defaults_are_the_documented_ones() -> None:
    assert DYNAMIC_RISK_DEFAULTS.tiers == ((0.05, 0.8), (0.10, 0.6), (0.15, 0.4))
    assert DYNAMIC_RISK_DEFAULTS.recovery_fraction == 0.5
    assert RunConfiguration.default().risk.dynamic_risk == DYNAMIC_RISK_DEFAULTS


def test_tier_for_maps_numbers_to_factors() -> None:
    assert HANDLER.tier_for(0) == NO_TIER == RiskTier(0, 1.0)
    assert [HANDLER.tier_for(n) for n in (1, 2, 3)] == [
        RiskTier(1, 0.8),
        RiskTier(2, 0.6),
        RiskTier(3, 0.4),
    ]


@pytest.mark.parametrize(
    ("drawdown", "expected"),
    [
        (0.0, NO_TIER),
        (0.0499, NO_TIER),
        (0.05, RiskTier(1, 0.8)),
        (0.0999, RiskTier(1, 0.8)),
        (0.10, RiskTier(2, 0.6)),
        (0.15, RiskTier(3, 0.4)),
        (0.60, RiskTier(3, 0.4)),
    ],
)
def test_tiers_are_entered_at_their_thresholds(drawdown: float, expected: RiskTier) -> None:
    assert HANDLER.update(NO_TIER, drawdown) == expected


def test_jumping_several_tiers_at_once() -> None:
    assert HANDLER.update(NO_TIER, 0.16) == RiskTier(3, 0.4)
    assert HANDLER.update(RiskTier(1, 0.8), 0.12) == RiskTier(2, 0.6)


@pytest.mark.parametrize(
    ("drawdown", "tier"), [(0.049, 1), (0.03, 1), (0.0251, 1), (0.025, 0), (0.0, 0)]
)
def test_leaving_tier_one_needs_the_drawdown_back_to_two_and_a_half_percent(
    drawdown: float, tier: int
) -> None:
    assert HANDLER.update(RiskTier(1, 0.8), drawdown) == HANDLER.tier_for(tier)


def test_no_flapping_around_the_first_threshold() -> None:
    drawdowns = [0.049, 0.051, 0.049, 0.051, 0.0499, 0.0501, 0.04, 0.03, 0.026, 0.02, 0.049]
    assert _run(drawdowns) == [0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]


@pytest.mark.parametrize(
    ("drawdown", "tier"),
    [(0.12, 3), (0.0751, 3), (0.075, 2), (0.07, 2), (0.05, 1), (0.04, 1), (0.025, 0)],
)
def test_recovering_from_the_deepest_tier_steps_down_by_hysteresis(
    drawdown: float, tier: int
) -> None:
    assert HANDLER.update(RiskTier(3, 0.4), drawdown).tier == tier


def test_a_deep_recovery_drops_several_tiers_in_one_update() -> None:
    assert _run([0.2, 0.01]) == [3, 0]


def test_unchanged_tier_returns_the_same_object() -> None:
    current = RiskTier(2, 0.6)
    assert HANDLER.update(current, 0.09) is current


def test_recovery_fraction_sets_the_exit_level() -> None:
    full = DynamicRiskHandler(DynamicRiskConfig(tiers=((0.05, 0.5),), recovery_fraction=1.0))
    assert _run([0.05, 0.001, 0.0], full) == [1, 1, 0]
    quarter = DynamicRiskHandler(DynamicRiskConfig(tiers=((0.08, 0.5),), recovery_fraction=0.25))
    assert _run([0.08, 0.061, 0.06], quarter) == [1, 1, 0]
