"""What a strategy tells the kernel at a bar's close, and the Protocol the kernel asks.

The kernel never imports strategies: it calls any `Decider`. Strategies (`atb.strategies`)
satisfy it; tests drive the kernel with small scripted deciders.
"""

from __future__ import annotations

import enum
from typing import Protocol

import attrs

from atb.domain.bars import Bar
from atb.domain.policy_changes import PolicyBundle
from atb.domain.protocols import PositionState
from atb.domain.validation import (
    instance_of,
    non_empty_str,
    optional_finite_positive,
)

__all__ = ["HOLD", "Action", "Decider", "Decision", "PolicyBundle"]


class Action(enum.Enum):
    """The four things a strategy can ask for."""

    HOLD = "hold"
    ENTER_LONG = "enter_long"
    ENTER_SHORT = "enter_short"
    EXIT = "exit"


@attrs.frozen(slots=True)
class Decision:
    """A strategy's decision at the close of one bar.

    `size` is a fraction of equity (the kernel applies caps and dynamic risk); `stop_loss_pct`
    and `take_profit_pct` are distances from the entry fill price as fractions (0.02 = 2 %).
    Entries, exits and policy changes become market orders for the next bar.
    """

    action: Action = attrs.field(validator=instance_of(Action))
    size: float | None = attrs.field(default=None, validator=optional_finite_positive)
    stop_loss_pct: float | None = attrs.field(default=None, validator=optional_finite_positive)
    take_profit_pct: float | None = attrs.field(default=None, validator=optional_finite_positive)
    policies: PolicyBundle | None = attrs.field(default=None)
    reason: str = attrs.field(default="signal", validator=non_empty_str)

    @size.validator
    def _size_needed(self, _attribute: attrs.Attribute[float | None], value: object) -> None:
        if self.action in (Action.ENTER_LONG, Action.ENTER_SHORT) and value is None:
            raise ValueError(f"size is required for {self.action.value}, got None")

    @property
    def is_entry(self) -> bool:
        """True for ENTER_LONG and ENTER_SHORT."""
        return self.action in (Action.ENTER_LONG, Action.ENTER_SHORT)


HOLD = Decision(Action.HOLD)
"""The decision to do nothing (shared instance)."""


class Decider(Protocol):
    """Anything the kernel can ask for a decision.

    `decide` is called at the close of bar `bar_index` and may use data up to and including that
    bar only. `position` is a read-only view of the open position, or None when flat.
    """

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """Return the decision for the bar that just closed (`position` is valid for the call
        only: the engine changes it in place at later bars)."""
        ...
