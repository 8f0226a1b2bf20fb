"""Decisions that read like the trade: `enter_long(size=0.5, stop=0.02, target=0.04)`.

Sizes are fractions of equity (the caps of the run's configuration still apply); `stop` and
`target` are distances from the fill price as fractions (0.02 = 2 %). `policies` attaches typed
per-position policies (trailing stop, partial exits, time exits) on top of the run's own.
"""

from __future__ import annotations

from atb.domain.decisions import HOLD, Action, Decision, PolicyBundle

__all__ = ["HOLD", "enter_long", "enter_short", "exit_position"]


def enter_long(
    size: float = 1.0,
    *,
    stop: float | None = None,
    target: float | None = None,
    policies: PolicyBundle | None = None,
    reason: str = "enter long",
) -> Decision:
    """Open a long position (or reverse a short one) of `size` × equity."""
    return Decision(
        Action.ENTER_LONG,
        size=size,
        stop_loss_pct=stop,
        take_profit_pct=target,
        policies=policies,
        reason=reason,
    )


def enter_short(
    size: float = 1.0,
    *,
    stop: float | None = None,
    target: float | None = None,
    policies: PolicyBundle | None = None,
    reason: str = "enter short",
) -> Decision:
    """Open a short position (or reverse a long one) of `size` × equity."""
    return Decision(
        Action.ENTER_SHORT,
        size=size,
        stop_loss_pct=stop,
        take_profit_pct=target,
        policies=policies,
        reason=reason,
    )


def exit_position(reason: str = "exit") -> Decision:
    """Close the open position at this bar's fill."""
    return Decision(Action.EXIT, reason=reason)
