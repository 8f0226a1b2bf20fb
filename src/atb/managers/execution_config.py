"""Execution configuration: what fills cost (`CostConfig`) and how orders fill (`FillConfig`).

Two sections of the run's configuration (`atb.managers.run_config.RunConfiguration`), apart from
the risk sections because they describe the market and the venue rather than the trader's risk:

- `costs`: `taker_fee`, `maker_fee`, `slippage` (fractions of price/notional)
- `fills`: `timing` (`next_open` | `close`), `intrabar` (policy name), `detail_timeframe`
"""

from __future__ import annotations

import enum

import attrs

from atb.domain.validation import finite_non_negative, instance_of

__all__ = [
    "COSTS_DEFAULTS",
    "FILLS_DEFAULTS",
    "CostConfig",
    "FillConfig",
    "FillTiming",
    "IntrabarPolicy",
]


class FillTiming(enum.Enum):
    """When a market order decided at a bar's close is filled."""

    NEXT_OPEN = "next_open"
    CLOSE = "close"


class IntrabarPolicy(enum.Enum):
    """Which extreme of a bar the price is assumed to visit first."""

    PESSIMISTIC = "pessimistic"
    OPTIMISTIC = "optimistic"
    NEAREST_EXTREME = "nearest_extreme"
    CANDLE_DIRECTION = "candle_direction"


@attrs.frozen(slots=True)
class CostConfig:
    """Fees on notional per fill (taker for market/stop fills, maker for resting limits) and
    slippage, a fraction of price moved against the trader on market and stop fills."""

    taker_fee: float = attrs.field(validator=finite_non_negative)
    maker_fee: float = attrs.field(validator=finite_non_negative)
    slippage: float = attrs.field(validator=finite_non_negative)


@attrs.frozen(slots=True)
class FillConfig:
    """Fill timing for market orders, the intrabar policy, and an optional finer timeframe used
    to resolve resting levels inside each bar."""

    timing: FillTiming = attrs.field(validator=instance_of(FillTiming))
    intrabar: IntrabarPolicy = attrs.field(validator=instance_of(IntrabarPolicy))
    detail_timeframe: str | None = attrs.field(default=None)


COSTS_DEFAULTS = CostConfig(taker_fee=0.001, maker_fee=0.001, slippage=0.0005)
"""Taker 0.1 %, maker 0.1 %, slippage 0.05 % on market and stop fills."""

FILLS_DEFAULTS = FillConfig(timing=FillTiming.NEXT_OPEN, intrabar=IntrabarPolicy.PESSIMISTIC)
"""Market orders fill at the next bar's open; the adverse extreme is visited first."""
