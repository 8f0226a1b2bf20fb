"""The benchmarks' yardsticks keep to atb's rules: the plain loop (`benchmarks/plain_loop.py`)
and the lean-step spike (`benchmarks/lean_kernel_spike.py`, ADR 0022) give atb's very trades on
the peer benchmark's rules, so the speeds they report stay comparable as the kernel changes."""

from __future__ import annotations

import pytest
from benchmarks.lean_kernel_spike import run_lean
from benchmarks.same_rules import run_atb, run_hand_written, same_trades
from benchmarks.synthetic import synthetic_minutes

from atb.data.candles import ValidatedCandles

CASES = [pytest.param(10, 30, id="spec sma 10/30"), pytest.param(2, 3, id="heavy sma 2/3")]


@pytest.fixture(scope="module")
def minutes() -> ValidatedCandles:
    """Twenty thousand seeded synthetic one-minute bars."""
    return synthetic_minutes(20_000)


@pytest.mark.parametrize(("fast", "slow"), CASES)
def test_the_plain_loop_trades_as_atb_does(minutes: ValidatedCandles, fast: int, slow: int) -> None:
    ours = run_atb(minutes, fast, slow)
    plain = run_hand_written(minutes, fast, slow)
    assert len(ours) > 100
    assert len(plain) == len(ours)
    assert same_trades(plain, ours)
    assert [trade[:2] for trade in plain] == [trade[:2] for trade in ours]


@pytest.mark.parametrize(("fast", "slow"), CASES)
def test_the_lean_step_trades_as_atb_does(minutes: ValidatedCandles, fast: int, slow: int) -> None:
    ours = run_atb(minutes, fast, slow)
    lean, _loop_seconds, _building_seconds, steps = run_lean(minutes, fast, slow)
    assert same_trades(lean, ours)
    # Each trade needs at least its entry signal, entry fill and exit to be stepped.
    assert steps >= 2 * len(ours)


def test_a_changed_trade_is_told_apart(minutes: ValidatedCandles) -> None:
    ours = run_atb(minutes, 2, 3)
    entry, exit, entry_price, exit_price = ours[5]
    moved = [*ours[:5], (entry, exit + 1, entry_price, exit_price), *ours[6:]]
    repriced = [*ours[:5], (entry, exit, entry_price, exit_price * 1.001), *ours[6:]]
    assert not same_trades(moved, ours)
    assert not same_trades(repriced, ours)
    assert not same_trades(ours[:-1], ours)
