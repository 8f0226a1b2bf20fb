"""Small typed builders for hand-written manager tests: bars, instruments, positions, fills.

Everything returns real domain objects (no mocks). Defaults are chosen so numbers stay easy to
check by hand: prices around 100, tick 0.01, lot 0.001, Monday 2024-01-01 00:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from atb.domain.bars import Bar
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade, LivePosition
from atb.domain.sides import OrderAction, PositionSide

T0 = datetime(2024, 1, 1, tzinfo=UTC)
"""Monday 2024-01-01 00:00 UTC: the default bar and entry time."""

INSTRUMENT = Instrument("BTCUSDT", tick_size=0.01, lot_step=0.001, min_notional=0.0)
"""Tick 0.01, lot 0.001, no minimum notional."""


def make_bar(
    open_: float, high: float, low: float, close: float, *, time: datetime = T0, volume: float = 0.0
) -> Bar:
    """A bar from its OHLC values (argument order open, high, low, close)."""
    if not low <= min(open_, close) <= max(open_, close) <= high:
        raise ValueError(f"invalid OHLC: o={open_} h={high} l={low} c={close}")
    return Bar(time=time, open=open_, high=high, low=low, close=close, volume=volume)


def _position_fields(
    side: PositionSide,
    entry_price: float,
    quantity: float,
    overrides: dict[str, Any],
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "position_id": "p1",
        "symbol": INSTRUMENT.symbol,
        "side": side,
        "entry_price": entry_price,
        "first_entry_price": entry_price,
        "entry_time": T0,
        "quantity": quantity,
        "original_quantity": quantity,
        "best_price": entry_price,
        "worst_price": entry_price,
    }
    fields.update(overrides)
    return fields


def make_position(
    side: PositionSide, entry_price: float = 100.0, quantity: float = 1.0, **overrides: Any
) -> ActiveTrade:
    """A backtest position; any `ActiveTrade` field can be overridden by keyword.

    `first_entry_price` and `original_quantity` default to `entry_price` and `quantity`.
    """
    return ActiveTrade(**_position_fields(side, entry_price, quantity, overrides))


def make_live_position(
    side: PositionSide, entry_price: float = 100.0, quantity: float = 1.0, **overrides: Any
) -> LivePosition:
    """The same position as `make_position`, as the live engine's class."""
    fields = _position_fields(side, entry_price, quantity, overrides)
    fields.setdefault("client_order_id", "c1")
    return LivePosition(**fields)


def make_fill(
    kind: FillKind,
    action: OrderAction,
    price: float,
    quantity: float,
    *,
    fee: float = 0.0,
    slippage: float = 0.0,
    time: datetime = T0,
    liquidity: Liquidity = Liquidity.TAKER,
    order_id: str = "o1",
    reason: str | None = None,
) -> Fill:
    """One execution; `reason` defaults to the kind's value."""
    return Fill(
        time=time,
        action=action,
        price=price,
        quantity=quantity,
        fee=fee,
        slippage=slippage,
        reason=reason or kind.value,
        kind=kind,
        liquidity=liquidity,
        order_id=order_id,
    )
