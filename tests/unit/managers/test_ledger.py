"""Ledger: cash moves by fees and realized PnL only; a scale-in re-averages the entry and adds a
leg; partial exits realize against the average entry; closing builds the `Trade`."""

from __future__ import annotations

from typing import TypeVar

import pytest

from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.intents import ExitReason
from atb.domain.models import Trade
from atb.domain.policies import PositionPolicies
from atb.domain.protocols import Position
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.ledger import (
    cash_change,
    close,
    partial_exit_changes,
    scale_in_changes,
)
from atb.managers.partials import PARTIALS_COMPLETE
from atb.managers.positions import ActiveTradeAdapter, LivePositionAdapter, PositionAdapter
from atb.managers.working_position import PositionChanges, WorkingPosition
from tests.support.builders import T0, make_fill

P = TypeVar("P", bound=Position)
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
BUY, SELL = OrderAction.BUY, OrderAction.SELL
ACTIVE = ActiveTradeAdapter()
HOURS = [T0.replace(hour=h) for h in range(6)]


def _open(entry: Fill, side: PositionSide, _into: PositionAdapter[P]) -> WorkingPosition[P]:
    """A new position, to be frozen `_into` an engine's class."""
    return WorkingPosition.opened(
        position_id="p7",
        symbol="BTCUSDT",
        side=side,
        fill=entry,
        stop_loss=None,
        take_profit=None,
        policies=PositionPolicies(),
    )


def _update(position: WorkingPosition[P], changes: PositionChanges) -> WorkingPosition[P]:
    """`position` with `changes`, as a new object (the test keeps the one before)."""
    changed = position.copy()
    changed.apply(changes)
    return changed


# Long: buy 1 @ 100, scale in 0.5 @ 102, sell 0.5 @ 103 (partial), sell 1 @ 106 (exit).
L_ENTRY = make_fill(FillKind.ENTRY, BUY, 100.0, 1.0, fee=0.1, slippage=0.05, time=HOURS[0])
L_SCALE = make_fill(FillKind.SCALE_IN, BUY, 102.0, 0.5, fee=0.051, slippage=0.02, time=HOURS[1])
L_PARTIAL = make_fill(
    FillKind.PARTIAL_EXIT, SELL, 103.0, 0.5, fee=0.0515, time=HOURS[2], liquidity=Liquidity.MAKER
)
L_EXIT = make_fill(FillKind.EXIT, SELL, 106.0, 1.0, fee=0.106, slippage=0.03, time=HOURS[3])


def _long_round_trip(adapter: PositionAdapter[P]) -> tuple[list[float], Trade]:
    """The long round trip on an engine's frozen class (frozen after every change)."""
    working = _open(L_ENTRY, LONG, adapter)
    position = adapter.freeze(working)
    cash = [cash_change(position, L_ENTRY)]
    cash.append(cash_change(position, L_SCALE))
    working.apply(scale_in_changes(position, L_SCALE))
    position = adapter.freeze(working)
    cash.append(cash_change(position, L_PARTIAL))
    working.apply(partial_exit_changes(position, L_PARTIAL))
    position = adapter.freeze(working)
    cash.append(cash_change(position, L_EXIT))
    return cash, close(position, L_EXIT, "signal", ExitReason.SIGNAL)


def test_entry_costs_only_its_fee() -> None:
    position = _open(L_ENTRY, LONG, ACTIVE)
    assert cash_change(position, L_ENTRY) == pytest.approx(-0.1)
    assert (position.entry_price, position.first_entry_price, position.quantity) == (
        100.0,
        100.0,
        1.0,
    )
    assert position.legs == (L_ENTRY,)


