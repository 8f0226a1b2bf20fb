"""`EarlyDecisions`: the strategy asked once per bar, by the fast path or by the step.

A flat account with no pending order changes nothing at a signal bar whose decision is HOLD:
the step's fills, position review and risk update have nothing to act on, and a HOLD orders
nothing and reports nothing. The quiet-span finder therefore asks a flat signal bar's decision
itself and, on a HOLD, lets the span run on through that bar. Any other decision ends the span
there and the bar is stepped; the step then gets the decision already asked instead of asking
the strategy a second time. So the strategy sees every signal bar exactly once, in order, with
the same arguments as when every such bar is stepped (`tests/property/test_fast_path_property.py`
compares both paths with HOLDs among the signals).
"""

from __future__ import annotations

from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decider, Decision
from atb.domain.protocols import PositionState

__all__ = ["EarlyDecisions"]


class EarlyDecisions:
    """A `Decider` in front of the strategy that keeps the one decision the fast path asked
    ahead of its bar's step."""

    def __init__(self, decider: Decider) -> None:
        self.decider = decider
        self._row = -1
        self._decision: Decision | None = None

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        """The decision for the bar that just closed: the one asked early for this flat bar, or
        the strategy's."""
        decision = self._decision
        if decision is not None and position is None and bar_index == self._row:
            self._decision = None
            return decision
        return self.decider.decide(bar_index, bar, position)

    def holds_flat(self, bar_index: int, bar: Bar) -> bool:
        """Ask the decision of a flat account at `bar` (row `bar_index`) before its step: True
        for a HOLD without policies (the bar is quiet and will not be stepped); otherwise the
        decision is kept for the step of that bar."""
        decision = self._decision
        if decision is None or bar_index != self._row:
            decision = self.decider.decide(bar_index, bar, None)
        if decision.action is Action.HOLD and decision.policies is None:
            self._decision = None
            return True
        self._row, self._decision = bar_index, decision
        return False
