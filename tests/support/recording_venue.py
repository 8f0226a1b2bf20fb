"""`RecordingVenue`: the simulated venue, recording what it was shown and what it filled.

It implements the `ExecutionVenue` port by delegating to a `SimulatedVenue`; each execution is
kept with a copy of the account the kernel showed the venue at that moment (the view is valid
for the call only: its position changes in place at later bars), so tests can check what the
portfolio's caps promise at every fill (no monkeypatching: the engine takes it as its venue).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

import attrs

from atb.domain.bars import Bar
from atb.domain.sides import PositionSide
from atb.managers.execution import (
    AccountView,
    RestingOrder,
    RestingWalk,
    VenueFill,
    VenueOrder,
    VenueReport,
)
from atb.managers.orders import MarketOrder
from atb.venues.simulated import SimulatedVenue


def _as_seen(account: AccountView) -> AccountView:
    """The account as it is now, kept apart from the run's working position."""
    return AccountView(account.cash, copy.copy(account.position), account.others)


@attrs.frozen
class Execution:
    """One order the venue executed: the account it saw and its reports."""

    account: AccountView
    order: VenueOrder
    reports: tuple[VenueReport, ...]

    @property
    def fills(self) -> tuple[VenueFill, ...]:
        """The fills among the reports."""
        return tuple(report for report in self.reports if isinstance(report, VenueFill))


@attrs.define
class RecordingVenue:
    """A `SimulatedVenue` that keeps every execution."""

    inner: SimulatedVenue
    executions: list[Execution] = attrs.field(factory=list)

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        reports = tuple(self.inner.submit(order, reference, time, bar, account))
        self.executions.append(Execution(_as_seen(account), order, reports))
        return reports

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        return self.inner.cancel(order)

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        return self.inner.walk(orders, path, side, reverse=reverse)

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        reports = tuple(self.inner.execute(order, price, path, account))
        self.executions.append(Execution(_as_seen(account), order, reports))
        return reports

    def open_orders(self) -> Sequence[VenueOrder]:
        return self.inner.open_orders()

    def balance(self) -> float | None:
        return self.inner.balance()