def test_scale_in_re_averages_the_entry_and_adds_a_leg() -> None:
    position = _open(L_ENTRY, LONG, ACTIVE)
    scaled = _update(position, scale_in_changes(position, L_SCALE))
    assert scaled.entry_price == pytest.approx(151.0 / 1.5)
    assert scaled.first_entry_price == 100.0
    assert scaled.quantity == pytest.approx(1.5)
    assert scaled.original_quantity == 1.0
    assert scaled.scale_ins_taken == 1
    assert scaled.fees_paid == pytest.approx(0.151)
    assert scaled.slippage_paid == pytest.approx(0.07)
    assert scaled.legs == (L_ENTRY, L_SCALE)
    assert cash_change(position, L_SCALE) == pytest.approx(-0.051)


def test_partial_exit_realizes_against_the_average_entry() -> None:
    position = _open(L_ENTRY, LONG, ACTIVE)
    position = _update(position, scale_in_changes(position, L_SCALE))
    after = _update(position, partial_exit_changes(position, L_PARTIAL))
    realized = (103.0 - 151.0 / 1.5) * 0.5
    assert after.realized_pnl == pytest.approx(realized)
    assert after.quantity == pytest.approx(1.0)
    assert after.partial_exits_taken == 1
    assert after.entry_price == position.entry_price
    assert after.fees_paid == pytest.approx(0.151 + 0.0515)
    assert after.legs == (L_ENTRY, L_SCALE, L_PARTIAL)
    assert cash_change(position, L_PARTIAL) == pytest.approx(realized - 0.0515)


def test_partial_exit_of_the_whole_position_is_refused() -> None:
    position = _open(L_ENTRY, LONG, ACTIVE)
    whole = make_fill(FillKind.PARTIAL_EXIT, SELL, 103.0, 1.0)
    with pytest.raises(ValueError, match="would close"):
        partial_exit_changes(position, whole)


def test_close_builds_the_trade_from_every_leg() -> None:
    cash, trade = _long_round_trip(ActiveTradeAdapter())
    # bought 1.5 for 151, sold 0.5 @ 103 + 1 @ 106 = 157.5
    assert trade.gross_pnl == pytest.approx(6.5)
    assert trade.fees == pytest.approx(0.1 + 0.051 + 0.0515 + 0.106)
    assert trade.slippage == pytest.approx(0.05 + 0.02 + 0.03)
    assert trade.pnl == pytest.approx(6.5 - 0.3085)
    assert trade.exit_price == pytest.approx(157.5 / 1.5)
    assert trade.entry_price == pytest.approx(151.0 / 1.5)
    assert trade.quantity == pytest.approx(1.5)
    assert trade.legs == (L_ENTRY, L_SCALE, L_PARTIAL, L_EXIT)
    assert (trade.partial_exits, trade.scale_ins) == (1, 1)
    assert (trade.trade_id, trade.symbol, trade.side) == ("p7", "BTCUSDT", LONG)
    assert (trade.entry_time, trade.exit_time) == (HOURS[0], HOURS[3])
    assert trade.exit_reason == "signal"
    # cash moved by exactly the trade's net PnL
    assert sum(cash) == pytest.approx(trade.pnl)


def test_gross_pnl_is_the_sum_of_the_exit_legs_pnl() -> None:
    _cash, trade = _long_round_trip(ActiveTradeAdapter())
    average = trade.entry_price
    legs_pnl = sum(
        (leg.price - average) * leg.quantity for leg in trade.legs if not leg.kind.increases
    )
    assert trade.gross_pnl == pytest.approx(legs_pnl)
    assert trade.fees == pytest.approx(sum(leg.fee for leg in trade.legs))


def test_both_position_classes_close_into_the_same_trade() -> None:
    active_cash, active_trade = _long_round_trip(ActiveTradeAdapter())
    live_cash, live_trade = _long_round_trip(LivePositionAdapter())
    assert active_trade == live_trade
    assert active_cash == live_cash


