"""Domain value objects: validation messages name the field, conformance to the Protocols."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.models import ActiveTrade, LivePosition, OrderAction, PositionSide, Trade
from atb.domain.protocols import Position, PositionState
from atb.domain.protocols import Trade as TradeProtocol

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_fill(kind: FillKind = FillKind.ENTRY, price: float = 100.0, quantity: float = 1.0) -> Fill:
    return Fill(
        time=T0,
        action=OrderAction.BUY,
        price=price,
        quantity=quantity,
        fee=0.1,
        slippage=0.05,
        reason="signal",
        kind=kind,
        liquidity=Liquidity.TAKER,
        order_id="bt-o0000001",
    )


def position_kwargs(**overrides: object) -> dict[str, Any]:
    # Any: the tests pass deliberately wrong types to prove the runtime validators.
    values: dict[str, Any] = {
        "position_id": "bt-p000001",
        "symbol": "BTCUSDT",
        "side": PositionSide.LONG,
        "entry_price": 100.0,
        "first_entry_price": 100.0,
        "entry_time": T0,
        "quantity": 2.0,
        "original_quantity": 2.0,
        "best_price": 100.0,
        "worst_price": 100.0,
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize("cls", [ActiveTrade, LivePosition])
@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("entry_price", math.nan, "entry_price must be finite and > 0, got nan"),
        ("entry_price", 0.0, "entry_price must be finite and > 0, got 0.0"),
        ("quantity", -1.0, "quantity must be finite and > 0, got -1.0"),
        ("quantity", math.inf, "quantity must be finite and > 0, got inf"),
        ("side", None, "side must be a PositionSide, got None"),
        ("side", "long", "side must be a PositionSide, got 'long'"),
        ("stop_loss", -5.0, "stop_loss must be finite and > 0, got -5.0"),
        ("entry_time", datetime(2024, 1, 1), "entry_time must be timezone-aware"),
        ("symbol", " ", "symbol must be a non-empty string"),
        ("partial_exits_taken", -1, "partial_exits_taken must be an int >= 0, got -1"),
    ],
)
def test_invalid_position_values_raise_value_error_naming_the_field(
    cls: type[ActiveTrade] | type[LivePosition], field: str, value: object, fragment: str
) -> None:
    kwargs = position_kwargs(**{field: value})
    if cls is LivePosition:
        kwargs["client_order_id"] = "live-o0000001"
    with pytest.raises(ValueError, match="^" + re.escape(fragment)):
        cls(**kwargs)


def test_positions_are_frozen_and_evolve_revalidates() -> None:
    position = ActiveTrade(**position_kwargs())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        position.quantity = 3.0  # type: ignore[misc]
    moved = attrs.evolve(position, stop_loss=95.0)
    assert moved.stop_loss == 95.0
    assert position.stop_loss is None
    with pytest.raises(ValueError, match=r"quantity must be finite and > 0, got -2\.0"):
        attrs.evolve(position, quantity=-2.0)


def test_both_position_classes_satisfy_the_protocols_at_runtime() -> None:
    active = ActiveTrade(**position_kwargs())
    live = LivePosition(client_order_id="live-o1", **position_kwargs())
    for position in (active, live):
        assert isinstance(position, PositionState)
        assert isinstance(position, Position)
        assert not isinstance(position, TradeProtocol)
    assert live.exchange_order_ids == ()
    assert live.store_id is None


def test_trade_satisfies_trade_protocol_and_derives_net_figures() -> None:
    entry = make_fill()
    exit_fill = attrs.evolve(
        make_fill(FillKind.EXIT, price=110.0), action=OrderAction.SELL, time=T0 + timedelta(hours=5)
    )
    trade = Trade(
        trade_id="bt-p000001",
        symbol="BTCUSDT",
        side=PositionSide.LONG,
        entry_time=T0,
        exit_time=T0 + timedelta(hours=5),
        entry_price=100.0,
        exit_price=110.0,
        quantity=1.0,
        gross_pnl=10.0,
        fees=0.2,
        slippage=0.1,
        exit_reason="take profit",
        legs=(entry, exit_fill),
        best_price=111.0,
        worst_price=99.0,
    )
    assert isinstance(trade, TradeProtocol)
    assert not isinstance(trade, PositionState)
    assert trade.pnl == pytest.approx(9.8)
    assert trade.return_pct == pytest.approx(0.098)
    assert trade.holding_time == timedelta(hours=5)
    assert trade.entry_notional == pytest.approx(100.0)


def test_trade_requires_legs() -> None:
    with pytest.raises(ValueError, match="legs must be a non-empty tuple"):
        Trade(
            trade_id="t",
            symbol="BTCUSDT",
            side=PositionSide.SHORT,
            entry_time=T0,
            exit_time=T0,
            entry_price=1.0,
            exit_price=1.0,
            quantity=1.0,
            gross_pnl=0.0,
            fees=0.0,
            slippage=0.0,
            exit_reason="signal",
            legs=(),
            best_price=1.0,
            worst_price=1.0,
        )


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("price", math.nan, "price must be finite and > 0, got nan"),
        ("quantity", 0.0, "quantity must be finite and > 0, got 0.0"),
        ("fee", -0.1, "fee must be finite and >= 0, got -0.1"),
        ("kind", "entry", "kind must be a FillKind, got 'entry'"),
        ("action", None, "action must be a OrderAction, got None"),
    ],
)
def test_invalid_fill_values_name_the_field(field: str, value: object, fragment: str) -> None:
    changes: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match="^" + re.escape(fragment)):
        attrs.evolve(make_fill(), **changes)


def test_sides_carry_signs_and_actions() -> None:
    assert PositionSide.LONG.sign == 1
    assert PositionSide.SHORT.sign == -1
    assert PositionSide.LONG.opposite is PositionSide.SHORT
    assert PositionSide.SHORT.opposite is PositionSide.LONG
    assert PositionSide.LONG.entry_action is OrderAction.BUY
    assert PositionSide.LONG.exit_action is OrderAction.SELL
    assert PositionSide.SHORT.entry_action is OrderAction.SELL
    assert PositionSide.SHORT.exit_action is OrderAction.BUY
    assert OrderAction.SELL.sign == -1
    assert make_fill(quantity=2.0).notional == 200.0
    assert FillKind.SCALE_IN.increases
    assert not FillKind.PARTIAL_EXIT.increases
