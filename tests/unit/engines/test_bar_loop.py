"""`BarLoop` keeps the run's book from bar to bar (ADR 0022): the same bars give the same states
and outcomes as stepping frozen states one by one, and a live loop that failed part-way through
a bar is back at the last recorded bar, so processing that bar again continues as if nothing
had happened."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from atb.config import config_from_assignments
from atb.domain.bars import Bar
from atb.domain.models import ActiveTrade
from atb.engines.bar_loop import BarLoop
from atb.engines.driver import BarDriver
from atb.managers.book import Book
from atb.managers.kernel_state import BarOutcome, KernelState, StepResult
from atb.managers.positions import ActiveTradeAdapter
from atb.managers.volatility import PriceHistory
from tests.support.scripted import BTC, HOUR, AlternatingDecider, bars_from_rows

ROWS = [
    (100.0, 101.0, 99.0, 100.5),
    (100.5, 103.0, 100.0, 102.5),
    (102.5, 104.0, 97.0, 103.5),
    (103.5, 103.8, 98.0, 98.5),
    (98.5, 100.0, 97.0, 99.5),
    (99.5, 102.0, 99.0, 101.0),
    (101.0, 101.5, 96.0, 96.5),
    (96.5, 99.0, 96.0, 98.0),
]
BARS = bars_from_rows(ROWS)


def _driver() -> BarDriver[ActiveTrade]:
    return BarDriver(
        config=config_from_assignments(["risk.max_position=0.5", "dynamic_risk=None"]),
        instrument=BTC,
        positions=ActiveTradeAdapter(),
        decider=AlternatingDecider(period=3, hold=1, size=0.5, take_profit_pct=0.02),
        bar_interval=HOUR,
    )


@attrs.define
class _Window:
    """Rows by bar time (a bar pushed again keeps its row, as the live window does)."""

    times: list[object] = attrs.field(factory=list)

    def push(self, bar: Bar) -> tuple[int, PriceHistory | None]:
        if bar.time not in self.times:
            self.times.append(bar.time)
        return self.times.index(bar.time), None


@attrs.define
class _Recorder:
    """Keeps each bar's outcome and frozen state; fails once at `fail_at` when set."""

    fail_at: int | None = None
    kept: list[StepResult[ActiveTrade]] = attrs.field(factory=list)

    def record(
        self, bar: Bar, outcome: BarOutcome, book: Book[ActiveTrade], detail: Sequence[Bar]
    ) -> None:
        if self.fail_at is not None and BARS.index(bar) == self.fail_at:
            self.fail_at = None
            raise RuntimeError("the store did not write")
        self.kept.append(StepResult.of(book.snapshot(), outcome))


def _stepped() -> list[StepResult[ActiveTrade]]:
    driver = _driver()
    state: KernelState[ActiveTrade] = driver.initial_state(10_000.0)
    results = []
    for index, bar in enumerate(BARS):
        result = driver.step(state, bar, index)
        results.append(result)
        state = result.state
    return results


def test_the_loop_gives_what_stepping_frozen_states_gives() -> None:
    driver = _driver()
    recorder = _Recorder()
    loop = BarLoop(driver, _Window(), recorder, driver.initial_state(10_000.0))
    for bar in BARS:
        loop.feed(bar)
    expected = _stepped()
    assert sum(len(result.events) for result in expected) >= 6
    assert recorder.kept == expected
    assert loop.state == expected[-1].state


def test_a_live_loop_that_failed_in_a_bar_processes_it_again_from_the_last_recorded_one() -> None:
    driver = _driver()
    recorder = _Recorder(fail_at=4)
    loop = BarLoop(
        driver, _Window(), recorder, driver.initial_state(10_000.0), snapshot_every_bar=True
    )
    for bar in BARS[:4]:
        loop.feed(bar)
    with pytest.raises(RuntimeError, match="did not write"):
        loop.feed(BARS[4])
    expected = _stepped()
    assert loop.state == expected[3].state
    assert loop.last_time == BARS[3].time
    for bar in BARS[4:]:
        loop.feed(bar)
    assert recorder.kept == expected
    assert loop.state == expected[-1].state
