"""Hypothesis properties of the position managers.

- FillModel: every hit lies inside [low, high] (or at the open when gapped), every level the bar
  reaches is hit exactly once, hits come in the order the bar path meets them, and a bar whose
  intrabar hits all run one way is never ambiguous.
- CostCalculator: taker fills stay inside the bar and never in the trader's favour; a fraction
  of equity never overspends and leaves less than one lot unspent.
- TrailingStopManager: over any sequence of bars the stop never loosens and flags stay set.
- PartialOperationsManager: over any ladder, slices never exceed the position, quantities never
  go negative, and the ladder ends with the whole position sold.
- DynamicRiskHandler: the tier stays in [0, len(tiers)], its factor matches, it is never below
  the tier the drawdown demands, and it only moves by the entry/hysteresis rules.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import attrs
from hypothesis import given
from hypothesis import strategies as st

from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
from atb.domain.policies import PartialPolicy, TrailingPolicy, TrailReference
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.costs import CostCalculator
from atb.managers.dynamic_risk import NO_TIER, DynamicRiskHandler
from atb.managers.execution_config import CostConfig, IntrabarPolicy
from atb.managers.fills import FillModel, Level, LevelHit, LevelKind, Trigger
from atb.managers.partials import PartialOperationsManager
from atb.managers.risk_config import DynamicRiskConfig
from atb.managers.trailing import TrailingStopManager
from tests.support.builders import INSTRUMENT, make_bar, make_position

TICK = INSTRUMENT.tick_size
sides = st.sampled_from(PositionSide)
policies = st.sampled_from(IntrabarPolicy)


def _price(ticks: int) -> float:
    return round(ticks * TICK, 2)


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    """A valid OHLC bar on the 0.01 tick grid, prices 1 … ~1200."""
    low = draw(st.integers(100, 100_000))
    high = draw(st.integers(low, low + 20_000))
    open_ = draw(st.integers(low, high))
    close = draw(st.integers(low, high))
    return make_bar(_price(open_), _price(high), _price(low), _price(close))


@st.composite
def bars_with_levels(draw: st.DrawFn) -> tuple[Bar, tuple[Level, ...]]:
    """A bar and up to 8 levels around it (some gapped, some out of reach)."""
    bar = draw(bars())
    low, high = round(bar.low / TICK), round(bar.high / TICK)
    span = max(high - low, 1)
    level = st.builds(
        Level,
        st.integers(max(low - span, 1), high + span).map(_price),
        st.sampled_from(Trigger),
        st.sampled_from(LevelKind),
        st.integers(0, 3),
    )
    return bar, tuple(draw(st.lists(level, max_size=8)))


def _path(bar: Bar, low_first: bool) -> list[float]:
    extremes = [bar.low, bar.high] if low_first else [bar.high, bar.low]
    return [bar.open, *extremes, bar.close]


def _first_passage(path: Sequence[float], price: float) -> float:
    """Where (segment index + fraction) the polyline `path` first reaches `price`."""
    for index, (start, end) in enumerate(itertools.pairwise(path)):
        if start != end and min(start, end) <= price <= max(start, end):
            return index + (price - start) / (end - start)
    raise AssertionError(f"{price} is never reached by {path}")


def _reached(level: Level, bar: Bar) -> bool:
    if level.crossed_by(bar.open):
        return True
    return level.price <= bar.high if level.trigger is Trigger.UP else level.price >= bar.low


# -- FillModel ---------------------------------------------------------------------------------


@given(bars_with_levels(), sides, policies)
def test_hits_lie_in_the_bar_or_at_the_open_when_gapped(
    case: tuple[Bar, tuple[Level, ...]], side: PositionSide, policy: IntrabarPolicy
) -> None:
    bar, levels = case
    for hit in FillModel(policy).walk(levels, bar, side).hits:
        if hit.gapped:
            assert hit.price == bar.open
            assert hit.level.crossed_by(bar.open)
        else:
            assert hit.price == hit.level.price
            assert bar.low <= hit.price <= bar.high


@given(bars_with_levels(), sides, policies)
def test_every_reached_level_is_hit_once(
    case: tuple[Bar, tuple[Level, ...]], side: PositionSide, policy: IntrabarPolicy
) -> None:
    bar, levels = case
    walk = FillModel(policy).walk(levels, bar, side)
    hit_levels = Counter(hit.level for hit in walk.hits)
    assert hit_levels == Counter(level for level in levels if _reached(level, bar))


@given(bars_with_levels(), sides, policies)
def test_hits_come_in_path_order(
    case: tuple[Bar, tuple[Level, ...]], side: PositionSide, policy: IntrabarPolicy
) -> None:
    bar, levels = case
    model = FillModel(policy)
    hits = model.walk(levels, bar, side).hits
    gapped = [hit.gapped for hit in hits]
    assert gapped == sorted(gapped, reverse=True), "gapped hits come first"
    path = _path(bar, model.low_first(bar, side))
    passages = [_first_passage(path, hit.price) for hit in hits if not hit.gapped]
    assert passages == sorted(passages)


def _one_way(hits: Sequence[LevelHit]) -> bool:
    return len({hit.level.trigger for hit in hits if not hit.gapped}) <= 1


@given(bars_with_levels(), sides)
def test_ambiguity_is_symmetric_and_needs_both_directions(
    case: tuple[Bar, tuple[Level, ...]], side: PositionSide
) -> None:
    bar, levels = case
    pessimistic = FillModel(IntrabarPolicy.PESSIMISTIC).walk(levels, bar, side)
    optimistic = FillModel(IntrabarPolicy.OPTIMISTIC).walk(levels, bar, side)
    assert pessimistic.ambiguous == optimistic.ambiguous
    if _one_way(pessimistic.hits):
        assert pessimistic.ambiguous is False
        assert pessimistic.hits == optimistic.hits


# -- CostCalculator ----------------------------------------------------------------------------


@given(
    bars(),
    st.sampled_from(OrderAction),
    st.floats(0.0, 0.05),
    st.floats(0.0, 1.0),
)
def test_taker_fills_stay_inside_the_bar_and_against_the_trader(
    bar: Bar, action: OrderAction, slippage: float, where: float
) -> None:
    costs = CostConfig(taker_fee=0.001, maker_fee=0.001, slippage=slippage)
    calc = CostCalculator(costs, INSTRUMENT)
    reference = INSTRUMENT.round_price(bar.low + where * (bar.high - bar.low))
    reference = min(max(reference, bar.low), bar.high)
    execution = calc.taker_fill(reference, action, 1.5, bar.low, bar.high)
    assert bar.low <= execution.price <= bar.high
    assert action.sign * (execution.price - reference) >= 0
    assert execution.fee >= 0
    assert execution.slippage >= 0


@given(
    st.floats(0.01, 1.0),
    st.floats(10.0, 1e7),
    st.integers(1, 10_000_000).map(_price),
    st.floats(0.0, 0.01),
    st.sampled_from([0.00001, 0.001, 0.1, 1.0]),
)
def test_entry_quantity_never_overspends_and_leaves_under_one_lot(
    fraction: float, equity: float, price: float, fee: float, lot: float
) -> None:
    instrument = Instrument("X", tick_size=0.01, lot_step=lot, min_notional=0.0)
    calc = CostCalculator(CostConfig(taker_fee=fee, maker_fee=fee, slippage=0.0), instrument)
    quantity = calc.entry_quantity(fraction, equity, price)
    budget = fraction * equity
    spent = quantity * price * (1.0 + fee)
    assert quantity >= 0
    assert spent <= budget * (1 + 1e-12)
    assert budget - spent <= lot * price * (1.0 + fee) * (1 + 1e-9)


# -- TrailingStopManager -----------------------------------------------------------------------

trailing_policies = st.builds(
    TrailingPolicy,
    activation_pct=st.floats(0.0, 0.05),
    distance_pct=st.floats(0.001, 0.05),
    breakeven_trigger_pct=st.none() | st.floats(0.001, 0.05),
    breakeven_buffer_pct=st.floats(0.0, 0.005),
    atr_multiple=st.none() | st.floats(0.5, 3.0),
    atr_period=st.just(14),
    reference=st.sampled_from(TrailReference),
)


@st.composite
def bar_paths(draw: st.DrawFn) -> list[tuple[Bar, float]]:
    """2–30 consecutive bars (a random walk around 100) with an ATR value for each."""
    count = draw(st.integers(2, 30))
    price = 10_000
    path: list[tuple[Bar, float]] = []
    for _ in range(count):
        open_ = price
        close = max(open_ + draw(st.integers(-400, 400)), 100)
        high = max(open_, close) + draw(st.integers(0, 200))
        low = max(min(open_, close) - draw(st.integers(0, 200)), 50)
        bar = make_bar(_price(open_), _price(high), _price(low), _price(close))
        path.append((bar, draw(st.floats(0.01, 3.0))))
        price = close
    return path


@given(sides, trailing_policies, bar_paths(), st.none() | st.floats(0.01, 0.1))
def test_trailing_stop_never_loosens(
    side: PositionSide,
    policy: TrailingPolicy,
    path: list[tuple[Bar, float]],
    initial_distance: float | None,
) -> None:
    manager = TrailingStopManager(INSTRUMENT)
    stop = None
    if initial_distance is not None:
        stop = INSTRUMENT.round_price(100.0 * (1.0 - side.sign * initial_distance))
    position = make_position(side, 100.0, 1.0, stop_loss=stop)
    for bar, atr in path:
        update = manager.update(position, bar, policy, atr)
        if update is None:
            continue
        previous = position.stop_loss
        if previous is not None:
            assert update.stop_loss is not None
            assert side.sign * (update.stop_loss - previous) >= 0, "stop loosened"
        assert update.breakeven_active or not position.breakeven_active
        assert update.trailing_active or not position.trailing_active
        position = attrs.evolve(
            position,
            stop_loss=update.stop_loss,
            breakeven_active=update.breakeven_active,
            trailing_active=update.trailing_active,
        )


# -- PartialOperationsManager ------------------------------------------------------------------


@st.composite
def ladders(draw: st.DrawFn) -> tuple[tuple[float, float], ...]:
    """1–4 rungs of (strictly increasing move, size in (0, 1])."""
    moves = draw(st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True))
    sizes = draw(st.lists(st.integers(1, 100), min_size=len(moves), max_size=len(moves)))
    return tuple((move / 100, size / 100) for move, size in zip(sorted(moves), sizes, strict=True))


partial_policies = st.builds(PartialPolicy, ladders(), ladders(), st.integers(0, 3))
lot_instruments = st.sampled_from([0.00001, 0.001, 0.01, 0.1, 1.0]).map(
    lambda lot: Instrument("X", tick_size=0.01, lot_step=lot, min_notional=0.0)
)


@given(sides, partial_policies, lot_instruments, st.integers(1, 100_000), st.integers(0, 3))
def test_partial_ladders_never_oversell(
    side: PositionSide,
    policy: PartialPolicy,
    instrument: Instrument,
    original_lots: int,
    scale_ins_wanted: int,
) -> None:
    """Float quantities (as the ledger keeps them) against an exact oracle in whole lots."""
    manager = PartialOperationsManager(instrument)
    exits, scale_ins = policy.exit_targets, policy.scale_in_thresholds
    lot = instrument.lot_step
    position = make_position(side, 100.0, round(original_lots * lot, 6))
    lots = original_lots

    def rung_lots(size: float) -> int:
        # sizes are whole percentages: floor(size × original) in lots, exactly
        return round(size * 100) * original_lots // 100

    # Scale in as far as the ladder allows (each rung offered only while it is open).
    for rung in range(scale_ins_wanted):
        offered = [
            level.rung
            for level in manager.levels(position, policy)
            if level.kind is LevelKind.SCALE_IN
        ]
        if rung not in offered:
            assert rung >= min(policy.max_scale_ins, len(scale_ins))
            break
        added = manager.scale_in_quantity(position, policy, rung)
        assert added == round(rung_lots(scale_ins[rung][1]) * lot, 6)
        lots += rung_lots(scale_ins[rung][1])
        position = attrs.evolve(
            position, quantity=position.quantity + added, scale_ins_taken=rung + 1
        )
    total = position.quantity
    sold = 0.0
    for rung in range(len(exits)):
        exit_slice = manager.exit_slice(position, policy, rung)
        assert 0 <= exit_slice.quantity <= position.quantity
        expected = min(rung_lots(exits[rung][1]), lots)
        sold += exit_slice.quantity
        if exit_slice.closes_position:
            assert exit_slice.quantity == position.quantity
            assert rung == len(exits) - 1 or lots - expected == 0
            break
        assert lots - expected >= 1
        assert exit_slice.quantity == round(expected * lot, 6)
        lots -= expected
        remaining = position.quantity - exit_slice.quantity
        assert remaining >= lot * (1 - 1e-9)
        position = attrs.evolve(position, quantity=remaining, partial_exits_taken=rung + 1)
        kinds = {level.kind for level in manager.levels(position, policy)}
        assert kinds == {LevelKind.PARTIAL_EXIT}, "no scale-ins after a partial exit"
    assert abs(sold - total) <= 1e-9 * total


# -- DynamicRiskHandler ------------------------------------------------------------------------


@st.composite
def risk_configs(draw: st.DrawFn) -> DynamicRiskConfig:
    thresholds = sorted(draw(st.lists(st.integers(1, 90), min_size=1, max_size=4, unique=True)))
    factors = draw(
        st.lists(st.integers(1, 100), min_size=len(thresholds), max_size=len(thresholds))
    )
    tiers = tuple((t / 100, f / 100) for t, f in zip(thresholds, factors, strict=True))
    recovery = draw(st.integers(1, 100)) / 100
    return DynamicRiskConfig(tiers=tiers, recovery_fraction=recovery)


@given(risk_configs(), st.lists(st.floats(0.0, 1.0), max_size=40))
def test_dynamic_risk_tier_is_bounded_and_follows_its_rules(
    config: DynamicRiskConfig, drawdowns: list[float]
) -> None:
    handler = DynamicRiskHandler(config)
    tiers = config.tiers
    keep = 1.0 - config.recovery_fraction
    current = NO_TIER
    for drawdown in drawdowns:
        following = handler.update(current, drawdown)
        assert 0 <= following.tier <= len(tiers)
        expected_factor = 1.0 if following.tier == 0 else tiers[following.tier - 1][1]
        assert following.factor == expected_factor
        demanded = sum(1 for threshold, _ in tiers if drawdown >= threshold)
        assert following.tier >= demanded
        if following.tier > current.tier:
            assert following.tier == demanded
        if following.tier < current.tier:
            # every tier left was recovered from by the configured fraction
            for left in range(following.tier + 1, current.tier + 1):
                assert drawdown <= tiers[left - 1][0] * keep
        current = following
