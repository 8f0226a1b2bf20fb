"""The fast path asks a flat account's signal bars early: every signal bar is still asked exactly
once, in order, with the same position as when every bar is stepped."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from atb.config import config_from_assignments
from atb.data.validation import validate_candles
from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.protocols import PositionState
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.backtest.early_decisions import EarlyDecisions
from atb.results import BacktestResult
from atb.strategies.parameters import ParamValue
from atb.strategies.protocol import BoolArray
from tests.support.candle_frames import make_candles
from tests.support.scripted_strategy import ScriptedStrategy

ENTER = Decision(Action.ENTER_LONG, size=0.5, stop_loss_pct=0.01, take_profit_pct=0.01)
EXIT = Decision(Action.EXIT, reason="scripted exit")
SCRIPT = {
    40: HOLD,
    55: Decision(Action.HOLD, reason="still nothing"),
    70: ENTER,
    90: EXIT,
    110: HOLD,
    111: HOLD,
    130: ENTER,
    131: HOLD,
    170: EXIT,
    171: HOLD,
}


class AskedStrategy:
    """A scripted strategy that records every question it is asked: (row, flat?)."""

    def __init__(self, script: Mapping[int, Decision]) -> None:
        self.inner = ScriptedStrategy(script)
        self.name = self.inner.name
        self.parameter_specs = self.inner.parameter_specs
        self.asked: list[tuple[int, bool]] = []

    @property
    def parameters(self) -> Mapping[str, ParamValue]:
        return self.inner.parameters

    @property
    def warmup(self) -> int:
        return self.inner.warmup

    def prepare(self, frame: pd.DataFrame) -> None:
        self.inner.prepare(frame)

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        self.asked.append((bar_index, position is None))
        return self.inner.decide(bar_index, bar, position)

    def features(self) -> pd.DataFrame:
        return self.inner.features()

    def signal_mask(self) -> BoolArray:
        return self.inner.signal_mask()


def run(strategy: AskedStrategy, *, fast: bool) -> BacktestResult:
    candles = validate_candles(make_candles(200, seed=11), source="test", timeframe="1h")
    return run_backtest(
        BacktestRequest(
            strategy=strategy,
            candles=candles,
            config=config_from_assignments(["risk.max_position=1.0"]),
            symbol="BTCUSDT",
            fast=fast,
        )
    )


def test_every_signal_bar_is_asked_once_in_order_as_when_stepping() -> None:
    fast_strategy, slow_strategy = AskedStrategy(SCRIPT), AskedStrategy(SCRIPT)
    fast, slow = run(fast_strategy, fast=True), run(slow_strategy, fast=False)
    assert fast.events == slow.events
    assert fast.equity == slow.equity
    # The fast path also steps bars with fills, which ask too; no bar is asked twice, and each
    # question is one the stepping run asked.
    rows = [row for row, _flat in fast_strategy.asked]
    assert len(rows) == len(set(rows))
    assert set(fast_strategy.asked) <= set(slow_strategy.asked)
    signal_questions = [asked for asked in slow_strategy.asked if asked[0] in SCRIPT]
    assert [asked for asked in fast_strategy.asked if asked[0] in SCRIPT] == signal_questions
    # Flat signal bars, asked early (40, 55, 110, 111 hold; 70 and 130 enter; 90 and 170 find
    # nothing to exit after the 1 % stop or target closed the trade at 75 and 138) and the
    # bars after an entry, stepped for its fill.
    assert fast_strategy.asked == [
        (40, True), (55, True), (70, True), (71, False), (75, True), (90, True), (110, True),
        (111, True), (130, True), (131, False), (138, True), (170, True), (171, True), (199, True),
    ]  # fmt: skip
    assert len(fast.trades) == 2


class _Counting:
    """A decider that counts its calls and answers from a script."""

    def __init__(self, script: Mapping[int, Decision]) -> None:
        self.script = script
        self.calls = 0

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        self.calls += 1
        return self.script.get(bar_index, HOLD)


def _bar() -> Bar:
    return Bar(pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime(), 1.0, 1.0, 1.0, 1.0)


def test_an_entry_asked_early_is_handed_to_its_step_without_asking_again() -> None:
    counting = _Counting({5: ENTER, 6: HOLD})
    decisions = EarlyDecisions(counting)
    assert decisions.holds_flat(5, _bar()) is False
    assert decisions.holds_flat(5, _bar()) is False  # the finder probing the same bar again
    assert decisions.decide(5, _bar(), None) is ENTER
    assert counting.calls == 1
    assert decisions.holds_flat(6, _bar()) is True
    assert decisions.decide(6, _bar(), None) is HOLD  # a HOLD is not kept: asked again
    assert counting.calls == 3


def test_a_decision_asked_early_is_not_reused_for_another_bar_or_a_position() -> None:
    counting = _Counting({5: ENTER, 7: EXIT})
    decisions = EarlyDecisions(counting)
    assert decisions.holds_flat(5, _bar()) is False
    assert decisions.decide(7, _bar(), None) is EXIT
    assert counting.calls == 2
    assert decisions.decide(5, _bar(), None) is ENTER  # still kept for its own bar
    assert counting.calls == 2
    assert decisions.decide(5, _bar(), None) is ENTER  # used once: asked again
    assert counting.calls == 3
