"""Exact, lossless dict ↔ object mappers for what the store keeps as JSON.

Every `*_to_dict` returns plain JSON-able values (str, int, float, bool, None, lists, dicts) and
every `*_from_dict` rebuilds an equal object: `x_from_dict(x_to_dict(x)) == x`, also through
`json.dumps`/`json.loads`. Conventions:

- times: `dump_time` (ISO 8601, UTC, microseconds); durations: seconds (float);
- enums: their value; tuples (legs, ladders, pending orders): lists;
- floats: as they are (JSON keeps Python's round-trip `repr`), never formatted.

A missing key or a wrong type on load raises `StoreError` naming the dotted key. Events live in
`atb.persistence.mappers_events`.
"""

from __future__ import annotations

from atb.domain.bars import Bar
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.instruments import Instrument
from atb.domain.intents import ExitReason
from atb.domain.models import LivePosition, Trade
from atb.domain.policies import (
    Ladder,
    PartialPolicy,
    PositionPolicies,
    TimeExitPolicy,
    TrailingPolicy,
    TrailReference,
)
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.dynamic_risk import RiskTier
from atb.managers.kernel_state import KernelState
from atb.managers.orders import MarketOrder, OrderIntent
from atb.persistence.errors import StoreError
from atb.persistence.fields import Fields, JsonDict, dump_time

__all__ = [
    "bar_from_dict",
    "bar_to_dict",
    "fill_from_dict",
    "fill_to_dict",
    "order_from_dict",
    "order_to_dict",
    "policies_from_dict",
    "policies_to_dict",
    "position_from_dict",
    "position_to_dict",
    "state_from_dict",
    "state_to_dict",
    "tier_from_dict",
    "tier_to_dict",
    "trade_from_dict",
    "trade_to_dict",
]


# --- bars and fills ----------------------------------------------------------------------------


def bar_to_dict(bar: Bar) -> JsonDict:
    """A candle as a JSON object."""
    return {
        "time": dump_time(bar.time),
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
    }


def bar_from_dict(data: object, where: str = "bar") -> Bar:
    """The candle `bar_to_dict` wrote."""
    f = Fields(data, where)
    return Bar(
        f.time("time"), f.num("open"), f.num("high"), f.num("low"), f.num("close"), f.num("volume")
    )


def instrument_to_dict(instrument: Instrument, source: str) -> JsonDict:
    """A market's rules and where they came from, as a JSON object."""
    return {
        "symbol": instrument.symbol,
        "tick_size": instrument.tick_size,
        "lot_step": instrument.lot_step,
        "min_notional": instrument.min_notional,
        "min_quantity": instrument.min_quantity,
        "base_asset": instrument.base_asset,
        "quote_asset": instrument.quote_asset,
        "source": source,
    }


def instrument_from_dict(data: object, where: str = "instrument") -> tuple[Instrument, str]:
    """The rules and source `instrument_to_dict` wrote."""
    f = Fields(data, where)
    try:
        instrument = Instrument(
            f.text("symbol"),
            tick_size=f.num("tick_size"),
            lot_step=f.num("lot_step"),
            min_notional=f.num("min_notional"),
            min_quantity=f.num("min_quantity"),
            base_asset=f.opt_text("base_asset"),
            quote_asset=f.opt_text("quote_asset"),
        )
    except ValueError as error:
        raise StoreError(f"{where}: {error}") from error
    return instrument, f.text("source")


def fill_to_dict(fill: Fill) -> JsonDict:
    """One execution as a JSON object."""
    return {
        "time": dump_time(fill.time),
        "action": fill.action.value,
        "price": fill.price,
        "quantity": fill.quantity,
        "fee": fill.fee,
        "slippage": fill.slippage,
        "reason": fill.reason,
        "kind": fill.kind.value,
        "liquidity": fill.liquidity.value,
        "order_id": fill.order_id,
    }


