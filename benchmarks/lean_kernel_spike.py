"""A design spike (ADR 0022): what one eventful bar costs when the kernel's state is lean.

Not part of atb. It runs the peer benchmark's rules (`benchmarks.same_rules`: sma_cross, long
only, market orders at the next open, a 2 % stop and a 4 % target, the pessimistic path, no
costs) through a step shaped like atb's — fill the pending market orders at the open, walk the
resting levels, review the position, mark equity and its peak, ask the strategy, plan orders —
with atb's own strategy object, `Bar`s, cost calculator and instrument rounding, but with the
run's state in one mutable object, the position as mutable plain fields, and events, fills and
trades kept as tuples, from which atb's validated `KernelEvent`, `Fill` and `Trade` objects are
built once at the end. Its trades are asserted identical to atb's, then it reports the cost per
stepped bar and per built result, to size the kernel redesign ADR 0022 describes. Its rows hold
enum members, so the cyclic collector keeps tracking them; ADR 0022 also reports what rows of
plain values, with no objects built, gave.

    .venv/bin/python -m benchmarks.lean_kernel_spike              # 1,000,000 bars
    .venv/bin/python -m benchmarks.lean_kernel_spike --bars 100000
"""

from __future__ import annotations

import argparse
import time
from typing import cast

import numpy as np

from atb.config import config_from_assignments
from atb.data.candles import ValidatedCandles
from atb.data.instruments import resolve_instrument
from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decision
from atb.domain.events import (
    DecisionMade,
    KernelEvent,
    OrderFilled,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
)
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.instruments import Instrument
from atb.domain.intents import ExitReason, OrderIntent
from atb.domain.models import Trade
from atb.domain.sides import OrderAction, PositionSide
from atb.domain.timestamps import from_ns
from atb.managers.costs import CostCalculator
from atb.strategies.registry import create_strategy
from benchmarks.same_rules import NO_COSTS, STOP, TARGET, Trades, run_atb, same_trades
from benchmarks.synthetic import synthetic_minutes

_FillRow = tuple[int, OrderAction, float, float, float, float, str, FillKind, Liquidity, str]
"""Time (ns), action, price, quantity, fee, slippage, reason, kind, liquidity, order id."""

_TradeRow = tuple[
    str,
    int,
    int,
    float,
    float,
    float,
    float,
    float,
    str,
    tuple[_FillRow, ...],
    float,
    float,
    ExitReason,
]
"""Id, entry and exit time (ns), entry and exit price, quantity, PnL, fees, reason, legs, best
and worst price, why it closed."""

Row = tuple[object, ...]
"""An event as a tuple: its kind, its time (ns), then its fields."""

_CLOSE, _OPEN_LONG = 0, 1


class _Position:
    """The open position as mutable plain fields; satisfies `PositionState` (what the strategy
    and the managers read), as the design allows a mutable class to."""

    __slots__ = (
        "best_price",
        "breakeven_active",
        "entry_ns",
        "entry_price",
        "entry_time",
        "fees",
        "first_entry_price",
        "legs",
        "original_quantity",
        "partial_exits_taken",
        "position_id",
        "quantity",
        "scale_ins_taken",
        "side",
        "stop_loss",
        "symbol",
        "take_profit",
        "trailing_active",
        "worst_price",
    )

    def __init__(self, position_id: str, entry_ns: int, price: float, quantity: float) -> None:
        self.position_id = position_id
        self.symbol = "BTCUSDT"
        self.side = PositionSide.LONG
        self.entry_ns = entry_ns
        self.entry_time = from_ns(entry_ns)
        self.entry_price = self.first_entry_price = price
        self.quantity = self.original_quantity = quantity
        self.best_price = self.worst_price = price
        self.stop_loss: float | None = None
        self.take_profit: float | None = None
        self.trailing_active = self.breakeven_active = False
        self.partial_exits_taken = self.scale_ins_taken = 0
        self.fees = 0.0
        self.legs: list[_FillRow] = []


_Order = tuple[int, str, float, float | None, float | None, str]


