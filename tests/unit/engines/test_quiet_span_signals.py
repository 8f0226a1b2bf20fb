"""`QuietSpanFinder.next_signal`: the first signal bar at or after a bar, asked in any order."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from atb.config import config_from_assignments
from atb.domain.instruments import Instrument
from atb.domain.models import ActiveTrade
from atb.engines.backtest.quiet_span import BarArrays, QuietSpanFinder
from atb.managers.book import KernelContext
from atb.managers.positions import ActiveTradeAdapter
from atb.managers.run_config import RunConfiguration


def _finder(mask: list[bool]) -> QuietSpanFinder[ActiveTrade]:
    size = len(mask)
    prices = np.full(size, 100.0)
    bars = BarArrays(
        times_ns=np.arange(size, dtype=np.int64) * 60_000_000_000,
        open=prices,
        high=prices,
        low=prices,
        close=prices,
        volume=prices,
    )
    config = config_from_assignments([])
    assert isinstance(config, RunConfiguration)
    context = KernelContext.build(
        config=config,
        instrument=Instrument("X", tick_size=0.01, lot_step=0.001, min_notional=0.0),
        positions=ActiveTradeAdapter(),
        bar_interval=timedelta(minutes=1),
    )
    return QuietSpanFinder(context, bars, np.array(mask, dtype=np.bool_))


MASK = [index % 3 == 0 and index > 40 for index in range(100)]
SIGNALS = [index for index, flag in enumerate(MASK) if flag]


def _expected(start: int) -> int:
    return next((index for index in SIGNALS if index >= start), len(MASK))


@pytest.mark.parametrize(
    "starts",
    [
        list(range(100)),  # one bar after another, as a run asks
        [0, 60, 61, 99, 42, 42, 0, 97, 98],  # far ahead, then back
        [99, 98, 50, 43, 42, 41, 40],  # ever earlier
    ],
)
def test_next_signal_answers_every_order_of_questions(starts: list[int]) -> None:
    finder = _finder(MASK)
    assert [finder.next_signal(start) for start in starts] == [_expected(s) for s in starts]


def test_without_signals_the_answer_is_the_end_of_the_bars() -> None:
    finder = _finder([False] * 10)
    assert [finder.next_signal(start) for start in (0, 5, 9)] == [10, 10, 10]
