"""The lockstep replay clock: it moves one bar at a time, only when asked, never past the end."""

from __future__ import annotations

import threading

import pytest

from atb.venues.sandbox.clock import LockstepClock

BAR = 60_000


def test_it_stands_still_until_advanced_and_stops_at_the_end() -> None:
    clock = LockstepClock(1_000_000, bar_ms=BAR, end_ms=1_000_000 + 3 * BAR)
    assert clock() == clock() == 1_000_000
    assert clock.advance() == 1_000_000 + BAR
    assert clock.advance(5) == 1_000_000 + 3 * BAR  # clamped to the end of the replay
    assert clock.advance_from(clock()) is False
    assert clock() == 1_000_000 + 3 * BAR
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)


def test_many_callers_that_saw_the_same_instant_move_it_once() -> None:
    clock = LockstepClock(0, bar_ms=BAR, end_ms=100 * BAR)
    seen = clock()
    moved: list[bool] = []
    barrier = threading.Barrier(8)

    def caller() -> None:
        barrier.wait()
        moved.append(clock.advance_from(seen))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(moved) == [False] * 7 + [True]
    assert clock() == BAR