def fill_from_dict(data: object, where: str = "fill") -> Fill:
    """The execution `fill_to_dict` wrote."""
    f = Fields(data, where)
    return Fill(
        time=f.time("time"),
        action=f.member("action", OrderAction),
        price=f.num("price"),
        quantity=f.num("quantity"),
        fee=f.num("fee"),
        slippage=f.num("slippage"),
        reason=f.text("reason"),
        kind=f.member("kind", FillKind),
        liquidity=f.member("liquidity", Liquidity),
        order_id=f.text("order_id"),
    )


def _legs(f: Fields) -> tuple[Fill, ...]:
    return tuple(fill_from_dict(item, f"{f.path('legs')}[{i}]") for i, item in _each(f, "legs"))


def _each(f: Fields, key: str) -> list[tuple[int, object]]:
    return list(enumerate(f.array(key)))


# --- policies ----------------------------------------------------------------------------------


def _ladder_to_list(ladder: Ladder) -> list[list[float]]:
    return [[move, size] for move, size in ladder]


def _ladder_from_list(f: Fields, key: str) -> Ladder:
    return tuple(f.pairs(key))


def policies_to_dict(policies: PositionPolicies) -> JsonDict:
    """A position's policies; a section that is off is null."""
    trailing = policies.trailing
    partials = policies.partials
    time_exit = policies.time_exit
    return {
        "trailing": None
        if trailing is None
        else {
            "activation_pct": trailing.activation_pct,
            "distance_pct": trailing.distance_pct,
            "breakeven_trigger_pct": trailing.breakeven_trigger_pct,
            "breakeven_buffer_pct": trailing.breakeven_buffer_pct,
            "atr_multiple": trailing.atr_multiple,
            "atr_period": trailing.atr_period,
            "reference": trailing.reference.value,
        },
        "partials": None
        if partials is None
        else {
            "exit_targets": _ladder_to_list(partials.exit_targets),
            "scale_in_thresholds": _ladder_to_list(partials.scale_in_thresholds),
            "max_scale_ins": partials.max_scale_ins,
        },
        "time_exit": None
        if time_exit is None
        else {
            "max_holding_seconds": None
            if time_exit.max_holding is None
            else time_exit.max_holding.total_seconds(),
            "weekend_flat": time_exit.weekend_flat,
            "daily_flat_hour": time_exit.daily_flat_hour,
        },
    }


def policies_from_dict(data: object, where: str = "policies") -> PositionPolicies:
    """The policies `policies_to_dict` wrote."""
    f = Fields(data, where)
    trailing = f.opt_child("trailing")
    partials = f.opt_child("partials")
    time_exit = f.opt_child("time_exit")
    return PositionPolicies(
        trailing=None
        if trailing is None
        else TrailingPolicy(
            activation_pct=trailing.num("activation_pct"),
            distance_pct=trailing.num("distance_pct"),
            breakeven_trigger_pct=trailing.opt_num("breakeven_trigger_pct"),
            breakeven_buffer_pct=trailing.num("breakeven_buffer_pct"),
            atr_multiple=trailing.opt_num("atr_multiple"),
            atr_period=trailing.integer("atr_period"),
            reference=trailing.member("reference", TrailReference),
        ),
        partials=None
        if partials is None
        else PartialPolicy(
            exit_targets=_ladder_from_list(partials, "exit_targets"),
            scale_in_thresholds=_ladder_from_list(partials, "scale_in_thresholds"),
            max_scale_ins=partials.integer("max_scale_ins"),
        ),
        time_exit=None
        if time_exit is None
        else TimeExitPolicy(
            max_holding=time_exit.opt_seconds("max_holding_seconds"),
            weekend_flat=time_exit.flag("weekend_flat"),
            daily_flat_hour=time_exit.opt_integer("daily_flat_hour"),
        ),
    )


# --- positions and trades ----------------------------------------------------------------------


