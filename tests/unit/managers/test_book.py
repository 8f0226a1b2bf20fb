"""The run-lived `Book` (ADR 0022): snapshots on demand, a working position changed in place
except while a bar's fills run (the other reading of an ambiguous bar starts from the position
as it was), and the resting orders re-planned only when what they follow from changed."""

from __future__ import annotations

from atb.domain.models import ActiveTrade
from atb.domain.sides import PositionSide
from atb.managers.book import Book, KernelContext
from atb.managers.kernel_state import KernelState
from atb.managers.plan import resting_orders
from atb.managers.positions import ActiveTradeAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.working_position import PositionChanges
from tests.support.builders import INSTRUMENT, make_bar, make_position
from tests.support.scripted import HOUR

CONTEXT: KernelContext[ActiveTrade] = KernelContext.build(
    config=RunConfiguration.default(),
    instrument=INSTRUMENT,
    positions=ActiveTradeAdapter(),
    bar_interval=HOUR,
)
HELD = make_position(PositionSide.LONG, 100.0, 2.0, stop_loss=95.0, take_profit=110.0)


def _state(position: ActiveTrade | None = HELD) -> KernelState[ActiveTrade]:
    return KernelState(
        cash=1_000.0,
        position=position,
        pending=(),
        equity=1_000.0,
        peak_equity=1_200.0,
        tier=CONTEXT.initial_state(1.0).tier,
        close_only=False,
        order_seq=7,
        position_seq=3,
        ambiguous_bars=1,
    )


def test_a_snapshot_of_an_unchanged_book_is_the_state_it_started_from() -> None:
    book = Book(CONTEXT, _state())
    snapshot = book.snapshot()
    assert snapshot == _state()
    assert snapshot.position is HELD  # nothing changed: the frozen value is reused


def test_changes_after_the_fills_are_made_in_place_and_frozen_once() -> None:
    book = Book(CONTEXT, _state(), make_bar(100.0, 104.0, 99.0, 103.0))
    position = book.position
    book.widen_excursions(104.0, 99.0)
    assert book.position is position
    first = book.snapshot().position
    assert first is not None
    assert (first.best_price, first.worst_price) == (104.0, 99.0)
    assert book.snapshot().position is first
    assert HELD.best_price == 100.0  # the frozen value it was thawed from never moves


def test_during_the_fills_the_start_keeps_its_own_position() -> None:
    book = Book(CONTEXT, _state(), make_bar(100.0, 104.0, 99.0, 103.0))
    start = book.position
    book.begin_fills()
    changed = book.changing_position()
    assert changed is not start
    changed.apply(PositionChanges(quantity=1.5))
    assert book.changing_position() is changed  # copied once, then changed in place
    started = book.started()
    assert started.position is not None
    assert started.position.quantity == 2.0
    assert (started.cash, started.order_seq, started.ambiguous_bars) == (1_000.0, 7, 1)
    book.end_fills()
    assert book.changing_position() is changed
    assert book.snapshot().position == make_position(
        PositionSide.LONG, 100.0, 1.5, stop_loss=95.0, take_profit=110.0, original_quantity=2.0
    )


def test_resting_orders_are_planned_again_only_when_stop_target_or_quantity_moved() -> None:
    book = Book(CONTEXT, _state(), make_bar(100.0, 104.0, 99.0, 103.0))
    first = resting_orders(book)
    assert [(order.level.price, order.quantity) for order in first] == [(95.0, 2.0), (110.0, 2.0)]
    book.widen_excursions(104.0, 99.0)
    assert resting_orders(book) is first  # the excursions do not move any level
    book.changing_position().apply(PositionChanges(stop_loss=97.0))
    moved = resting_orders(book)
    assert [(order.level.price, order.quantity) for order in moved] == [(97.0, 2.0), (110.0, 2.0)]
    book.changing_position().apply(PositionChanges(quantity=1.0))
    assert [order.quantity for order in resting_orders(book)] == [1.0, 1.0]
    book.position = None
    assert resting_orders(book) == ()