class _Run:
    """The run's whole state, changed in place bar after bar."""

    def __init__(self, cash: float, costs: CostCalculator, instrument: Instrument) -> None:
        self.cash = cash
        self.peak = cash
        self.order_seq = 0
        self.position_seq = 0
        self.pending: list[_Order] = []
        self.position: _Position | None = None
        self.events: list[Row] = []
        self.trades: list[_TradeRow] = []
        self.costs = costs
        self.instrument = instrument

    def next_order_id(self) -> str:
        self.order_seq += 1
        return f"bt-o{self.order_seq:07d}"

    def fill_market(self, order: _Order, bar: Bar, time_ns: int) -> None:
        intent, order_id, fraction, stop_pct, target_pct, reason = order
        position = self.position
        if (intent == _CLOSE) == (position is None):
            self.events.append(("rejected", time_ns, order_id))
            return
        if position is not None:
            price = self.costs.taker_price(bar.open, OrderAction.SELL, bar.low, bar.high)
            order_id = self.next_order_id()
            self.close(
                position, price, time_ns, order_id=order_id, reason=reason, exit=ExitReason.SIGNAL
            )
            return
        price = self.costs.taker_price(bar.open, OrderAction.BUY, bar.low, bar.high)
        quantity = self.costs.entry_quantity(fraction, self.cash, price)
        if self.instrument.order_problem(price, quantity) is not None:
            self.events.append(("rejected", time_ns, order_id))
            return
        fee = price * quantity * self.costs.costs.taker_fee
        self.cash -= fee
        self.position_seq += 1
        opened = _Position(f"bt-p{self.position_seq:06d}", time_ns, price, quantity)
        long = PositionSide.LONG
        if stop_pct is not None:
            opened.stop_loss = self.instrument.round_stop(price * (1.0 - stop_pct), long)
        if target_pct is not None:
            opened.take_profit = self.instrument.round_target(price * (1.0 + target_pct), long)
        opened.fees = fee
        fill: _FillRow = (
            time_ns,
            OrderAction.BUY,
            price,
            quantity,
            fee,
            0.0,
            reason,
            FillKind.ENTRY,
            Liquidity.TAKER,
            order_id,
        )
        opened.legs.append(fill)
        self.events.append(("filled", time_ns, opened.position_id, fill))
        self.position = opened

    def close(
        self,
        position: _Position,
        price: float,
        time_ns: int,
        *,
        order_id: str,
        reason: str,
        exit: ExitReason,
        liquidity: Liquidity = Liquidity.TAKER,
    ) -> None:
        quantity = position.quantity
        fee = price * quantity * self.costs.fee_rate(liquidity)
        fill: _FillRow = (
            time_ns,
            OrderAction.SELL,
            price,
            quantity,
            fee,
            0.0,
            reason,
            FillKind.EXIT,
            liquidity,
            order_id,
        )
        self.events.append(("filled", time_ns, position.position_id, fill))
        pnl = (price - position.entry_price) * quantity
        self.cash += pnl - fee
        trade: _TradeRow = (
            position.position_id,
            position.entry_ns,
            time_ns,
            position.entry_price,
            price,
            quantity,
            pnl,
            position.fees + fee,
            reason,
            (*position.legs, fill),
            position.best_price,
            position.worst_price,
            exit,
        )
        self.events.append(("closed", time_ns, trade))
        self.trades.append(trade)
        self.position = None

    def walk_levels(self, bar: Bar, time_ns: int) -> None:
        """The pessimistic path of a long: the low before the high."""
        position = self.position
        if position is None:
            return
        stop, target = position.stop_loss, position.take_profit
        if stop is not None and bar.low <= stop:
            price = self.costs.taker_price(min(bar.open, stop), OrderAction.SELL, bar.low, bar.high)
            order_id = self.next_order_id()
            reason, exit = "stop loss", ExitReason.STOP_LOSS
            self.close(position, price, time_ns, order_id=order_id, reason=reason, exit=exit)
        elif target is not None and bar.high >= target:
            price = max(bar.open, target)
            order_id = self.next_order_id()
            reason, exit = "take profit", ExitReason.TAKE_PROFIT
            maker = Liquidity.MAKER
            self.close(
                position,
                price,
                time_ns,
                order_id=order_id,
                reason=reason,
                exit=exit,
                liquidity=maker,
            )

    def plan(self, decision: Decision, time_ns: int) -> None:
        action = decision.action
        if action is Action.HOLD:
            return
        self.events.append(("decision", time_ns, action.value, decision.size, decision.reason))
        flat = self.position is None
        if action is Action.EXIT and not flat:
            order: _Order = (_CLOSE, self.next_order_id(), 0.0, None, None, decision.reason)
        elif action is Action.ENTER_LONG and flat:
            fraction = min(decision.size or 0.0, 1.0)
            stop, target = decision.stop_loss_pct, decision.take_profit_pct
            order = (_OPEN_LONG, self.next_order_id(), fraction, stop, target, decision.reason)
        else:
            return
        self.pending.append(order)
        intent = OrderIntent.CLOSE if order[0] == _CLOSE else OrderIntent.OPEN_LONG
        self.events.append(("placed", time_ns, order[1], intent, decision.reason))


