"""A small, hand-checkable `BacktestResult` for reporting tests (real objects, no mocks).

The run: 4-hour bars from Tuesday 2024-01-30 00:00 UTC (so it crosses into February), an
initial balance of 10,000, and three positions whose numbers are exact in binary floating point:

- `p1` long: entry 1.0 @ 100 (bar 2), scale-in 0.5 @ 103 (bar 4, average entry 101), partial
  exit 0.5 @ 105 (bar 6), exit 1.0 @ 106 (bar 9, `take_profit`): gross 7.0, fees 0.375,
  slippage 0.75, net 6.625;
- `p2` short: entry 2.0 @ 104 (bar 14), exit 2.0 @ 106 (bar 16, `stop_loss`): gross −4.0, fees
  0.5, slippage 0.5, net −4.5;
- `p3` long, still open at the end: entry 1.0 @ 102 (bar 30), fee 0.125, marked at the last
  close.

Events: every fill, both closes, two tier changes (0 → 1 at bar 17, 1 → 0 at bar 25) and two
stop moves of `p1` (breakeven at bar 7, trailing at bar 8). Equity is replayed from the fills
with the engine's margin-style accounting; metrics come from the real `PerformanceTracker`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from atb.config import config_to_dict
from atb.data.instruments import KNOWN_INSTRUMENTS
from atb.domain.events import (
    KernelEvent,
    OrderFilled,
    PositionClosed,
    StopMoved,
    TierChanged,
)
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.intents import ExitReason
from atb.domain.models import ActiveTrade, Trade
from atb.domain.pnl import unrealized_pnl
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.performance import PerformanceTracker
from atb.managers.run_config import RunConfiguration
from atb.results import (
    AmbiguityInfo,
    BacktestResult,
    DataInfo,
    EquityCurve,
    InstrumentInfo,
    OpenPosition,
    RunInfo,
    StrategyInfo,
)

T0 = datetime(2024, 1, 30, tzinfo=UTC)
"""Open time of the first bar."""
BAR = timedelta(hours=4)
"""Bar interval."""
INITIAL_BALANCE = 10_000.0
CREATED_AT = datetime(2025, 1, 1, 12, 30, tzinfo=UTC)
"""`run.created_at` of the built result."""
DEFAULT_BARS = 36


def bar_time(index: int) -> datetime:
    """Open time of bar `index`."""
    return T0 + index * BAR


def closes(n_bars: int) -> list[float]:
    """Deterministic closes around 100–106, two decimals."""
    return [round(103.0 + 3.0 * math.sin(i / 3.0), 2) for i in range(n_bars)]


def _fill(
    bar: int,
    kind: FillKind,
    action: OrderAction,
    price: float,
    quantity: float,
    *,
    fee: float,
    slippage: float,
    reason: str,
    order: int,
) -> Fill:
    return Fill(
        time=bar_time(bar),
        action=action,
        price=price,
        quantity=quantity,
        fee=fee,
        slippage=slippage,
        reason=reason,
        kind=kind,
        liquidity=Liquidity.TAKER,
        order_id=f"bt-o{order:07d}",
    )


BUY, SELL = OrderAction.BUY, OrderAction.SELL
P1_LEGS = (
    _fill(2, FillKind.ENTRY, BUY, 100.0, 1.0, fee=0.125, slippage=0.25, reason="signal", order=1),
    _fill(
        4,
        FillKind.SCALE_IN,
        BUY,
        103.0,
        0.5,
        fee=0.0625,
        slippage=0.125,
        reason="scale-in 1",
        order=2,
    ),
    _fill(
        6,
        FillKind.PARTIAL_EXIT,
        SELL,
        105.0,
        0.5,
        fee=0.0625,
        slippage=0.125,
        reason="partial exit 1",
        order=3,
    ),
    _fill(
        9, FillKind.EXIT, SELL, 106.0, 1.0, fee=0.125, slippage=0.25, reason="take_profit", order=4
    ),
)
P2_LEGS = (
    _fill(14, FillKind.ENTRY, SELL, 104.0, 2.0, fee=0.25, slippage=0.25, reason="signal", order=5),
    _fill(16, FillKind.EXIT, BUY, 106.0, 2.0, fee=0.25, slippage=0.25, reason="stop_loss", order=6),
)
P3_LEGS = (
    _fill(30, FillKind.ENTRY, BUY, 102.0, 1.0, fee=0.125, slippage=0.0, reason="signal", order=7),
)

TRADE_P1 = Trade(
    trade_id="p1",
    symbol="BTCUSDT",
    side=PositionSide.LONG,
    entry_time=bar_time(2),
    exit_time=bar_time(9),
    entry_price=101.0,
    exit_price=(105.0 * 0.5 + 106.0 * 1.0) / 1.5,
    quantity=1.5,
    gross_pnl=7.0,
    fees=0.375,
    slippage=0.75,
    exit_reason="take_profit",
    exit=ExitReason.TAKE_PROFIT,
    legs=P1_LEGS,
    partial_exits=1,
    scale_ins=1,
    best_price=106.5,
    worst_price=99.5,
)
TRADE_P2 = Trade(
    trade_id="p2",
    symbol="BTCUSDT",
    side=PositionSide.SHORT,
    entry_time=bar_time(14),
    exit_time=bar_time(16),
    entry_price=104.0,
    exit_price=106.0,
    quantity=2.0,
    gross_pnl=-4.0,
    fees=0.5,
    slippage=0.5,
    exit_reason="stop_loss",
    exit=ExitReason.STOP_LOSS,
    legs=P2_LEGS,
    best_price=103.5,
    worst_price=106.0,
)
POSITION_P3 = ActiveTrade(
    position_id="p3",
    symbol="BTCUSDT",
    side=PositionSide.LONG,
    entry_price=102.0,
    first_entry_price=102.0,
    entry_time=bar_time(30),
    quantity=1.0,
    original_quantity=1.0,
    stop_loss=98.0,
    take_profit=110.0,
    best_price=104.0,
    worst_price=101.0,
    fees_paid=0.125,
    legs=P3_LEGS,
)


def _events(with_open: bool) -> tuple[KernelEvent, ...]:
    events: list[tuple[datetime, int, KernelEvent]] = []
    legs = [("p1", f) for f in P1_LEGS] + [("p2", f) for f in P2_LEGS]
    if with_open:
        legs += [("p3", f) for f in P3_LEGS]
    for position_id, fill in legs:
        events.append((fill.time, 0, OrderFilled(fill.time, position_id, fill)))
    for trade in (TRADE_P1, TRADE_P2):
        events.append((trade.exit_time, 1, PositionClosed(trade.exit_time, trade)))
    events.append((bar_time(7), 2, StopMoved(bar_time(7), "p1", 95.0, 101.0, "breakeven")))
    events.append((bar_time(8), 2, StopMoved(bar_time(8), "p1", 101.0, 103.0, "trailing")))
    events.append((bar_time(17), 3, TierChanged(bar_time(17), 0, 1, 0.5, 0.06)))
    events.append((bar_time(25), 3, TierChanged(bar_time(25), 1, 0, 1.0, 0.01)))
    return tuple(event for _, _, event in sorted(events, key=lambda item: item[:2]))


def _replay(close: list[float], with_open: bool) -> tuple[list[float], list[float]]:
    """Equity and exposure per bar: cash moves by fees and realized PnL (margin style)."""
    positions: list[tuple[PositionSide, tuple[Fill, ...]]] = [
        (PositionSide.LONG, P1_LEGS),
        (PositionSide.SHORT, P2_LEGS),
    ]
    if with_open:
        positions.append((PositionSide.LONG, P3_LEGS))
    cash = INITIAL_BALANCE
    state: dict[int, tuple[float, float]] = {}  # position index → (entry, quantity)
    equity: list[float] = []
    exposure: list[float] = []
    for bar, price in enumerate(close):
        for number, (side, legs) in enumerate(positions):
            for fill in (f for f in legs if f.time == bar_time(bar)):
                entry, quantity = state.get(number, (0.0, 0.0))
                cash -= fill.fee
                if fill.kind.increases:
                    total = quantity + fill.quantity
                    state[number] = ((entry * quantity + fill.price * fill.quantity) / total, total)
                else:
                    cash += side.sign * (fill.price - entry) * fill.quantity
                    state[number] = (entry, quantity - fill.quantity)
        open_value = 0.0
        notional = 0.0
        for number, (entry, quantity) in state.items():
            if quantity > 0:
                open_value += unrealized_pnl(positions[number][0], entry, quantity, price)
                notional += quantity * price
        equity.append(cash + open_value)
        exposure.append(notional / equity[-1])
    return equity, exposure


def build_result(
    *,
    n_bars: int = DEFAULT_BARS,
    synthetic: bool = False,
    with_open_position: bool = True,
    warnings: tuple[str, ...] = (),
    parameters: dict[str, object] | None = None,
) -> BacktestResult:
    """The result described in the module docstring; `n_bars` (≥ 31) lengthens the run."""
    if n_bars < 31:
        raise ValueError("n_bars must leave room for the open position's entry at bar 30")
    close = closes(n_bars)
    equity, exposure = _replay(close, with_open_position)
    times_ns = np.array(
        [int(bar_time(i).timestamp()) * 1_000_000_000 for i in range(n_bars)], dtype=np.int64
    )
    curve = EquityCurve(
        times_ns=times_ns,
        equity=np.array(equity, dtype=np.float64),
        close=np.array(close, dtype=np.float64),
        exposure=np.array(exposure, dtype=np.float64),
    )
    tracker = PerformanceTracker(INITIAL_BALANCE, BAR)
    tracker.record_bars(curve.times_ns, curve.equity, curve.close, curve.exposure)
    for trade in (TRADE_P1, TRADE_P2):
        for fill in trade.legs:
            tracker.record_fill(fill)
        tracker.record_trade(trade)
    open_position = None
    if with_open_position:
        for fill in P3_LEGS:
            tracker.record_fill(fill)
        mark = close[-1]
        open_position = OpenPosition(
            position=POSITION_P3,
            mark_price=mark,
            mark_time=bar_time(n_bars - 1),
            unrealized_pnl=unrealized_pnl(PositionSide.LONG, 102.0, 1.0, mark),
        )
    return BacktestResult(
        run=RunInfo(created_at=CREATED_AT, atb_version="0.1.0"),
        data=DataInfo(
            symbol="BTCUSDT",
            timeframe="4h",
            start=T0,
            end=bar_time(n_bars - 1),
            bars=n_bars,
            warmup_bars=5,
            fingerprint="ab" * 32,
            source="DEMO synthetic" if synthetic else "tests/sample.csv",
            synthetic=synthetic,
            gaps=((bar_time(20), bar_time(21), 1),),
        ),
        strategy=StrategyInfo(
            name="sma_cross",
            parameters=parameters if parameters is not None else {"slow": 30, "fast": 10},
        ),
        config=config_to_dict(RunConfiguration.default()),
        instrument=InstrumentInfo(
            instrument=KNOWN_INSTRUMENTS["BTCUSDT"],
            source="built-in Binance spot rules for BTCUSDT",
        ),
        initial_balance=INITIAL_BALANCE,
        trades=(TRADE_P1, TRADE_P2),
        open_position=open_position,
        equity=curve,
        metrics=tracker.metrics(),
        ambiguity=AmbiguityInfo(bars=3, pessimistic_pnl=-12.5, optimistic_pnl=20.25),
        events=_events(with_open_position),
        warnings=warnings,
    )
