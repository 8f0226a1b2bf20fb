"""mypy-only conformance checks: these assignments fail type checking if a concrete class stops
satisfying its Protocol. They also run under pytest (trivially), so a missing import breaks CI.
"""

from __future__ import annotations

from typing import TypeVar

from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.models import Trade as ClosedTrade
from atb.domain.protocols import Position, PositionState, Trade

S = TypeVar("S", bound=PositionState)


def _as_position(value: ActiveTrade | LivePosition) -> Position:
    return value


def _as_state(value: ActiveTrade | LivePosition) -> PositionState:
    return value


def _as_trade(value: ClosedTrade) -> Trade:
    return value


def same_class_back(position: S) -> S:
    """A generic manager-style function: returns the caller's own class, no casts."""
    return position


def _backtest_gets_active_trade(position: ActiveTrade) -> ActiveTrade:
    return same_class_back(position)


def _live_gets_live_position(position: LivePosition) -> LivePosition:
    return same_class_back(position)


def test_conformance_module_imports() -> None:
    assert same_class_back.__name__ == "same_class_back"
