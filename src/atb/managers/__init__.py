"""Position managers shared by both engines: sans-IO, generic over the domain Protocols.

The public names of DESIGN §2 are re-exported here; each lives in its own module.
"""

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
