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
from atb.domain.intents import ExitReason
from atb.domain.models import ActiveTrade
from atb.domain.sides import PositionSide
from atb.engines.driver import BarDriver
from atb.managers.execution import (
    AccountView,
    LevelReached,
    RestingOrder,
    RestingWalk,
    VenueFill,
    VenueOrder,
    VenueRejection,
    VenueReport,
)
from atb.managers.fills import LevelKind
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


@attrs.define
class ThinStopVenue:
    """Fills entries at once at the reference; a stop level it fills in halves, one per bar
    that reaches it (the first half reported incomplete), as an exchange with thin volume."""

    halves_given: int = 0

    def submit(
        self, order: MarketOrder, reference: float, time: datetime, bar: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        quantity = 1.0 if account.position is None else account.position.quantity
        return (VenueFill(order, reference, quantity, 0.0, 0.0, Liquidity.TAKER, time),)

    def cancel(self, order: VenueOrder) -> Sequence[VenueReport]:
        return ()

    def walk(
        self, orders: Sequence[RestingOrder], path: Bar, side: PositionSide, *, reverse: bool
    ) -> RestingWalk:
        reached = tuple(
            LevelReached(order, order.level.price, False)
            for order in orders
            if order.level.kind is LevelKind.STOP_LOSS and path.low <= order.level.price
        )
        return RestingWalk(reached, ambiguous=False)

    def execute(
        self, order: RestingOrder, price: float, path: Bar, account: AccountView
    ) -> Sequence[VenueReport]:
        self.halves_given += 1
        last = self.halves_given == 2
        fill = VenueFill(order, price, 0.5, 0.0, 0.0, Liquidity.TAKER, path.time, complete=last)
        return (fill,)

    def open_orders(self) -> Sequence[VenueOrder]:
        return ()

    def balance(self) -> float | None:
        return None


def test_a_stop_filled_in_parts_reduces_the_position_then_closes_it() -> None:
    venue = ThinStopVenue()
    driver: BarDriver[ActiveTrade] = BarDriver(
        config=config_from_assignments(["risk.max_position=1", "dynamic_risk=None"]),
        instrument=BTC,
        positions=ActiveTradeAdapter(),
        decider=ScriptedDecider({0: Decision(Action.ENTER_LONG, size=1.0, stop_loss_pct=0.1)}),
        bar_interval=HOUR,
        venue=venue,
    )
    # Entry at bar 1's open (100, stop 90); bars 2 and 3 reach the stop.
    bars = bars_from_rows(
        [(100, 101, 99, 100), (100, 101, 99, 100), (95, 96, 89, 90), (90, 91, 85, 88)]
    )
    state = driver.initial_state(10_000.0)
    events: list[KernelEvent] = []
    positions = []
    for index, bar in enumerate(bars):
        result = driver.step(state, bar, index)
        state = result.state
        events.extend(result.events)
        positions.append(None if state.position is None else state.position.quantity)
    assert positions == [None, 1.0, 0.5, None]
    exits = [e.fill for e in events if isinstance(e, OrderFilled) and e.fill.kind is FillKind.EXIT]
    assert [(f.price, f.quantity, f.reason) for f in exits] == [
        (90.0, 0.5, "stop loss"),
        (90.0, 0.5, "stop loss"),
    ]
    (closed,) = [e.trade for e in events if isinstance(e, PositionClosed)]
    assert closed.exit_reason == "stop loss"
    assert state.cash == pytest.approx(10_000.0 - 10.0)


def test_flatten_queues_a_close_after_the_orders_already_at_the_venue() -> None:
    driver: BarDriver[ActiveTrade] = BarDriver(
        config=config_from_assignments(["risk.max_position=1", "dynamic_risk=None"]),
        instrument=BTC,
        positions=ActiveTradeAdapter(),
        decider=ScriptedDecider({0: Decision(Action.ENTER_LONG, size=1.0)}),
        bar_interval=HOUR,
        venue=ThinStopVenue(),
    )
    (bar,) = bars_from_rows([(100, 101, 99, 100)])
    result = driver.step(driver.initial_state(10_000.0), bar, 0)
    (entry,) = result.state.pending
    flat, nothing = driver.flatten(result.state, bar, "flatten: test")
    assert (flat.pending, nothing) == ((), ())  # no position, no entry kept: nothing to close
    kept, (placed,) = driver.flatten(result.state, bar, "flatten: test", keep=[entry])
    assert [o.intent for o in kept.pending] == [OrderIntent.OPEN_LONG, OrderIntent.CLOSE]
    assert (placed.order_id, placed.reason) == (kept.pending[1].order_id, "flatten: test")
    assert kept.pending[1].exit is ExitReason.FLATTEN
    assert kept.order_seq == result.state.order_seq + 1
