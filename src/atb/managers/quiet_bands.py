"""Where nothing can happen: the bands every manager states for the open position and the
account, gathered for the backtest's fast path.

A bar is quiet when, with no pending order and no strategy signal, its low and high stay
inside the resting levels' band, its reference price inside the trailing stop's band, its
close time before the time exits' deadline, and the drawdown at its close inside the risk
band (drawdown tiers and the close-only latch). Each band comes from the manager that owns the
rule; the fast path only intersects them with its arrays.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TypeVar

import attrs

from atb.domain.policies import TrailReference
from atb.domain.protocols import Position
from atb.managers.bands import Band
from atb.managers.book import Book, KernelContext
from atb.managers.fills import Trigger
from atb.managers.plan import position_levels

P = TypeVar("P", bound=Position)

__all__ = ["QuietBands", "quiet_bands", "risk_band"]


@attrs.frozen(slots=True)
class QuietBands:
    """Every band a quiet bar must stay inside (see the module docstring)."""

    low: Band
    """The bar's low: above every level that fires on a fall."""
    high: Band
    """The bar's high: below every level that fires on a rise."""
    reference: Band | None
    """The trailing stop's reference price (None: no trailing policy)."""
    reference_kind: TrailReference
    drawdown: Band
    """The drawdown from the equity peak at the bar's close."""
    deadline: datetime | None
    """The first bar close time at which a time exit fires (None: none set)."""


def risk_band(context: KernelContext[P], book: Book[P]) -> Band:
    """The drawdowns that change neither the drawdown tier nor the close-only latch."""
    band = Band()
    if context.dynamic_risk is not None:
        band = context.dynamic_risk.quiet_band(book.tier)
    limit = context.config.risk.limits.max_drawdown
    if limit is not None and not book.close_only:
        band = Band(below=band.below, above=min(band.above, limit))
    return band


def quiet_bands(context: KernelContext[P], book: Book[P]) -> QuietBands | None:
    """The bands for the run's `book`; None when no bar can be quiet (an ATR trailing distance moves
    with every bar, or an active trail has no stop yet)."""
    position = book.position
    drawdown = risk_band(context, book)
    if position is None:
        return QuietBands(Band(), Band(), None, TrailReference.CLOSE, drawdown, None)
    levels = position_levels(context, position, book.close_only)
    downs = [level.price for level in levels if level.trigger is Trigger.DOWN]
    ups = [level.price for level in levels if level.trigger is Trigger.UP]
    low = Band(below=max(downs, default=-math.inf))
    high = Band(above=min(ups, default=math.inf))
    policies = position.policies
    reference: Band | None = None
    kind = TrailReference.CLOSE
    if policies.trailing is not None:
        reference = context.trailing.quiet_band(position, policies.trailing)
        if reference is None:
            return None
        kind = policies.trailing.reference
    deadline = None
    if policies.time_exit is not None:
        deadline = context.time_exits.deadline(position, policies.time_exit)
    return QuietBands(low, high, reference, kind, drawdown, deadline)
