"""How much history a run needs: one answer for the data loader, both engines and parity.

Every decision at bar t may look back over bars before t: the strategy's features (its
`warmup`, the current bar included) and ATR-based trailing stops (ATR over `atr_period` true
ranges, each needing the previous close: `atr_period + 1` bars). A run loads and keeps the
largest of these before its first decision, so the backtest, the live window and a parity
replay compute every value from the same bars.
"""

from __future__ import annotations

from atb.domain.policies import MAX_ATR_PERIOD, PositionPolicies, TrailingPolicy
from atb.managers.run_config import RunConfiguration

__all__ = ["MAX_ATR_PERIOD", "history_bars", "policy_lookback", "trailing_lookback"]


def trailing_lookback(policy: TrailingPolicy | None) -> int:
    """Bars an ATR trailing stop reads at a bar (0 when trailing is off or by percentage)."""
    if policy is None or policy.atr_multiple is None:
        return 0
    return policy.atr_period + 1


def policy_lookback(policies: PositionPolicies) -> int:
    """Bars a position's policies read at a bar."""
    return trailing_lookback(policies.trailing)


def history_bars(strategy_warmup: int, config: RunConfiguration) -> int:
    """Bars of history a run loads and keeps: the strategy's warm-up or the configured
    managers' look-back, whichever is longer (at least 1)."""
    return max(1, strategy_warmup, trailing_lookback(config.risk.trailing))
