"""The driver with a venue that is not the bar-path simulation: market orders fill in two parts
at prices the venue chooses, one order is rejected. Plan and apply fold that exactly: the
position, the cash and every event are what the venue's reports imply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import pytest

from atb.config import config_from_assignments
from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decision
from atb.domain.events import KernelEvent, OrderFilled, OrderPlaced, OrderRejected, PositionClosed
from atb.domain.fills import FillKind, Liquidity
from atb.domain.models import ActiveTrade
from atb.domain.sides import PositionSide
from atb.engines.driver import BarDriver
from atb.managers.execution import (
    AccountView,
    RestingOrder,
    RestingWalk,
    VenueFill,
    VenueOrder,
    VenueRejection,
    VenueReport,
)
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.positions import ActiveTradeAdapter
from atb.ports import ExecutionVenue
from tests.support.scripted import BTC, HOUR, ScriptedDecider, bars_from_rows

FEE = 0.25


@attrs.define
class TwoPartVenue:
    """Fills every entry of 1.0 in two parts (0.4 at the reference + 1, then 0.6 at + 2), every
    exit at once at the reference − 1, and rejects the entry order with id `refuse`."""

    refuse: str
    submitted: list[str] = attrs.field(factory=list)

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        self.submitted.append(order.order_id)
        if order.order_id == self.refuse:
            return (VenueRejection(order, "insufficient balance", "venue says no"),)
        if order.intent is OrderIntent.CLOSE:
            assert account.position is not None
            quantity = account.position.quantity
            return (VenueFill(order, reference - 1, quantity, FEE, 0.0, Liquidity.TAKER, time),)
        return (
            VenueFill(order, reference + 1, 0.4, FEE, 0.0, Liquidity.TAKER, time, complete=False),
            VenueFill(order, reference + 2, 0.6, FEE, 0.0, Liquidity.TAKER, time),
        )

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        return ()

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        return RestingWalk((), ambiguous=False)

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        raise AssertionError("no resting orders in this session")

    def open_orders(self) -> Sequence[VenueOrder]:
        return ()

    def balance(self) -> float | None:
        return None


def test_partial_fills_and_a_rejection_fold_exactly() -> None:
    enter = Decision(Action.ENTER_LONG, size=0.5)
    script = {
        0: enter,
        2: Decision(Action.EXIT, reason="done"),
        3: enter,  # order bt-o0000004: the venue refuses it
        5: enter,
    }
    venue = TwoPartVenue(refuse="bt-o0000004")
    assert isinstance(venue, ExecutionVenue)
    driver: BarDriver[ActiveTrade] = BarDriver(
        config=config_from_assignments(["risk.max_position=1", "dynamic_risk=None"]),
        instrument=BTC,
        positions=ActiveTradeAdapter(),
        decider=ScriptedDecider(script),
        bar_interval=HOUR,
        venue=venue,
    )
    bars = bars_from_rows(
        [(100 + 10 * i, 105 + 10 * i, 95 + 10 * i, 100 + 10 * i) for i in range(8)]
    )
    state = driver.initial_state(10_000.0)
    events: list[KernelEvent] = []
    for index, bar in enumerate(bars):
        result = driver.step(state, bar, index)
        state = result.state
        events.extend(result.events)

    fills = [event.fill for event in events if isinstance(event, OrderFilled)]
    # Entry at bar 1's open (110): 0.4 @ 111 and 0.6 @ 112; exit at bar 3's open (130) @ 129.
    assert [(f.kind, f.price, f.quantity, f.order_id) for f in fills[:3]] == [
        (FillKind.ENTRY, 111.0, 0.4, "bt-o0000001"),
        (FillKind.ENTRY, 112.0, 0.6, "bt-o0000001"),
        (FillKind.EXIT, 129.0, 1.0, "bt-o0000003"),
    ]
    (closed,) = [event.trade for event in events if isinstance(event, PositionClosed)]
    assert closed.entry_price == pytest.approx(111.6)  # 0.4 × 111 + 0.6 × 112
    assert closed.quantity == pytest.approx(1.0)
    assert closed.gross_pnl == pytest.approx(129.0 - 111.6)
    assert closed.fees == pytest.approx(3 * FEE)
    # The refused entry is an OrderRejected with the venue's words; no position came of it.
    (rejected,) = [event for event in events if isinstance(event, OrderRejected)]
    assert (rejected.order_id, rejected.reason, rejected.detail) == (
        "bt-o0000004",
        "insufficient balance",
        "venue says no",
    )
    # The last entry (bar 6's open, 160) is open: 0.4 @ 161 + 0.6 @ 162.
    position = state.position
    assert position is not None
    assert (position.quantity, position.original_quantity) == pytest.approx((1.0, 1.0))
    assert position.entry_price == pytest.approx(161.6)
    assert [leg.quantity for leg in position.legs] == pytest.approx([0.4, 0.6])
    # Cash: the start, minus every fee, plus the closed trade's gross PnL (margin style).
    assert state.cash == pytest.approx(10_000.0 - 5 * FEE + (129.0 - 111.6))
    placed = [event.order_id for event in events if isinstance(event, OrderPlaced)]
    assert placed == ["bt-o0000001", "bt-o0000002", "bt-o0000004", "bt-o0000005"]
    assert venue.submitted == placed


def test_an_exit_filled_in_parts_reduces_then_closes() -> None:
    @attrs.define
    class SplitExits(TwoPartVenue):
        def submit(
            self, order: MarketOrder, reference: float, time: datetime, bar: Bar,
            account: AccountView,
        ) -> Sequence[VenueReport]:  # fmt: skip
            if order.intent is not OrderIntent.CLOSE:
                return super().submit(order, reference, time, bar, account)
            return (
                VenueFill(order, reference, 0.25, FEE, 0.0, Liquidity.TAKER, time, complete=False),
                VenueFill(order, reference - 2, 0.75, FEE, 0.0, Liquidity.TAKER, time),
            )

    driver: BarDriver[ActiveTrade] = BarDriver(
        config=config_from_assignments(["risk.max_position=1", "dynamic_risk=None"]),
        instrument=BTC,
        positions=ActiveTradeAdapter(),
        decider=ScriptedDecider(
            {0: Decision(Action.ENTER_LONG, size=1.0), 1: Decision(Action.EXIT)}
        ),
        bar_interval=HOUR,
        venue=SplitExits(refuse="none"),
    )
    bars = bars_from_rows([(100, 101, 99, 100)] * 3)
    state = driver.initial_state(1_000.0)
    events: list[KernelEvent] = []
    for index, bar in enumerate(bars):
        result = driver.step(state, bar, index)
        state, events = result.state, [*events, *result.events]
    assert state.position is None
    (closed,) = [event.trade for event in events if isinstance(event, PositionClosed)]
    # Entry 0.4 @ 101 + 0.6 @ 102 = 101.6; exits 0.25 @ 100 and 0.75 @ 98.
    assert closed.exit_price == pytest.approx((0.25 * 100 + 0.75 * 98) / 1.0)
    assert closed.gross_pnl == pytest.approx(0.25 * (100 - 101.6) + 0.75 * (98 - 101.6))
    assert closed.partial_exits == 0  # venue parts are not ladder rungs
    assert state.cash == pytest.approx(1_000.0 - 4 * FEE + closed.gross_pnl)
