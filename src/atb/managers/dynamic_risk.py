"""`DynamicRiskHandler`: drawdown tiers that scale new position sizes, with hysteresis.

Tier k (1-based) is entered as soon as the drawdown from the equity peak reaches its threshold
d_k. It is left only after equity regains `recovery_fraction` of the drop to that threshold,
i.e. once the drawdown is back to d_k × (1 − recovery_fraction) or less, so a tier cannot flap
on noise around its threshold.
"""

from __future__ import annotations

import math

import attrs

from atb.managers.bands import Band
from atb.managers.risk_config import DynamicRiskConfig


@attrs.frozen(slots=True)
class RiskTier:
    """The active tier (0 = none) and the factor new entries are scaled by."""

    tier: int
    factor: float


NO_TIER = RiskTier(0, 1.0)
"""No drawdown tier: entries at full size."""


@attrs.frozen(slots=True)
class DynamicRiskHandler:
    """Maps (current tier, drawdown) to the next tier under one configuration."""

    config: DynamicRiskConfig

    def tier_for(self, tier: int) -> RiskTier:
        """The `RiskTier` for tier number `tier`."""
        return NO_TIER if tier == 0 else RiskTier(tier, self.config.tiers[tier - 1][1])

    def quiet_band(self, current: RiskTier) -> Band:
        """The drawdowns at which `update` keeps `current`: below the next tier's threshold,
        and above the point where the current tier is left."""
        tiers = self.config.tiers
        tier = current.tier
        above = tiers[tier][0] if tier < len(tiers) else math.inf
        below = tiers[tier - 1][0] * (1.0 - self.config.recovery_fraction) if tier else -math.inf
        return Band(below=below, above=above)

    def update(self, current: RiskTier, drawdown: float) -> RiskTier:
        """Next tier given the current one and the drawdown (fraction of the peak, ≥ 0)."""
        tiers = self.config.tiers
        target = 0
        for index, (threshold, _factor) in enumerate(tiers, start=1):
            if drawdown >= threshold:
                target = index
        tier = current.tier
        if target >= tier:
            tier = target
        else:
            keep = 1.0 - self.config.recovery_fraction
            while tier > target and drawdown <= tiers[tier - 1][0] * keep:
                tier -= 1
        return current if tier == current.tier else self.tier_for(tier)
