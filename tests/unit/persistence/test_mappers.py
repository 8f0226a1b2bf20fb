"""The JSON mappers round-trip every persisted object exactly, also through JSON text, and
refuse damaged data with an error that names the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atb.domain.bars import Bar
from atb.domain.events import KernelEvent, OrderPlaced
from atb.domain.intents import OrderIntent
from atb.domain.models import LivePosition
from atb.domain.policies import PositionPolicies
from atb.domain.sides import PositionSide
from atb.managers.dynamic_risk import NO_TIER, RiskTier
from atb.managers.kernel_state import KernelState
from atb.persistence.errors import StoreError
from atb.persistence.fields import JsonDict, dump_time, dumps, load_time
from atb.persistence.mappers import (
    bar_from_dict,
    bar_to_dict,
    fill_from_dict,
    fill_to_dict,
    order_from_dict,
    order_to_dict,
    policies_from_dict,
    policies_to_dict,
    position_from_dict,
    position_to_dict,
    state_from_dict,
    state_to_dict,
    tier_from_dict,
    tier_to_dict,
    trade_from_dict,
    trade_to_dict,
)
from atb.persistence.mappers_events import EVENT_KINDS, event_from_dict, event_to_dict
from tests.support.builders import make_live_position
from tests.unit.persistence import strategies as gen

T = TypeVar("T")


def assert_round_trip(
    value: T, to_dict: Callable[[T], JsonDict], from_dict: Callable[..., T]
) -> None:
    data = to_dict(value)
    assert from_dict(data) == value
    text = json.dumps(data)
    assert from_dict(json.loads(text)) == value
    # Deterministic: equal objects give identical JSON text.
    assert dumps(to_dict(from_dict(json.loads(text)))) == dumps(data)


@given(gen.bars)
def test_bar_round_trip(bar: Bar) -> None:
    assert_round_trip(bar, bar_to_dict, bar_from_dict)


@given(gen.fills)
def test_fill_round_trip(fill: Any) -> None:
    assert_round_trip(fill, fill_to_dict, fill_from_dict)


@given(gen.policies)
def test_policies_round_trip(policies: PositionPolicies) -> None:
    assert_round_trip(policies, policies_to_dict, policies_from_dict)


@settings(max_examples=50)
@given(gen.positions)
def test_live_position_round_trip(position: Any) -> None:
    assert_round_trip(position, position_to_dict, position_from_dict)


@settings(max_examples=50)
@given(gen.trades)
def test_trade_round_trip(trade: Any) -> None:
    assert_round_trip(trade, trade_to_dict, trade_from_dict)


@given(gen.orders)
def test_market_order_round_trip(order: Any) -> None:
    assert_round_trip(order, order_to_dict, order_from_dict)


@given(gen.tiers)
def test_tier_round_trip(tier: RiskTier) -> None:
    assert_round_trip(tier, tier_to_dict, tier_from_dict)


@settings(max_examples=50)
@given(gen.states)
def test_kernel_state_round_trip(state: Any) -> None:
    assert_round_trip(state, state_to_dict, state_from_dict)


@given(gen.events)
def test_event_round_trip(event: KernelEvent) -> None:
    assert_round_trip(event, event_to_dict, event_from_dict)
    assert event_to_dict(event)["kind"] == event.kind


def test_every_event_class_has_a_kind() -> None:
    kinds = {cls.kind for cls in KernelEvent.__args__}
    assert kinds == set(EVENT_KINDS)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_bit_exact(value: float) -> None:
    bar = Bar(datetime(2024, 1, 1, tzinfo=UTC), value, value, value, value, value)
    back = bar_from_dict(json.loads(json.dumps(bar_to_dict(bar))))
    assert back.open.hex() == value.hex()


@pytest.mark.parametrize("value", [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0, 1 / 3])
def test_awkward_floats_are_bit_exact(value: float) -> None:
    test_floats_are_bit_exact.hypothesis.inner_test(value)  # type: ignore[attr-defined]


@given(gen.times)
def test_times_keep_the_instant_to_the_microsecond(time: datetime) -> None:
    text = dump_time(time)
    assert text.endswith("+00:00")
    assert len(text) == len("2024-01-01T00:00:00.000000+00:00")
    assert load_time(text) == time
    assert load_time(text).utcoffset() == timedelta(0)


def test_time_text_orders_like_time() -> None:
    early = datetime(2024, 1, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 22:30 UTC
    late = datetime(2024, 1, 1, 23, tzinfo=UTC)
    assert early < late
    assert early.isoformat() > late.isoformat()  # local text would misorder them
    assert dump_time(early) < dump_time(late)


def test_naive_time_refused() -> None:
    with pytest.raises(StoreError, match="naive"):
        dump_time(datetime(2024, 1, 1))
    with pytest.raises(StoreError, match=r"bar\.time: time without a time zone"):
        bar_from_dict(
            {"time": "2024-01-01T00:00:00", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 0}
        )


def _placed() -> JsonDict:
    return event_to_dict(
        OrderPlaced(datetime(2024, 1, 1, tzinfo=UTC), "s1-o1", OrderIntent.CLOSE, "x")
    )


def test_unknown_event_kind_is_named() -> None:
    data = {**_placed(), "kind": "teleported"}
    with pytest.raises(StoreError, match=r"event\.kind: unknown event kind 'teleported'"):
        event_from_dict(data)


def test_missing_key_is_named_with_its_path() -> None:
    data = _placed()
    del data["order_id"]
    with pytest.raises(StoreError, match=r"event\.order_id: missing key"):
        event_from_dict(data)


def test_missing_nested_key_is_named_with_its_path() -> None:
    state = KernelState(
        cash=1.0,
        position=make_live_position(PositionSide.LONG),
        pending=(),
        equity=1.0,
        peak_equity=1.0,
        tier=NO_TIER,
        close_only=False,
        order_seq=1,
        position_seq=1,
        ambiguous_bars=0,
    )
    data = state_to_dict(state)
    position = data["position"]
    assert isinstance(position, dict)
    del position["trailing_active"]
    with pytest.raises(StoreError, match=r"state\.position\.trailing_active: missing key"):
        state_from_dict(data)


def test_wrong_types_are_named() -> None:
    tier = {"tier": "1", "factor": 0.5}
    with pytest.raises(StoreError, match=r"tier\.tier: expected an integer, got '1'"):
        tier_from_dict(tier)
    with pytest.raises(StoreError, match=r"tier\.factor: expected a number, got True"):
        tier_from_dict({"tier": 1, "factor": True})
    with pytest.raises(StoreError, match="expected a JSON object"):
        tier_from_dict([1, 0.5])


@given(gen.fills)
def test_unknown_enum_value_lists_the_valid_ones(fill: Any) -> None:
    data = {**fill_to_dict(fill), "liquidity": "dark pool"}
    with pytest.raises(StoreError, match=r"fill\.liquidity: expected one of 'maker', 'taker'"):
        fill_from_dict(data)


def test_position_dict_holds_all_manager_state() -> None:
    data = position_to_dict(make_live_position(PositionSide.SHORT))
    assert set(data) == {field.name for field in attrs.fields(LivePosition)}
