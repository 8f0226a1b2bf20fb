"""`RunConfiguration`: the one typed, frozen source of every execution and risk default of a run.

It holds three parts: `costs` and `fills` (`atb.managers.execution_config`) describe the venue,
`risk` (`atb.managers.risk_config.RiskConfiguration`) the sizing limits and the policies that
manage a position. `RunConfiguration.default()` is DESIGN §4.

Users set it by dotted keys whose sections are flat (`costs.*`, `fills.*`, `risk.*` for the
limits, `trailing.*`, `partials.*`, `dynamic_risk.*`, `time_exits.*`); the edge package
`atb.config` maps them onto this tree and back (`config_to_dict`), so `result.json` and the
store keep the flat form.
"""

from __future__ import annotations

import attrs

from atb.domain.validation import instance_of
from atb.managers.execution_config import COSTS_DEFAULTS, FILLS_DEFAULTS, CostConfig, FillConfig
from atb.managers.risk_config import RiskConfiguration

__all__ = ["RunConfiguration"]


@attrs.frozen(slots=True)
class RunConfiguration:
    """Costs, fills and risk for one run (backtest, live session or parity check)."""

    costs: CostConfig = attrs.field(validator=instance_of(CostConfig))
    fills: FillConfig = attrs.field(validator=instance_of(FillConfig))
    risk: RiskConfiguration = attrs.field(validator=instance_of(RiskConfiguration))

    @classmethod
    def default(cls) -> RunConfiguration:
        """Defaults of DESIGN §4: costs and fills as documented, `RiskConfiguration.default()`."""
        return cls(costs=COSTS_DEFAULTS, fills=FILLS_DEFAULTS, risk=RiskConfiguration.default())
