"""Hypothesis strategies for valid domain objects the store persists.

Floats are drawn across the whole finite range the validators accept (not rounded), so the
round trips prove exactness rather than luck with short decimals. Times use several UTC offsets
to show that any aware time comes back as the same instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from atb.domain.bars import Bar
from atb.domain.events import (
    CloseOnlyLatched,
    DecisionMade,
    KernelEvent,
    OrderFilled,
    OrderPlaced,
    OrderRejected,
    PoliciesSwapped,
    PositionClosed,
    StopMoved,
    TierChanged,
)
from atb.domain.fills import Fill, FillKind, Liquidity
from atb.domain.models import LivePosition, Trade
from atb.domain.policies import (
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

positive = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False)
non_negative = st.one_of(st.just(0.0), positive)
signed = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
fraction = st.floats(min_value=1e-6, max_value=1.0, exclude_min=False)
texts = st.text(min_size=1, max_size=20).filter(lambda text: bool(text.strip()))
ids = st.builds(
    "s{}-{}{:07d}".format, st.integers(1, 99), st.sampled_from("op"), st.integers(0, 10**7)
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)
times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)


def optional(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[float | None]:
    """`strategy` or None."""
    return st.one_of(st.none(), strategy)


bars = st.builds(Bar, times, signed, signed, signed, signed, non_negative)

fills = st.builds(
    Fill,
    time=times,
    action=st.sampled_from(OrderAction),
    price=positive,
    quantity=positive,
    fee=non_negative,
    slippage=non_negative,
    reason=texts,
    kind=st.sampled_from(FillKind),
    liquidity=st.sampled_from(Liquidity),
    order_id=ids,
)


@st.composite
def ladders(draw: st.DrawFn) -> tuple[tuple[float, float], ...]:
    """Strictly increasing positive moves, each with a size in (0, 1]."""
    moves = sorted(set(draw(st.lists(positive, max_size=4))))
    return tuple((move, draw(fraction)) for move in moves)


trailing_policies = st.builds(
    TrailingPolicy,
    activation_pct=non_negative,
    distance_pct=positive,
    breakeven_trigger_pct=optional(positive),
    breakeven_buffer_pct=non_negative,
    atr_multiple=optional(positive),
    atr_period=st.integers(min_value=1, max_value=500),
    reference=st.sampled_from(TrailReference),
)
partial_policies = st.builds(
    PartialPolicy,
    exit_targets=ladders(),
    scale_in_thresholds=ladders(),
    max_scale_ins=st.integers(min_value=0, max_value=10),
)
time_exit_policies = st.builds(
    TimeExitPolicy,
    max_holding=st.one_of(
        st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650))
    ),
    weekend_flat=st.booleans(),
    daily_flat_hour=st.one_of(st.none(), st.integers(min_value=0, max_value=23)),
)
policies = st.builds(
    PositionPolicies,
    trailing=st.one_of(st.none(), trailing_policies),
    partials=st.one_of(st.none(), partial_policies),
    time_exit=st.one_of(st.none(), time_exit_policies),
)

positions = st.builds(
    LivePosition,
    position_id=ids,
    symbol=texts,
    side=st.sampled_from(PositionSide),
    entry_price=positive,
    first_entry_price=positive,
    entry_time=times,
    quantity=positive,
    original_quantity=positive,
    stop_loss=optional(positive),
    take_profit=optional(positive),
    trailing_active=st.booleans(),
    breakeven_active=st.booleans(),
    partial_exits_taken=st.integers(min_value=0, max_value=5),
    scale_ins_taken=st.integers(min_value=0, max_value=5),
    best_price=positive,
    worst_price=positive,
    realized_pnl=signed,
    fees_paid=non_negative,
    slippage_paid=non_negative,
    legs=st.lists(fills, max_size=4).map(tuple),
    policies=policies,
    client_order_id=ids,
    exchange_order_ids=st.lists(texts, max_size=3).map(tuple),
    store_id=st.one_of(st.none(), st.integers(min_value=1, max_value=2**62)),
)

trades = st.builds(
    Trade,
    trade_id=ids,
    symbol=texts,
    side=st.sampled_from(PositionSide),
    entry_time=times,
    exit_time=times,
    entry_price=positive,
    exit_price=positive,
    quantity=positive,
    gross_pnl=signed,
    fees=non_negative,
    slippage=non_negative,
    exit_reason=texts,
    legs=st.lists(fills, min_size=1, max_size=4).map(tuple),
    partial_exits=st.integers(min_value=0, max_value=5),
    scale_ins=st.integers(min_value=0, max_value=5),
    best_price=positive,
    worst_price=positive,
)

orders = st.builds(
    MarketOrder,
    order_id=ids,
    created_at=times,
    intent=st.sampled_from(OrderIntent),
    reason=st.text(max_size=20),
    fraction=optional(fraction),
    stop_loss_pct=optional(positive),
    take_profit_pct=optional(positive),
    policies=st.one_of(st.none(), policies),
)

tiers = st.builds(RiskTier, st.integers(min_value=0, max_value=5), fraction)

states: st.SearchStrategy[KernelState[LivePosition]] = st.builds(
    KernelState,
    cash=signed,
    position=st.one_of(st.none(), positions),
    pending=st.lists(orders, max_size=3).map(tuple),
    equity=signed,
    peak_equity=positive,
    tier=tiers,
    close_only=st.booleans(),
    order_seq=st.integers(min_value=0, max_value=10**9),
    position_seq=st.integers(min_value=0, max_value=10**9),
    ambiguous_bars=st.integers(min_value=0, max_value=10**6),
)

events: st.SearchStrategy[KernelEvent] = st.one_of(
    st.builds(DecisionMade, times, texts, optional(fraction), st.text(max_size=20)),
    st.builds(OrderPlaced, times, ids, st.sampled_from(OrderIntent), texts),
    st.builds(OrderRejected, times, ids, texts),
    st.builds(OrderFilled, times, ids, fills),
    st.builds(StopMoved, times, ids, optional(positive), optional(positive), texts),
    st.builds(TierChanged, times, st.integers(0, 5), st.integers(0, 5), fraction, fraction),
    st.builds(CloseOnlyLatched, times, fraction),
    st.builds(PoliciesSwapped, times, ids),
    st.builds(PositionClosed, times, trades),
)
