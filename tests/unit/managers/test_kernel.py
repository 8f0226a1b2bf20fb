"""The per-bar kernel on hand-built bars: order of operations and exact numbers."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import attrs
import pytest

from atb.config import config_from_assignments
from atb.domain.decisions import Action, Decision, PolicyBundle
from atb.domain.events import (
    CloseOnlyLatched,
    OrderFilled,
    OrderRejected,
    PoliciesSwapped,
    PositionClosed,
    StopMoved,
    TierChanged,
)
from atb.domain.fills import FillKind, Liquidity
from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.policies import PositionPolicies
from atb.domain.policy_changes import TrailingChanges
from atb.domain.protocols import Position
from atb.domain.sides import OrderAction, PositionSide
from atb.engines.backtest.runner import KernelRunner
from atb.managers.positions import ActiveTradeAdapter, LivePositionAdapter, PositionAdapter
from atb.managers.run_config import RunConfiguration
from atb.managers.working_position import PositionChanges, WorkingPosition
from tests.support.scripted import HOUR, T0, ScriptedDecider, bars_from_rows, run_kernel

P = TypeVar("P", bound=Position)

NO_COSTS = ["costs.taker_fee=0", "costs.maker_fee=0", "costs.slippage=0"]
FULL_SIZE = ["risk.max_position=1.0", "dynamic_risk=None", "risk.max_drawdown=None"]


def config(*assignments: str) -> RunConfiguration:
    return config_from_assignments(assignments)


def fills(runner: KernelRunner[ActiveTrade]) -> list[OrderFilled]:
    return [event for event in runner.events if isinstance(event, OrderFilled)]


def trades(runner: KernelRunner[ActiveTrade]) -> list[PositionClosed]:
    return [event for event in runner.events if isinstance(event, PositionClosed)]


LONG = Decision(Action.ENTER_LONG, size=1.0)
SHORT = Decision(Action.ENTER_SHORT, size=1.0)
EXIT = Decision(Action.EXIT, reason="signal exit")


def test_entry_fills_at_next_open_with_slippage_and_fee() -> None:
    bars = bars_from_rows([(100, 101, 99, 100), (100, 102, 99.5, 101), (101, 101, 100, 100.5)])
    runner = run_kernel(
        bars,
        ScriptedDecider({0: LONG}),
        ActiveTradeAdapter(),
        config=config("risk.max_position=0.5", "dynamic_risk=None"),
        cash=10_000.0,
    )
    (entry,) = fills(runner)
    fill = entry.fill
    assert fill.time == T0 + HOUR  # the open of bar 1, not the close of bar 0
    assert fill.price == pytest.approx(100.05)  # 0.05 % slippage against the buyer
    # 50 % of equity, fee included: qty = 0.5 × 10 000 / (100.05 × 1.001), rounded down.
    assert fill.quantity == pytest.approx(49.92508)
    assert fill.fee == pytest.approx(100.05 * 49.92508 * 0.001)
    assert fill.slippage == pytest.approx(0.05 * 49.92508)
    assert fill.liquidity is Liquidity.TAKER
    position = runner.state.position
    assert position is not None
    assert position.side is PositionSide.LONG
    # Equity at the last close: cash − fee + (100.5 − 100.05) × qty.
    assert runner.state.equity == pytest.approx(
        10_000.0 - fill.fee + (100.5 - 100.05) * fill.quantity
    )


def test_fill_timing_close_fills_at_the_decision_bar_close() -> None:
    bars = bars_from_rows([(100, 101, 99, 100), (100, 102, 99.5, 101)])
    runner = run_kernel(
        bars,
        ScriptedDecider({0: LONG}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE, "fills.timing=close"),
    )
    (entry,) = fills(runner)
    assert entry.fill.time == T0 + HOUR  # the close of bar 0
    assert entry.fill.price == pytest.approx(100.0)
    assert entry.fill.quantity == pytest.approx(100.0)


def test_gap_through_stop_fills_at_the_open_and_intrabar_stop_at_the_level() -> None:
    stop_entry = Decision(Action.ENTER_LONG, size=1.0, stop_loss_pct=0.02)
    gap = bars_from_rows([(100, 100, 100, 100), (100, 101, 99.5, 100), (95, 96, 94, 95)])
    runner = run_kernel(
        gap,
        ScriptedDecider({0: stop_entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE),
    )
    (closed,) = trades(runner)
    assert closed.trade.exit_reason == "stop loss"
    assert closed.trade.exit_price == pytest.approx(95.0)  # gapped: the open, not the 98 stop
    intrabar = bars_from_rows([(100, 100, 100, 100), (100, 101, 99.5, 100), (99, 99.5, 97, 98.5)])
    runner = run_kernel(
        intrabar,
        ScriptedDecider({0: stop_entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE),
    )
    (closed,) = trades(runner)
    assert closed.trade.exit_price == pytest.approx(98.0)
    assert closed.trade.gross_pnl == pytest.approx(-2.0 * 100.0)


def test_position_entered_at_open_is_live_for_the_rest_of_that_bar() -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0, stop_loss_pct=0.01)
    bars = bars_from_rows([(100, 100, 100, 100), (100, 100.5, 98, 99)])
    runner = run_kernel(
        bars,
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE),
    )
    (closed,) = trades(runner)
    assert closed.trade.entry_time == closed.trade.exit_time == T0 + HOUR
    assert closed.trade.exit_price == pytest.approx(99.0)


@pytest.mark.parametrize(
    ("policy", "reason", "ambiguous"),
    [
        ("pessimistic", "stop loss", 1),
        ("optimistic", "take profit", 1),
        ("nearest_extreme", "take profit", 1),  # high is 2 away, low is 3 away
        ("candle_direction", "stop loss", 1),  # bullish bar: open → low → high → close
    ],
)
def test_stop_and_target_in_one_bar_follow_the_intrabar_policy(
    policy: str, reason: str, ambiguous: int
) -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0, stop_loss_pct=0.02, take_profit_pct=0.02)
    bars = bars_from_rows([(100, 100, 100, 100), (100, 100, 100, 100), (100, 102, 97, 101)])
    runner = run_kernel(
        bars,
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE, f"fills.intrabar={policy}"),
    )
    (closed,) = trades(runner)
    assert closed.trade.exit_reason == reason
    assert runner.state.ambiguous_bars == ambiguous


def test_exit_and_reversal_orders() -> None:
    bars = bars_from_rows([(100, 100, 100, 100)] * 2 + [(110, 110, 110, 110)] * 3)
    runner = run_kernel(
        bars,
        ScriptedDecider({0: LONG, 2: SHORT, 3: EXIT}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE),
    )
    closed = trades(runner)
    assert [c.trade.side for c in closed] == [PositionSide.LONG, PositionSide.SHORT]
    assert closed[0].trade.exit_reason == "reverse: signal"
    assert closed[0].trade.gross_pnl == pytest.approx(100.0 * 10.0)
    # The short opens with the equity after the long's profit: 11 000 / 110.
    assert closed[1].trade.quantity == pytest.approx(100.0)
    assert closed[1].trade.exit_reason == "signal exit"
    assert runner.state.position is None
    assert runner.state.cash == pytest.approx(11_000.0)


def test_entry_in_the_same_direction_is_a_hold_and_exit_when_flat_does_nothing() -> None:
    bars = bars_from_rows([(100, 100, 100, 100)] * 4)
    runner = run_kernel(
        bars,
        ScriptedDecider({0: EXIT, 1: LONG, 2: LONG}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE),
    )
    assert len(fills(runner)) == 1
    assert runner.state.order_seq == 1


def test_trailing_stop_raised_at_close_is_not_tested_against_the_same_bar() -> None:
    """The bar that lifts the trailing stop also dips below the new stop: no exit on that bar;
    the next bar, which trades through the stop, exits."""
    entry = Decision(Action.ENTER_LONG, size=1.0, stop_loss_pct=0.05)
    rows = [
        (100, 100, 100, 100),
        (100, 100, 100, 100),
        # closes +3 %: trailing activates, stop → 103 × 0.995 = 102.485 → 102.48 (a long's
        # stop rounds down, against the trader); low 101 is below it.
        (100, 103.5, 101, 103),
        (103, 103.2, 102, 102.5),
    ]
    runner = run_kernel(
        bars_from_rows(rows),
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE, "trailing=on"),
    )
    moves = [event for event in runner.events if isinstance(event, StopMoved)]
    assert moves[0].time == T0 + 2 * HOUR
    assert moves[0].new_stop == pytest.approx(102.48)  # down to the 0.01 tick
    assert moves[0].cause == "trailing"
    (closed,) = trades(runner)
    assert closed.trade.exit_time == T0 + 3 * HOUR
    assert closed.trade.exit_reason == "trailing stop"
    assert closed.trade.exit_price == pytest.approx(102.48)


def test_breakeven_then_trailing_with_both_flags_sticky() -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0)
    rows = [
        (100, 100, 100, 100),
        (100, 100, 100, 100),
        (100, 101.5, 100, 101.2),
        (101, 103.5, 101, 103.2),
    ]
    runner = run_kernel(
        bars_from_rows(rows),
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(
            *NO_COSTS,
            *FULL_SIZE,
            "trailing.breakeven_trigger_pct=0.01",
            "trailing.activation_pct=0.03",
        ),
    )
    moves = [event for event in runner.events if isinstance(event, StopMoved)]
    assert [m.cause for m in moves] == ["breakeven", "trailing"]
    assert [m.new_stop for m in moves] == pytest.approx([100.1, round(103.2 * 0.995, 2)])
    position = runner.state.position
    assert position is not None
    assert position.breakeven_active
    assert position.trailing_active


def test_partial_ladder_several_targets_in_one_bar_then_ladder_completes() -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0)
    rows = [
        (100, 100, 100, 100),
        (100, 100, 100, 100),
        (100, 106.5, 100, 106),
        (106, 111, 106, 110),
    ]
    runner = run_kernel(
        bars_from_rows(rows),
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE, "partials=on"),
    )
    # The cap covers the fully scaled position: entry 1.0 / 1.5 of equity, then the +2 %
    # scale-in adds 25 % of the original before the +3 % and +6 % targets sell 25 % each.
    assert [f.fill.kind for f in fills(runner)] == [
        FillKind.ENTRY,
        FillKind.SCALE_IN,
        FillKind.PARTIAL_EXIT,
        FillKind.PARTIAL_EXIT,
        FillKind.EXIT,
    ]
    original = 66.66666
    quarter = 16.66666
    assert [f.fill.quantity for f in fills(runner)] == pytest.approx(
        [original, quarter, quarter, quarter, original + quarter - 2 * quarter]
    )
    partial_prices = [f.fill.price for f in fills(runner) if f.fill.kind is FillKind.PARTIAL_EXIT]
    # +3 % and +6 % targets both hit on bar 2 (in path order); +10 % closes on bar 3.
    assert partial_prices == [pytest.approx(103.0), pytest.approx(106.0)]
    (closed,) = trades(runner)
    assert closed.trade.exit_reason == "partial exits complete"
    assert closed.trade.partial_exits == 3
    assert closed.trade.exit_time == T0 + 3 * HOUR


def test_scale_ins_capped_by_position_size_then_no_scale_in_after_partials() -> None:
    entry = Decision(Action.ENTER_LONG, size=0.5)
    rows = [
        (100, 100, 100, 100),
        (100, 100, 100, 100),
        (100, 102.5, 100, 102.4),
        (102.4, 105.5, 102, 104),
    ]
    runner = run_kernel(
        bars_from_rows(rows),
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE, "partials=on"),
    )
    scale_ins = [f.fill for f in fills(runner) if f.fill.kind is FillKind.SCALE_IN]
    assert [s.price for s in scale_ins] == [pytest.approx(102.0)]
    assert scale_ins[0].quantity == pytest.approx(0.25 * 50.0)
    exits = [f.fill for f in fills(runner) if f.fill.kind is FillKind.PARTIAL_EXIT]
    assert [e.price for e in exits] == [pytest.approx(103.0)]
    position = runner.state.position
    assert position is not None
    # the +5 % scale-in threshold was crossed on bar 3, after the first partial exit: ignored.
    assert position.scale_ins_taken == 1
    assert position.entry_price == pytest.approx((100 * 50 + 102 * 12.5) / 62.5)
    assert position.quantity == pytest.approx(62.5 - 0.25 * 50.0)


def test_dynamic_risk_tier_scales_the_next_entry_and_close_only_latches() -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0)
    rows = [
        (100, 100, 100, 100),
        (100, 100, 100, 100),
        (94, 94, 94, 94),
        (94, 94, 94, 94),
        (94, 94, 94, 94),
        (70, 70, 70, 70),
        (70, 70, 70, 70),
    ]
    runner = run_kernel(
        bars_from_rows(rows),
        ScriptedDecider({0: entry, 2: EXIT, 3: entry, 4: EXIT, 5: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, "risk.max_position=1.0"),
    )
    tiers = [e for e in runner.events if isinstance(e, TierChanged)]
    assert (tiers[0].new_tier, tiers[0].factor) == (1, 0.8)
    entries = [f.fill for f in fills(runner) if f.fill.kind is FillKind.ENTRY]
    # second entry at 94 with 80 % of equity 9 400
    assert entries[1].quantity == pytest.approx(0.8 * 9_400 / 94)
    latched = [e for e in runner.events if isinstance(e, CloseOnlyLatched)]
    assert len(latched) == 1
    assert runner.state.close_only
    rejected = [e for e in runner.events if isinstance(e, OrderRejected)]
    assert rejected[-1].reason == "close-only: max drawdown breached"


def test_policy_bundle_on_hold_swaps_policies_at_next_open() -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0)
    swap = Decision(Action.HOLD, policies=PolicyBundle(trailing=TrailingChanges(distance_pct=0.02)))
    bars = bars_from_rows([(100, 100, 100, 100)] * 4)
    runner = run_kernel(
        bars,
        ScriptedDecider({0: entry, 2: swap}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE),
    )
    swapped = [e for e in runner.events if isinstance(e, PoliciesSwapped)]
    assert [e.time for e in swapped] == [T0 + 3 * HOUR]
    position = runner.state.position
    assert position is not None
    assert position.policies.trailing is not None
    assert position.policies.trailing.distance_pct == 0.02


def test_time_exit_closes_at_next_open_and_blocks_same_bar_entry() -> None:
    entry = Decision(Action.ENTER_LONG, size=1.0)
    bars = bars_from_rows([(100, 100, 100, 100)] * 6)
    runner = run_kernel(
        bars,
        ScriptedDecider({0: entry, 3: entry}),
        ActiveTradeAdapter(),
        config=config(*NO_COSTS, *FULL_SIZE, "time_exits.max_holding=2h"),
    )
    closed = trades(runner)
    assert closed[0].trade.exit_reason == "max holding time"
    assert closed[0].trade.entry_time == T0 + HOUR
    assert closed[0].trade.exit_time == T0 + 3 * HOUR


def test_decider_sees_read_only_position_and_orders_have_unique_ids() -> None:
    decider = ScriptedDecider({0: LONG, 2: EXIT})
    bars = bars_from_rows([(100, 100, 100, 100)] * 4)
    runner = run_kernel(bars, decider, ActiveTradeAdapter(), config=config(*NO_COSTS, *FULL_SIZE))
    assert decider.seen_positions[0] is None
    assert decider.seen_positions[1] is not None
    ids = [f.fill.order_id for f in fills(runner)]
    assert len(ids) == len(set(ids)) == 2
    assert all(i.startswith("bt-o") for i in ids)
    assert [f.fill.action for f in fills(runner)] == [OrderAction.BUY, OrderAction.SELL]


def test_initial_cash_must_be_positive() -> None:
    from atb.engines.driver import BarDriver
    from tests.support.scripted import BTC

    kernel = BarDriver(
        config=RunConfiguration.default(),
        instrument=BTC,
        positions=ActiveTradeAdapter(),
        decider=ScriptedDecider({}),
        bar_interval=HOUR,
    )
    with pytest.raises(ValueError, match=r"initial cash must be > 0, got 0\.0"):
        kernel.initial_state(0.0)


def _check_freeze(adapter: PositionAdapter[P]) -> None:
    from tests.unit.domain.test_models import make_fill

    working: WorkingPosition[P] = WorkingPosition.opened(
        position_id="p1",
        symbol="BTCUSDT",
        side=PositionSide.LONG,
        fill=make_fill(),
        stop_loss=95.0,
        take_profit=None,
        policies=PositionPolicies(),
    )
    before = working.freeze_with(adapter)
    assert working.freeze_with(adapter) is before  # built once per change
    working.apply(PositionChanges(stop_loss=97.5, trailing_active=True))
    moved = working.freeze_with(adapter)
    assert type(moved) is type(before)
    assert (moved.stop_loss, moved.trailing_active) == (97.5, True)
    assert (before.stop_loss, before.trailing_active) == (95.0, False)
    assert moved.legs == before.legs
    working.apply(PositionChanges(quantity=-1.0))
    with pytest.raises(ValueError, match=r"^quantity must be finite and > 0, got -1\.0"):
        working.freeze_with(adapter)
    working.apply(PositionChanges(quantity=1.0, stop_loss=float("nan")))
    with pytest.raises(ValueError, match=r"^stop_loss must be finite and > 0, got nan"):
        working.freeze_with(adapter)


def test_a_working_position_is_validated_when_frozen() -> None:
    _check_freeze(ActiveTradeAdapter())
    _check_freeze(LivePositionAdapter())


def test_a_thawed_live_position_keeps_its_exchange_ids() -> None:
    from tests.unit.domain.test_models import make_fill

    fill = make_fill()
    live = LivePosition(
        position_id="p1",
        symbol="BTCUSDT",
        side=PositionSide.LONG,
        entry_price=fill.price,
        first_entry_price=fill.price,
        entry_time=fill.time,
        quantity=fill.quantity,
        original_quantity=fill.quantity,
        best_price=fill.price,
        worst_price=fill.price,
        legs=(fill,),
        client_order_id="entry-1",
        exchange_order_ids=("x-9",),
        store_id=4,
    )
    working = WorkingPosition.thaw(live)
    assert working.freeze_with(LivePositionAdapter()) is live
    working.move_excursions(fill.price * 1.01, fill.price)
    moved = working.freeze_with(LivePositionAdapter())
    assert moved is not live
    assert (moved.client_order_id, moved.exchange_order_ids, moved.store_id) == (
        "entry-1",
        ("x-9",),
        4,
    )
    assert moved.best_price == fill.price * 1.01


def test_partial_rung_below_a_lot_is_consumed_not_filled() -> None:
    """A 1 % rung of a 50-lot position is half a lot: rejected and consumed, no zero fill."""
    from tests.support.scripted import BTC as _BTC

    coarse = attrs.evolve(_BTC, lot_step=1.0, min_notional=0.0)
    entry = Decision(Action.ENTER_LONG, size=0.5)
    rows = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 103.5, 100, 103)]
    runner = run_kernel(
        bars_from_rows(rows),
        ScriptedDecider({0: entry}),
        ActiveTradeAdapter(),
        config=config(
            *NO_COSTS,
            *FULL_SIZE,
            "partials.exit_targets=[[0.01, 0.01], [0.03, 0.5], [0.2, 0.49]]",
            "partials.scale_in_thresholds=[]",
        ),
        instrument=coarse,
    )
    rejected = [e.reason for e in runner.events if isinstance(e, OrderRejected)]
    assert rejected == ["partial exit below the lot or minimum notional"]
    exits = [f.fill for f in fills(runner) if f.fill.kind is FillKind.PARTIAL_EXIT]
    assert [(e.price, e.quantity) for e in exits] == [(103.0, 25.0)]
    position = runner.state.position
    assert position is not None
    assert position.partial_exits_taken == 2
    assert position.quantity == 25.0


def test_taker_slippage_is_rounded_against_the_trader() -> None:
    bars = bars_from_rows([(100, 100, 100, 100), (100.004, 101, 99, 100), (100, 101, 99, 100)])
    runner = run_kernel(
        bars,
        ScriptedDecider({0: LONG, 1: EXIT}),
        ActiveTradeAdapter(),
        config=config("costs.slippage=0.00001", *FULL_SIZE),
    )
    buy, sell = (f.fill for f in fills(runner))
    assert buy.price == 100.01  # 100.004 × 1.00001 = 100.005, rounded up
    assert sell.price == 99.99  # 100 × 0.99999 = 99.999, rounded down


def test_detail_candles_resolve_the_path_instead_of_the_intrabar_policy() -> None:
    """Stop and target in one hourly bar: pessimistic says stop; the minute candles show the
    target was reached first, so the target fills, at its minute, and the bar is not
    ambiguous. A detail candle that is itself ambiguous still counts."""
    from atb.domain.bars import Bar
    from atb.engines.driver import BarDriver
    from tests.support.scripted import BTC as _BTC

    entry = Decision(Action.ENTER_LONG, size=1.0, stop_loss_pct=0.02, take_profit_pct=0.02)
    bars = bars_from_rows([(100, 100, 100, 100), (100, 100, 100, 100), (100, 102.5, 97, 101)])
    minute = timedelta(minutes=1)
    hour = bars[2].time
    detail = [
        Bar(hour, 100, 102.5, 99.5, 102, 1.0),  # the target (102) first …
        Bar(hour + minute, 102, 102, 97, 101, 1.0),  # … the stop's low only later
    ]
    kernel = BarDriver(
        config=config(*NO_COSTS, *FULL_SIZE),
        instrument=_BTC,
        positions=ActiveTradeAdapter(),
        decider=ScriptedDecider({0: entry}),
        bar_interval=HOUR,
    )
    state = kernel.initial_state(10_000.0)
    state = kernel.step(state, bars[0], 0).state
    state = kernel.step(state, bars[1], 1).state
    coarse = kernel.step(state, bars[2], 2)
    fine = kernel.step(state, bars[2], 2, detail=detail)
    (coarse_close,) = [e for e in coarse.events if isinstance(e, PositionClosed)]
    (fine_close,) = [e for e in fine.events if isinstance(e, PositionClosed)]
    assert coarse_close.trade.exit_reason == "stop loss"
    assert coarse.ambiguous
    assert fine_close.trade.exit_reason == "take profit"
    assert fine_close.trade.exit_price == 102.0
    assert fine_close.trade.exit_time == hour
    assert not fine.ambiguous
    assert fine.state.ambiguous_bars == 0
    # One minute that holds both levels is still ambiguous.
    both = [Bar(hour, 100, 102.5, 97, 101, 1.0)]
    assert kernel.step(state, bars[2], 2, detail=both).ambiguous