def position_to_dict(position: LivePosition) -> JsonDict:
    """An open live position with all its manager state (stops, flags, counters, excursions,
    legs, policies) and its identifiers."""
    return {
        "position_id": position.position_id,
        "symbol": position.symbol,
        "side": position.side.value,
        "entry_price": position.entry_price,
        "first_entry_price": position.first_entry_price,
        "entry_time": dump_time(position.entry_time),
        "quantity": position.quantity,
        "original_quantity": position.original_quantity,
        "stop_loss": position.stop_loss,
        "take_profit": position.take_profit,
        "trailing_active": position.trailing_active,
        "breakeven_active": position.breakeven_active,
        "partial_exits_taken": position.partial_exits_taken,
        "scale_ins_taken": position.scale_ins_taken,
        "best_price": position.best_price,
        "worst_price": position.worst_price,
        "realized_pnl": position.realized_pnl,
        "fees_paid": position.fees_paid,
        "slippage_paid": position.slippage_paid,
        "legs": [fill_to_dict(leg) for leg in position.legs],
        "policies": policies_to_dict(position.policies),
        "client_order_id": position.client_order_id,
        "exchange_order_ids": list(position.exchange_order_ids),
        "store_id": position.store_id,
    }


def position_from_dict(data: object, where: str = "position") -> LivePosition:
    """The live position `position_to_dict` wrote."""
    f = Fields(data, where)
    return LivePosition(
        position_id=f.text("position_id"),
        symbol=f.text("symbol"),
        side=f.member("side", PositionSide),
        entry_price=f.num("entry_price"),
        first_entry_price=f.num("first_entry_price"),
        entry_time=f.time("entry_time"),
        quantity=f.num("quantity"),
        original_quantity=f.num("original_quantity"),
        stop_loss=f.opt_num("stop_loss"),
        take_profit=f.opt_num("take_profit"),
        trailing_active=f.flag("trailing_active"),
        breakeven_active=f.flag("breakeven_active"),
        partial_exits_taken=f.integer("partial_exits_taken"),
        scale_ins_taken=f.integer("scale_ins_taken"),
        best_price=f.num("best_price"),
        worst_price=f.num("worst_price"),
        realized_pnl=f.num("realized_pnl"),
        fees_paid=f.num("fees_paid"),
        slippage_paid=f.num("slippage_paid"),
        legs=_legs(f),
        policies=policies_from_dict(f.raw("policies"), f.path("policies")),
        client_order_id=f.text("client_order_id"),
        exchange_order_ids=tuple(f.texts("exchange_order_ids")),
        store_id=f.opt_integer("store_id"),
    )


def trade_to_dict(trade: Trade) -> JsonDict:
    """A closed round trip with every leg."""
    return {
        "trade_id": trade.trade_id,
        "symbol": trade.symbol,
        "side": trade.side.value,
        "entry_time": dump_time(trade.entry_time),
        "exit_time": dump_time(trade.exit_time),
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "quantity": trade.quantity,
        "gross_pnl": trade.gross_pnl,
        "fees": trade.fees,
        "slippage": trade.slippage,
        "exit_reason": trade.exit_reason,
        "legs": [fill_to_dict(leg) for leg in trade.legs],
        "partial_exits": trade.partial_exits,
        "scale_ins": trade.scale_ins,
        "best_price": trade.best_price,
        "worst_price": trade.worst_price,
        "exit": trade.exit.value,
    }


def trade_from_dict(data: object, where: str = "trade") -> Trade:
    """The trade `trade_to_dict` wrote."""
    f = Fields(data, where)
    return Trade(
        trade_id=f.text("trade_id"),
        symbol=f.text("symbol"),
        side=f.member("side", PositionSide),
        entry_time=f.time("entry_time"),
        exit_time=f.time("exit_time"),
        entry_price=f.num("entry_price"),
        exit_price=f.num("exit_price"),
        quantity=f.num("quantity"),
        gross_pnl=f.num("gross_pnl"),
        fees=f.num("fees"),
        slippage=f.num("slippage"),
        exit_reason=f.text("exit_reason"),
        legs=_legs(f),
        partial_exits=f.integer("partial_exits"),
        scale_ins=f.integer("scale_ins"),
        best_price=f.num("best_price"),
        worst_price=f.num("worst_price"),
        exit=f.member("exit", ExitReason)
        if f.has("exit")
        else ExitReason.from_text(f.text("exit_reason")),
    )


