"""sma_cross and buy_and_hold decisions on a tiny hand-built frame."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.models import ActiveTrade
from atb.domain.sides import PositionSide
from atb.strategies import Strategy, create_strategy
from atb.strategies.buy_and_hold import BuyAndHold
from atb.strategies.definition import DefinedStrategy
from atb.strategies.row import Row
from atb.strategies.sma_cross import SmaCross
from tests.unit.strategies.frames import frame_from_closes

# fast SMA(2) vs slow SMA(3): regime 0 at row 2, −1 at rows 3-5, +1 at rows 6-8, −1 at 9-10,
# so crosses are bearish at 3, bullish at 6, bearish at 9.
CLOSES = [10, 10, 10, 9, 8, 9, 11, 12, 11, 9, 8]
BAR = Bar(datetime(2024, 1, 1, tzinfo=UTC), 10.0, 10.0, 10.0, 10.0)


def position(side: PositionSide) -> ActiveTrade:
    return ActiveTrade(
        position_id="p1",
        symbol="TEST",
        side=side,
        entry_price=10.0,
        first_entry_price=10.0,
        entry_time=BAR.time,
        quantity=1.0,
        original_quantity=1.0,
        best_price=10.0,
        worst_price=10.0,
    )


LONG, SHORT = position(PositionSide.LONG), position(PositionSide.SHORT)


def prepared(**params: object) -> Strategy:
    strategy = create_strategy("sma_cross", {"fast": 2, "slow": 3, **params})
    assert isinstance(strategy, DefinedStrategy)
    assert isinstance(strategy.definition, SmaCross)
    strategy.prepare(frame_from_closes(CLOSES))
    return strategy


def test_features_by_hand() -> None:
    features = prepared().features()
    assert list(features.columns) == ["fast_sma", "slow_sma", "cross", "may_act"]
    assert features["fast_sma"].iloc[3] == 9.5
    assert features["slow_sma"].iloc[3] == pytest.approx(29 / 3)
    assert np.isnan(features["slow_sma"].iloc[1])
    assert list(features["cross"]) == [0, 0, 0, -1, 0, 0, 1, 0, 0, -1, 0]


def test_long_only_decisions() -> None:
    strategy = prepared(stop_loss=0.02, take_profit=0.05, size=0.5)
    assert list(np.flatnonzero(strategy.signal_mask())) == [3, 6, 9]
    entry = strategy.decide(6, BAR, None)
    assert entry == Decision(
        Action.ENTER_LONG, size=0.5, stop_loss_pct=0.02, take_profit_pct=0.05,
        reason="bullish cross",
    )  # fmt: skip
    assert strategy.decide(6, BAR, LONG) is HOLD
    assert strategy.decide(9, BAR, LONG) == Decision(Action.EXIT, reason="bearish cross")
    assert strategy.decide(9, BAR, None) is HOLD
    assert strategy.decide(3, BAR, None) is HOLD
    assert strategy.decide(7, BAR, None) is HOLD


def test_shorts_and_reversal() -> None:
    strategy = prepared(allow_short=True)
    assert list(np.flatnonzero(strategy.signal_mask())) == [3, 6, 9]
    assert strategy.decide(3, BAR, None).action is Action.ENTER_SHORT
    assert strategy.decide(3, BAR, SHORT) is HOLD
    reverse = strategy.decide(6, BAR, SHORT)
    assert reverse == Decision(Action.ENTER_LONG, size=1.0, reason="bullish cross")
    assert strategy.decide(6, BAR, LONG) is HOLD
    assert strategy.decide(9, BAR, LONG).action is Action.ENTER_SHORT
    assert strategy.decide(9, BAR, None).action is Action.ENTER_SHORT
    assert strategy.decide(7, BAR, None) is HOLD


def test_the_strategy_class_alone_decides_from_a_row() -> None:
    # Without the registry or an engine: features over a frame, then a row per bar.
    strategy = SmaCross(fast=2, slow=3, size=0.5)
    frame = frame_from_closes(CLOSES)
    features = strategy.features(frame)
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    columns.update({str(name): features[name].to_numpy(dtype=np.float64) for name in features})
    at_six = Row(columns, 6, frame.index[6].to_pydatetime())
    assert at_six.close == 11.0
    assert at_six["cross"] == 1.0
    assert strategy.decide(at_six, None) == Decision(
        Action.ENTER_LONG, size=0.5, reason="bullish cross"
    )
    assert strategy.decide(Row(columns, 7, frame.index[7].to_pydatetime()), None) is HOLD


def test_defaults_and_protocol() -> None:
    strategy: Strategy = DefinedStrategy(SmaCross())
    assert strategy.parameters == {
        "fast": 10, "slow": 30, "stop_loss": None, "take_profit": None, "size": 1.0,
        "allow_short": False,
    }  # fmt: skip
    assert strategy.warmup == 31


def test_buy_and_hold() -> None:
    strategy: Strategy = DefinedStrategy(BuyAndHold())
    strategy.prepare(frame_from_closes(CLOSES))
    assert strategy.signal_mask().all()
    assert strategy.warmup == 1
    assert strategy.decide(0, BAR, None) == Decision(
        Action.ENTER_LONG, size=1.0, reason="buy and hold"
    )
    assert strategy.decide(5, BAR, LONG) is HOLD


def test_use_before_prepare_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"sma_cross: prepare\(frame\) must be called"):
        DefinedStrategy(SmaCross()).features()


def test_frame_without_ohlcv_is_an_error() -> None:
    frame = frame_from_closes(CLOSES).drop(columns=["volume"])
    with pytest.raises(ValueError, match="candle frame lacks column"):
        DefinedStrategy(SmaCross()).prepare(frame)
