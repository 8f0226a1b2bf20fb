"""A backtest walks its bars with the young generation collected less often (ADR 0023), and
leaves the process's collector as it found it: after the run, after a failed run, with nested
and concurrent walks, and when the process turned automatic collection off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from atb.config import config_from_assignments
from atb.data.validation import validate_candles
from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decision
from atb.domain.protocols import PositionState
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.collection_pacing import YOUNG_THRESHOLD, paced_collections
from tests.support.candle_frames import make_candles
from tests.support.scripted_strategy import ScriptedStrategy

PROCESS_THRESHOLDS = (700, 10, 10)


@pytest.fixture(autouse=True)
def _process_thresholds() -> Iterator[None]:
    """Every test starts from CPython's default thresholds and leaves the process's own."""
    before = gc.get_threshold()
    gc.set_threshold(*PROCESS_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class ThresholdWitness(ScriptedStrategy):
    """A scripted strategy that notes the collector's thresholds whenever it is asked, and can
    fail at a given row."""

    def __init__(self, script: dict[int, Decision], fail_at: int | None = None) -> None:
        super().__init__(script)
        self.seen: set[tuple[int, int, int]] = set()
        self.fail_at = fail_at

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        self.seen.add(gc.get_threshold())
        if bar_index == self.fail_at:
            raise RuntimeError(f"scripted failure at row {bar_index}")
        return super().decide(bar_index, bar, position)


def _request(strategy: ThresholdWitness) -> BacktestRequest:
    candles = validate_candles(make_candles(120, seed=11), source="test", timeframe="1h")
    return BacktestRequest(
        strategy=strategy,
        candles=candles,
        config=config_from_assignments(["risk.max_position=1.0"]),
        symbol="BTCUSDT",
    )


SCRIPT = {
    20: Decision(Action.ENTER_LONG, size=0.5),
    40: Decision(Action.EXIT, reason="scripted exit"),
    60: Decision(Action.ENTER_LONG, size=0.5),
}


def test_a_backtest_walks_with_the_young_generation_paced_and_restores_the_thresholds() -> None:
    strategy = ThresholdWitness(SCRIPT)
    result = run_backtest(_request(strategy))
    assert [trade.exit_reason for trade in result.trades] == ["scripted exit"]
    assert result.open_position is not None  # the entry at row 60
    assert strategy.seen == {(YOUNG_THRESHOLD, 10, 10)}
    assert gc.get_threshold() == PROCESS_THRESHOLDS


def test_a_failed_backtest_restores_the_thresholds() -> None:
    strategy = ThresholdWitness(SCRIPT, fail_at=40)
    with pytest.raises(RuntimeError, match="scripted failure at row 40"):
        run_backtest(_request(strategy))
    assert strategy.seen == {(YOUNG_THRESHOLD, 10, 10)}
    assert gc.get_threshold() == PROCESS_THRESHOLDS


def test_nested_walks_share_one_setting_until_the_outermost_ends() -> None:
    with paced_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        with paced_collections():
            assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == PROCESS_THRESHOLDS


def test_concurrent_walks_restore_the_process_thresholds_when_the_last_one_ends() -> None:
    inside = threading.Barrier(3)
    leave = threading.Event()
    seen: list[tuple[int, int, int]] = []

    def walk() -> None:
        with paced_collections():
            inside.wait(timeout=10)
            leave.wait(timeout=10)
            seen.append(gc.get_threshold())

    threads = [threading.Thread(target=walk) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait(timeout=10)  # both walks are running
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    leave.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(seen) == 2
    assert gc.get_threshold() == PROCESS_THRESHOLDS


def test_a_process_that_collects_more_rarely_or_never_is_left_alone() -> None:
    gc.set_threshold(50_000, 20, 5)
    with paced_collections():
        assert gc.get_threshold() == (50_000, 20, 5)
    gc.set_threshold(0, 10, 10)  # automatic collection off
    with paced_collections():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)


def test_the_backtest_result_does_not_depend_on_the_collector() -> None:
    paced = run_backtest(_request(ThresholdWitness(SCRIPT)))
    # Automatic collection off, then a full collection after every young one: same run.
    gc.set_threshold(0, 10, 10)
    unpaced = run_backtest(_request(ThresholdWitness(SCRIPT)))
    gc.set_threshold(700, 1, 1)
    eager = run_backtest(_request(ThresholdWitness(SCRIPT)))
    for other in (unpaced, eager):
        assert other.trades == paced.trades
        assert other.events == paced.events
        assert other.equity == paced.equity