def test_short_round_trip() -> None:
    entry = make_fill(FillKind.ENTRY, SELL, 100.0, 2.0, fee=0.2, time=HOURS[0])
    scale = make_fill(FillKind.SCALE_IN, SELL, 98.0, 1.0, fee=0.098, time=HOURS[1])
    partial = make_fill(FillKind.PARTIAL_EXIT, BUY, 95.0, 1.0, fee=0.095, time=HOURS[2])
    final = make_fill(FillKind.EXIT, BUY, 97.0, 2.0, fee=0.194, time=HOURS[3])
    position = _open(entry, SHORT, ACTIVE)
    cash = [cash_change(position, entry), cash_change(position, scale)]
    position = _update(position, scale_in_changes(position, scale))
    assert position.entry_price == pytest.approx(298.0 / 3.0)
    cash.append(cash_change(position, partial))
    assert cash[-1] == pytest.approx((298.0 / 3.0 - 95.0) * 1.0 - 0.095)
    position = _update(position, partial_exit_changes(position, partial))
    cash.append(cash_change(position, final))
    trade = close(position, final, "take profit", ExitReason.TAKE_PROFIT)
    # sold 3 for 298, bought back 1 @ 95 + 2 @ 97 = 289
    assert trade.gross_pnl == pytest.approx(9.0)
    assert trade.exit_price == pytest.approx(289.0 / 3.0)
    assert trade.quantity == pytest.approx(3.0)
    assert trade.fees == pytest.approx(0.2 + 0.098 + 0.095 + 0.194)
    assert sum(cash) == pytest.approx(trade.pnl)


@pytest.mark.parametrize(
    ("side", "exit_action", "exit_price", "expected"),
    [
        (LONG, SELL, 95.0, -5.0 - 0.095),
        (LONG, SELL, 104.0, 4.0 - 0.104),
        (SHORT, BUY, 95.0, 5.0 - 0.095),
        (SHORT, BUY, 104.0, -4.0 - 0.104),
    ],
)
def test_cash_change_signs(
    side: PositionSide, exit_action: OrderAction, exit_price: float, expected: float
) -> None:
    entry = make_fill(FillKind.ENTRY, side.entry_action, 100.0, 1.0, fee=0.1)
    position = _open(entry, side, ACTIVE)
    final = make_fill(FillKind.EXIT, exit_action, exit_price, 1.0, fee=exit_price * 0.001)
    assert cash_change(position, entry) == pytest.approx(-0.1)
    assert cash_change(position, final) == pytest.approx(expected)
    trade = close(position, final, "stop loss", ExitReason.STOP_LOSS)
    assert trade.pnl == pytest.approx(expected - 0.1)


def test_closing_by_the_last_partial_rung_counts_it() -> None:
    entry = make_fill(FillKind.ENTRY, BUY, 100.0, 1.0)
    position = _open(entry, LONG, ACTIVE)
    partial = make_fill(FillKind.PARTIAL_EXIT, SELL, 103.0, 0.5, time=HOURS[1])
    position = _update(position, partial_exit_changes(position, partial))
    last = make_fill(FillKind.EXIT, SELL, 110.0, 0.5, time=HOURS[2])
    trade = close(position, last, PARTIALS_COMPLETE, ExitReason.PARTIALS_COMPLETE)
    assert trade.partial_exits == 2
    assert trade.gross_pnl == pytest.approx(1.5 + 5.0)
    assert trade.exit_price == pytest.approx(106.5)
    assert close(position, last, "signal", ExitReason.SIGNAL).partial_exits == 1


def test_trade_keeps_the_excursions_of_the_position() -> None:
    entry = make_fill(FillKind.ENTRY, BUY, 100.0, 1.0)
    position = _open(entry, LONG, ACTIVE)
    position = _update(position, PositionChanges(best_price=108.0, worst_price=97.0))
    trade = close(
        position,
        make_fill(FillKind.EXIT, SELL, 104.0, 1.0, time=HOURS[4]),
        "signal",
        ExitReason.SIGNAL,
    )
    assert (trade.best_price, trade.worst_price) == (108.0, 97.0)
