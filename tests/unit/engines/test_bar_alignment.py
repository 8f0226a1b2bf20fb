"""`BarAlignment`: a live portfolio steps each bar time once, in order, with every symbol that
has a bar there; a gap is known from a later bar, a symbol whose feed is behind is waited for,
a late bar (its feed past the bar's close without it) is waited for a while, then dropped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.domain.bars import Bar
from atb.engines.live.bar_alignment import BarAlignment, ReadyTime

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def bar(index: int, close: float = 100.0) -> Bar:
    return Bar(T0 + index * STEP, close, close, close, close, 1.0)


def closed(index: int) -> datetime:
    """A feed's clock once bar `index` has closed."""
    return T0 + (index + 1) * STEP


def times(ready: Sequence[ReadyTime]) -> list[int]:
    return [int((item.time - T0) / STEP) for item in ready]


def test_a_time_waits_until_every_symbol_has_its_bar() -> None:
    alignment = BarAlignment(("B", "A"), interval=STEP, late_after=30.0)
    assert alignment.symbols == ("A", "B")
    alignment.offer("A", [bar(0)], closed(0))
    assert alignment.ready(now=1.0) == []  # B not polled yet: behind
    alignment.offer("B", [bar(0)], closed(0))
    [released] = alignment.ready(now=2.0)
    assert released.time == T0
    assert list(released.bars) == ["A", "B"]
    assert released.late == ()
    assert alignment.last_time == T0


def test_a_later_bar_proves_a_gap_without_waiting() -> None:
    alignment = BarAlignment(("A", "B"), interval=STEP, late_after=1e9)
    alignment.offer("A", [bar(0), bar(1), bar(2)], closed(2))
    alignment.offer("B", [bar(0), bar(2)], closed(2))  # B has no bar at 1
    released = alignment.ready(now=0.0)
    assert times(released) == [0, 1, 2]
    assert [sorted(item.bars) for item in released] == [["A", "B"], ["A"], ["A", "B"]]
    assert all(item.late == () for item in released)


def test_a_symbol_behind_is_waited_for_however_long() -> None:
    """A replay serving one bar per poll: C's data starts later, so its first bars are ahead of
    A's; A is behind, not late — nothing is stepped without it."""
    alignment = BarAlignment(("A", "C"), interval=STEP, late_after=0.0)
    alignment.offer("A", [bar(0)], closed(0))
    alignment.offer("C", [bar(5)], closed(5))
    assert times(alignment.ready(now=1e9)) == [0]  # C absent at 0: its head is later
    assert alignment.ready(now=2e9) == []  # 5 waits for A, whose feed is at 1
    for index in range(1, 6):
        alignment.offer("A", [bar(index)], closed(index))
    released = alignment.ready(now=3e9)
    assert times(released) == [1, 2, 3, 4, 5]
    assert list(released[-1].bars) == ["A", "C"]


def test_an_ended_feed_is_absent_from_then_on() -> None:
    alignment = BarAlignment(("A", "B"), interval=STEP, late_after=1e9)
    alignment.offer("A", [bar(0), bar(1)], closed(1))
    alignment.offer("B", [bar(0)], closed(0))
    assert times(alignment.ready(now=0.0)) == [0]
    alignment.end("B")
    [released] = alignment.ready(now=0.0)
    assert list(released.bars) == ["A"]
    assert alignment.exhausted is False  # A's feed has not ended
    alignment.end("A")
    assert alignment.exhausted is True


def test_a_late_symbol_is_waited_for_then_stepped_without_and_its_bar_dropped() -> None:
    alignment = BarAlignment(("A", "B"), interval=STEP, late_after=10.0)
    alignment.offer("A", [bar(0)], closed(0))
    alignment.offer("B", [], closed(0))  # B's feed is past bar 0's close without it
    assert alignment.ready(now=100.0) == []
    assert alignment.ready(now=109.9) == []
    [released] = alignment.ready(now=110.0)
    assert list(released.bars) == ["A"]
    assert released.late == ("B",)
    dropped = alignment.offer("B", [bar(0), bar(1)], closed(1))
    assert dropped == [bar(0)]
    assert alignment.waiting == 1  # B's bar 1 waits for A's


def test_repeats_and_bars_before_a_restart_are_ignored() -> None:
    alignment = BarAlignment(("A",), interval=STEP, late_after=0.0, last_time=T0 + STEP)
    assert alignment.offer("A", [bar(0), bar(1)], closed(1)) == [bar(0), bar(1)]
    assert alignment.offer("A", [bar(1), bar(2)], closed(2)) == []  # 1 repeats: ignored
    assert alignment.offer("A", [bar(2)], closed(2)) == []
    assert times(alignment.ready(now=0.0)) == [2]


def test_a_negative_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="late_after must be >= 0"):
        BarAlignment(("A",), interval=STEP, late_after=-1.0)


@given(
    st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=30),
    st.lists(st.integers(min_value=1, max_value=5), min_size=3, max_size=3),
    st.floats(min_value=0.0, max_value=5.0),
)
def test_released_times_match_the_backtest_axis_whatever_the_arrival(
    has_bar: list[list[bool]], chunk: list[int], late_after: float
) -> None:
    """Replay feeds that answer in chunks of any size release exactly the times and present
    symbols of the union axis — as a backtest steps them — whatever the timeout and however
    much time passes: a replay's clock is its last bar, so no symbol is ever late."""
    symbols = ("A", "B", "C")
    series = {
        symbol: [bar(index) for index, row in enumerate(has_bar) if row[column]]
        for column, symbol in enumerate(symbols)
    }
    alignment = BarAlignment(symbols, interval=STEP, late_after=late_after)
    released: list[ReadyTime] = []
    cursor = dict.fromkeys(symbols, 0)
    now = 0.0
    while not alignment.exhausted:
        for column, symbol in enumerate(symbols):
            start = cursor[symbol]
            given_bars = series[symbol][start : start + chunk[column]]
            cursor[symbol] += len(given_bars)
            served = series[symbol][: cursor[symbol]]
            clock = served[-1].time + STEP if served else T0
            assert alignment.offer(symbol, given_bars, clock) == []
            if cursor[symbol] == len(series[symbol]):
                alignment.end(symbol)
        now += 100.0
        released.extend(alignment.ready(now))
    expected = [
        (index, [symbol for column, symbol in enumerate(symbols) if row[column]])
        for index, row in enumerate(has_bar)
        if any(row)
    ]
    assert [(times([item])[0], list(item.bars)) for item in released] == expected
    assert all(item.late == () for item in released)