# --- orders, tiers, kernel state ---------------------------------------------------------------


def order_to_dict(order: MarketOrder) -> JsonDict:
    """A pending market order (an order intent, before it is acted on)."""
    return {
        "order_id": order.order_id,
        "created_at": dump_time(order.created_at),
        "intent": order.intent.value,
        "reason": order.reason,
        "fraction": order.fraction,
        "stop_loss_pct": order.stop_loss_pct,
        "take_profit_pct": order.take_profit_pct,
        "policies": None if order.policies is None else policies_to_dict(order.policies),
        "exit": None if order.exit is None else order.exit.value,
    }


def order_from_dict(data: object, where: str = "order") -> MarketOrder:
    """The market order `order_to_dict` wrote."""
    f = Fields(data, where)
    policies = f.raw("policies")
    return MarketOrder(
        order_id=f.text("order_id"),
        created_at=f.time("created_at"),
        intent=f.member("intent", OrderIntent),
        reason=f.text("reason"),
        fraction=f.opt_num("fraction"),
        stop_loss_pct=f.opt_num("stop_loss_pct"),
        take_profit_pct=f.opt_num("take_profit_pct"),
        policies=None if policies is None else policies_from_dict(policies, f.path("policies")),
        exit=_order_exit(f),
    )


def _order_exit(f: Fields) -> ExitReason | None:
    """A pending close order's typed exit reason (absent in stores written before it was
    kept: read from the order's reason text)."""
    if f.has("exit"):
        return None if f.raw("exit") is None else f.member("exit", ExitReason)
    if f.member("intent", OrderIntent) is not OrderIntent.CLOSE:
        return None
    return ExitReason.from_text(f.text("reason"))


def tier_to_dict(tier: RiskTier) -> JsonDict:
    """A dynamic-risk tier and its factor."""
    return {"tier": tier.tier, "factor": tier.factor}


def tier_from_dict(data: object, where: str = "tier") -> RiskTier:
    """The tier `tier_to_dict` wrote."""
    f = Fields(data, where)
    return RiskTier(f.integer("tier"), f.num("factor"))


def state_to_dict(state: KernelState[LivePosition]) -> JsonDict:
    """The complete kernel state between two bars (what a resumed live session continues from)."""
    return {
        "cash": state.cash,
        "position": None if state.position is None else position_to_dict(state.position),
        "pending": [order_to_dict(order) for order in state.pending],
        "equity": state.equity,
        "peak_equity": state.peak_equity,
        "tier": tier_to_dict(state.tier),
        "close_only": state.close_only,
        "order_seq": state.order_seq,
        "position_seq": state.position_seq,
        "ambiguous_bars": state.ambiguous_bars,
    }


def state_from_dict(data: object, where: str = "state") -> KernelState[LivePosition]:
    """The kernel state `state_to_dict` wrote."""
    f = Fields(data, where)
    position = f.raw("position")
    return KernelState(
        cash=f.num("cash"),
        position=None if position is None else position_from_dict(position, f.path("position")),
        pending=tuple(
            order_from_dict(item, f"{f.path('pending')}[{i}]") for i, item in _each(f, "pending")
        ),
        equity=f.num("equity"),
        peak_equity=f.num("peak_equity"),
        tier=tier_from_dict(f.raw("tier"), f.path("tier")),
        close_only=f.flag("close_only"),
        order_seq=f.integer("order_seq"),
        position_seq=f.integer("position_seq"),
        ambiguous_bars=f.integer("ambiguous_bars"),
    )
