"""Hypothesis invariants of the kernel over random bars, decisions and configurations:
fills stay inside their bar, stops only tighten, quantities stay positive and exits never
exceed the position, cash reconciles with fees and realized PnL, and runs are deterministic and
identical for both position classes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from atb.config import config_from_assignments
from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decision
from atb.domain.events import OrderFilled, PositionClosed, StopMoved
from atb.domain.fills import FillKind
from atb.domain.pnl import unrealized_pnl
from atb.domain.sides import PositionSide
from atb.managers.positions import ActiveTradeAdapter, LivePositionAdapter
from atb.managers.run_config import RunConfiguration
from tests.support.scripted import HOUR, T0, ScriptedDecider, run_kernel


@st.composite
def bar_series(draw: st.DrawFn) -> list[Bar]:
    count = draw(st.integers(min_value=2, max_value=40))
    price = 100.0
    bars: list[Bar] = []
    for index in range(count):
        gap = draw(st.floats(min_value=-0.04, max_value=0.04))
        move = draw(st.floats(min_value=-0.06, max_value=0.06))
        up = draw(st.floats(min_value=0, max_value=0.04))
        down = draw(st.floats(min_value=0, max_value=0.04))
        open_ = round(price * (1 + gap), 2)
        close = round(open_ * (1 + move), 2)
        high = round(max(open_, close) * (1 + up), 2)
        low = round(min(open_, close) * (1 - down), 2)
        bars.append(Bar(T0 + index * HOUR, open_, high, low, close, 1.0))
        price = close
    return bars


decisions = st.one_of(
    st.builds(
        Decision,
        st.sampled_from([Action.ENTER_LONG, Action.ENTER_SHORT]),
        size=st.floats(min_value=0.05, max_value=1.0),
        stop_loss_pct=st.one_of(st.none(), st.floats(min_value=0.005, max_value=0.05)),
        take_profit_pct=st.one_of(st.none(), st.floats(min_value=0.005, max_value=0.08)),
    ),
    st.just(Decision(Action.EXIT)),
)

configs = st.builds(
    lambda intrabar, timing, trailing, partials, cost, cap: config_from_assignments(
        [
            f"fills.intrabar={intrabar}",
            f"fills.timing={timing}",
            f"trailing={'on' if trailing else 'None'}",
            f"partials={'on' if partials else 'None'}",
            f"costs.slippage={cost}",
            f"costs.taker_fee={cost}",
            f"risk.max_position={cap}",
        ]
    ),
    st.sampled_from(["pessimistic", "optimistic", "nearest_extreme", "candle_direction"]),
    st.sampled_from(["next_open", "close"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.001]),
    st.sampled_from([0.1, 1.0]),
)


def _scenario(draw: Any) -> tuple[list[Bar], dict[int, Decision], RunConfiguration]:
    bars = draw(bar_series())
    script = draw(st.dictionaries(st.integers(0, len(bars) - 1), decisions, max_size=10))
    return bars, script, draw(configs)


@given(data=st.data())
def test_kernel_invariants(data: st.DataObject) -> None:
    bars, script, config = _scenario(data.draw)
    runner = run_kernel(bars, ScriptedDecider(script), ActiveTradeAdapter(), config=config)
    by_time = {bar.time: bar for bar in bars}
    fees = 0.0
    realized = 0.0
    for event in runner.events:
        if isinstance(event, OrderFilled):
            bar = by_time[event.time]
            fill = event.fill
            # Inside the bar's range (a gap fill is at the open, which is inside too).
            assert bar.low <= fill.price <= bar.high
            assert fill.quantity > 0
            fees += fill.fee
        elif isinstance(event, StopMoved):
            assert event.new_stop is not None
            if event.old_stop is not None:
                position_side = _side_of(runner.events, event.position_id)
                if position_side is PositionSide.LONG:
                    assert event.new_stop > event.old_stop
                else:
                    assert event.new_stop < event.old_stop
        elif isinstance(event, PositionClosed):
            trade = event.trade
            bought = sum(leg.quantity for leg in trade.legs if leg.kind.increases)
            sold = sum(leg.quantity for leg in trade.legs if not leg.kind.increases)
            assert abs(bought - sold) <= 1e-9 * bought
            assert trade.legs[-1].kind in (FillKind.EXIT,)
            realized += trade.gross_pnl
    state = runner.state
    position = state.position
    if position is not None:
        realized += position.realized_pnl
        assert position.quantity > 0
    # Cash moves only by realized PnL and fees.
    assert abs(state.cash - (10_000.0 - fees + realized)) <= 1e-9 * 10_000.0
    mark = bars[-1].close
    expected_equity = state.cash + (
        0.0
        if position is None
        else unrealized_pnl(position.side, position.entry_price, position.quantity, mark)
    )
    assert abs(state.equity - expected_equity) <= 1e-9 * max(1.0, abs(expected_equity))


def _side_of(events: list[Any], position_id: str) -> PositionSide:
    for event in events:
        if isinstance(event, OrderFilled) and event.position_id == position_id:
            return PositionSide.LONG if event.fill.action.sign > 0 else PositionSide.SHORT
    raise AssertionError(f"no fill for {position_id}")


@given(data=st.data())
def test_kernel_is_deterministic_and_identical_for_both_position_classes(
    data: st.DataObject,
) -> None:
    bars, script, config = _scenario(data.draw)
    first = run_kernel(bars, ScriptedDecider(script), ActiveTradeAdapter(), config=config)
    again = run_kernel(bars, ScriptedDecider(script), ActiveTradeAdapter(), config=config)
    live = run_kernel(bars, ScriptedDecider(script), LivePositionAdapter(), config=config)
    assert first.events == again.events
    assert first.state == again.state
    assert live.events == first.events
    assert (live.state.cash, live.state.equity) == (first.state.cash, first.state.equity)
    assert first.metrics() == live.metrics()
