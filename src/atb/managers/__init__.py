"""Position managers shared by both engines: sans-IO, generic over the domain Protocols.

The public names of DESIGN §2 are re-exported here; each lives in its own module.
"""

from typing import TYPE_CHECKING

from atb.deferred_modules import deferred_exports

if TYPE_CHECKING:
    from atb.managers.costs import CostCalculator
    from atb.managers.dynamic_risk import DynamicRiskHandler
    from atb.managers.fills import FillModel
    from atb.managers.partials import PartialOperationsManager
    from atb.managers.performance import PerformanceTracker
    from atb.managers.policies import PolicyHydrator
    from atb.managers.risk_config import RiskConfiguration
    from atb.managers.run_config import RunConfiguration
    from atb.managers.time_exits import TimeExitManager
    from atb.managers.trailing import TrailingStopManager


__all__ = [
    "CostCalculator",
    "DynamicRiskHandler",
    "FillModel",
    "PartialOperationsManager",
    "PerformanceTracker",
    "PolicyHydrator",
    "RiskConfiguration",
    "RunConfiguration",
    "TimeExitManager",
    "TrailingStopManager",
]

# Imported on first use: importing one submodule must not import them all (ADR 0020).
__getattr__ = deferred_exports(
    __name__,
    {
        "CostCalculator": "costs",
        "DynamicRiskHandler": "dynamic_risk",
        "FillModel": "fills",
        "PartialOperationsManager": "partials",
        "PerformanceTracker": "performance",
        "PolicyHydrator": "policies",
        "RiskConfiguration": "risk_config",
        "RunConfiguration": "run_config",
        "TimeExitManager": "time_exits",
        "TrailingStopManager": "trailing",
    },
)