def result_objects(events: list[Row]) -> tuple[list[KernelEvent], list[Trade]]:
    """atb's event, fill and trade objects from the journal's rows, validated as always: what a
    result built from rows pays at the end of the run."""
    built: list[KernelEvent] = []
    trades: list[Trade] = []
    fills: dict[tuple[str, str], Fill] = {}  # (order id, kind) → the one object of that fill

    def fill_of(row: _FillRow) -> Fill:
        key = (row[9], row[7].value)
        made = fills.get(key)
        if made is None:
            made = Fill(
                time=from_ns(row[0]),
                action=row[1],
                price=row[2],
                quantity=row[3],
                fee=row[4],
                slippage=row[5],
                reason=row[6],
                kind=row[7],
                liquidity=row[8],
                order_id=row[9],
            )
            fills[key] = made
        return made

    for event in events:
        kind, time = event[0], from_ns(int(str(event[1])))
        if kind == "filled":
            fill = fill_of(cast("_FillRow", event[3]))
            built.append(OrderFilled(time=time, position_id=str(event[2]), fill=fill))
        elif kind == "closed":
            row = cast("_TradeRow", event[2])
            legs = tuple(fill_of(leg) for leg in row[9])
            trade = Trade(
                trade_id=row[0],
                symbol="BTCUSDT",
                side=PositionSide.LONG,
                entry_time=legs[0].time,
                exit_time=legs[-1].time,
                entry_price=row[3],
                exit_price=row[4],
                quantity=row[5],
                gross_pnl=row[6],
                fees=row[7],
                slippage=0.0,
                exit_reason=row[8],
                legs=legs,
                best_price=row[10],
                worst_price=row[11],
                exit=row[12],
            )
            trades.append(trade)
            built.append(PositionClosed(time=time, trade=trade))
        elif kind == "decision":
            size = event[3]
            built.append(
                DecisionMade(
                    time=time,
                    action=str(event[2]),
                    size=size if isinstance(size, float) else None,
                    reason=str(event[4]),
                )
            )
        elif kind == "placed":
            intent = cast("OrderIntent", event[3])
            built.append(
                OrderPlaced(time=time, order_id=str(event[2]), intent=intent, reason=str(event[4]))
            )
        else:
            built.append(OrderRejected(time=time, order_id=str(event[2]), reason="refused"))
    return built, trades


def run_lean(candles: ValidatedCandles, fast: int, slow: int) -> tuple[Trades, float, float, int]:
    """The trades (bar numbers and prices, from the `Trade` objects built at the end), the
    loop's seconds, the seconds building the result's objects, and the stepped bars."""
    strategy = create_strategy(
        "sma_cross", {"fast": fast, "slow": slow, "stop_loss": STOP, "take_profit": TARGET}
    )
    frame = candles.frame
    strategy.prepare(frame)
    signals = strategy.signal_mask().tolist()
    config = config_from_assignments(NO_COSTS)
    instrument = resolve_instrument("BTCUSDT", frame=frame).instrument
    run = _Run(1e12, CostCalculator(config.costs, instrument), instrument)
    times = candles.index.as_unit("ns").asi8
    opens, highs, lows, closes, volumes = (
        frame[column].tolist() for column in ("open", "high", "low", "close", "volume")
    )
    equity = np.empty(len(closes))
    steps = 0
    started = time.perf_counter()
    for row in range(len(closes)):
        position = run.position
        if not run.pending and not signals[row]:
            low, high = lows[row], highs[row]
            if position is None:
                equity[row] = run.cash
                continue
            stop, target = position.stop_loss, position.take_profit
            if not ((stop is not None and low <= stop) or (target is not None and high >= target)):
                position.best_price = max(position.best_price, high)
                position.worst_price = min(position.worst_price, low)
                equity[row] = run.cash + (closes[row] - position.entry_price) * position.quantity
                continue
        steps += 1
        time_ns = int(times[row])
        bar = Bar(from_ns(time_ns), opens[row], highs[row], lows[row], closes[row], volumes[row])
        pending, run.pending = run.pending, []
        for order in pending:
            run.fill_market(order, bar, time_ns)
        run.walk_levels(bar, time_ns)
        position = run.position
        if position is not None:
            position.best_price = max(position.best_price, bar.high)
            position.worst_price = min(position.worst_price, bar.low)
        marked = run.cash
        if position is not None:
            marked += (bar.close - position.entry_price) * position.quantity
        run.peak = max(run.peak, marked)
        run.plan(strategy.decide(row, bar, position), time_ns)
        equity[row] = marked
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    _events, closed = result_objects(run.events)
    building = time.perf_counter() - started
    entries = times.searchsorted([trade[1] for trade in run.trades]).tolist()
    exits = times.searchsorted([trade[2] for trade in run.trades]).tolist()
    trades = [
        (entry, exit, trade.entry_price, trade.exit_price)
        for entry, exit, trade in zip(entries, exits, closed, strict=True)
    ]
    return trades, seconds, building, steps


def main() -> None:
    """Run the spec and heavy cases and compare with atb."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000, help="synthetic 1m bars")
    args = parser.parse_args()
    candles = synthetic_minutes(args.bars)
    for name, fast, slow in (("spec: sma 10/30", 10, 30), ("heavy: sma 2/3", 2, 3)):
        started = time.perf_counter()
        ours = run_atb(candles, fast, slow)
        atb_seconds = time.perf_counter() - started
        run_lean(candles, fast, slow)  # warm
        lean, seconds, building, steps = run_lean(candles, fast, slow)
        if not same_trades(lean, ours):
            raise AssertionError(f"{name}: the spike's trades differ from atb's")
        total = seconds + building
        print(
            f"{name:<16} {len(ours):>7,} trades | atb {args.bars / atb_seconds:>10,.0f} bars/s"
            f" | lean {args.bars / total:>10,.0f} bars/s: {steps:,} steps, "
            f"{seconds / steps * 1e6:.1f} µs each (quiet bars included) + "
            f"{building / steps * 1e6:.1f} µs each for the result's objects"
        )


if __name__ == "__main__":
    main()
