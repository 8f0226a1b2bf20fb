"""A backtest walks its bars with the young generation collected less often and what it keeps
frozen out of the collector's sight (ADR 0023), and leaves the process's collector as it found
it: after the run, after a failed run, with nested and concurrent walks, when the process froze
objects of its own or turned automatic collection off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import attrs
import pytest

from atb.config import config_from_assignments
from atb.data.instruments import ResolvedInstrument
from atb.data.portfolio import assemble_portfolio
from atb.data.validation import validate_candles
from atb.domain.bars import Bar
from atb.domain.decisions import Action, Decision
from atb.domain.instruments import Instrument
from atb.domain.protocols import PositionState
from atb.engines.backtest import BacktestRequest, run_backtest
from atb.engines.collection_pacing import YOUNG_THRESHOLD, paced_collections
from atb.engines.portfolio.backtest import PortfolioRequest, run_portfolio_backtest
from tests.support.candle_frames import make_candles
from tests.support.scripted_strategy import ScriptedStrategy

PROCESS_THRESHOLDS = (700, 10, 10)


@pytest.fixture(autouse=True)
def _process_thresholds() -> Iterator[None]:
    """Every test starts from CPython's default thresholds, nothing frozen, and leaves the
    process's own."""
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    gc.set_threshold(*PROCESS_THRESHOLDS)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class ThresholdWitness(ScriptedStrategy):
    """A scripted strategy that notes the collector's thresholds whenever it is asked, and can
    fail at a given row."""

    def __init__(self, script: dict[int, Decision], fail_at: int | None = None) -> None:
        super().__init__(script)
        self.seen: set[tuple[int, int, int]] = set()
        self.frozen: list[int] = []
        self.fail_at = fail_at

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        self.seen.add(gc.get_threshold())
        if bar_index % 100 == 0:  # counting the frozen objects walks them all: now and then
            self.frozen.append(gc.get_freeze_count())
        if bar_index == self.fail_at:
            raise RuntimeError(f"scripted failure at row {bar_index}")
        return super().decide(bar_index, bar, position)


def _request(strategy: ThresholdWitness, bars: int = 120) -> BacktestRequest:
    candles = validate_candles(make_candles(bars, seed=11), source="test", timeframe="1h")
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


# A position open from row 1 to the end (no stop, no target) and a decision asked on every bar:
# every bar is stepped, so the walk settles every 2,048 bars.
LONG_HOLD = {1: Decision(Action.ENTER_LONG, size=0.5)} | {
    row: Decision(Action.HOLD) for row in range(2, 5000)
}


def test_a_long_walk_freezes_what_it_keeps_and_unfreezes_it_at_the_end() -> None:
    strategy = ThresholdWitness(LONG_HOLD)
    result = run_backtest(_request(strategy, bars=5000))
    assert result.open_position is not None
    assert len(strategy.frozen) == 49  # rows 100, 200, …, 4,900 (row 0 is the warm-up)
    assert strategy.frozen[:20] == [0] * 20  # up to row 2,000: nothing settled yet
    assert min(strategy.frozen[21:]) > 0  # from row 2,200 on: settled at 2,048 stepped bars
    assert gc.get_freeze_count() == 0


def test_a_process_with_frozen_objects_of_its_own_keeps_them_frozen() -> None:
    gc.freeze()  # a server before it forks, say
    frozen = gc.get_freeze_count()
    strategy = ThresholdWitness(LONG_HOLD)
    run_backtest(_request(strategy, bars=5000))
    # The walk froze nothing more (a few of the frozen objects may have been freed meanwhile)
    # and unfroze nothing.
    assert frozen - 100 < min(strategy.frozen) <= max(strategy.frozen) <= frozen
    assert frozen - 100 < gc.get_freeze_count() <= frozen
    assert strategy.seen == {(YOUNG_THRESHOLD, 10, 10)}


def test_a_portfolio_walk_settles_and_restores_the_collector() -> None:
    instrument = Instrument(symbol="AAAUSDT", tick_size=0.01, lot_step=0.00001, min_notional=5.0)
    symbols = ("AAAUSDT", "BBBUSDT")
    candles = {
        symbol: validate_candles(make_candles(1500, seed=seed), source=symbol, timeframe="1h")
        for seed, symbol in enumerate(symbols)
    }
    rules = {
        symbol: ResolvedInstrument(attrs.evolve(instrument, symbol=symbol), "test")
        for symbol in symbols
    }
    witnesses = {symbol: ThresholdWitness(LONG_HOLD) for symbol in symbols}
    result = run_portfolio_backtest(
        PortfolioRequest(
            candles=assemble_portfolio(candles, rules),
            strategies=dict(witnesses),
            config=config_from_assignments(["risk.max_position=0.4"]),
        )
    )
    assert [part.open_position is not None for part in result.symbols] == [True, True]
    for witness in witnesses.values():
        assert witness.seen == {(YOUNG_THRESHOLD, 10, 10)}
        assert witness.frozen[:5] == [0] * 5  # rows 100 … 500: nothing settled yet
        assert min(witness.frozen[6:]) > 0  # settled at bar time 512
    assert gc.get_threshold() == PROCESS_THRESHOLDS
    assert gc.get_freeze_count() == 0
