"""Deciders and kernel harnesses for tests: real implementations of the domain Protocols.

`ScriptedDecider` replays decisions by bar index; `AlternatingDecider` trades a fixed rhythm over
any number of bars. `run_kernel` drives a `Kernel` over bars through a `KernelRunner`, exactly
as an engine does, for either position class.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import attrs

from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision, PolicyBundle
from atb.domain.instruments import Instrument
from atb.domain.protocols import Position, PositionState
from atb.engines.backtest.runner import KernelRunner
from atb.engines.driver import BarDriver
from atb.managers.performance import PerformanceTracker
from atb.managers.positions import PositionAdapter
from atb.managers.run_config import RunConfiguration

P = TypeVar("P", bound=Position)

BTC = Instrument(symbol="BTCUSDT", tick_size=0.01, lot_step=0.00001, min_notional=5.0)
HOUR = timedelta(hours=1)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@attrs.define
class ScriptedDecider:
    """Returns `script[bar_index]` (HOLD elsewhere) and remembers what it was shown (a copy:
    the position handed to `decide` is valid for the call only)."""

    script: Mapping[int, Decision]
    seen_positions: list[PositionState | None] = attrs.field(factory=list)

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        self.seen_positions.append(copy.copy(position))
        return self.script.get(bar_index, HOLD)


@attrs.frozen
class AlternatingDecider:
    """Enters every `period` bars when flat (alternating long and short when `both_sides`),
    and exits after `hold` bars if still open. Deterministic over any bar series."""

    period: int
    hold: int
    size: float
    both_sides: bool = True
    stop_loss_pct: float | None = 0.03
    take_profit_pct: float | None = None
    policies: PolicyBundle | None = None

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        if position is None:
            if bar_index % self.period != 0:
                return HOLD
            short = self.both_sides and (bar_index // self.period) % 2 == 1
            return Decision(
                Action.ENTER_SHORT if short else Action.ENTER_LONG,
                size=self.size,
                stop_loss_pct=self.stop_loss_pct,
                take_profit_pct=self.take_profit_pct,
                policies=self.policies,
            )
        if bar_index % self.period == self.hold:
            return Decision(Action.EXIT, reason="scripted exit")
        return HOLD


def bars_from_rows(
    rows: Sequence[tuple[float, float, float, float]], start: datetime = T0
) -> list[Bar]:
    """Bars of one hour from (open, high, low, close) rows."""
    return [
        Bar(start + index * HOUR, o, h, low, c, 1.0) for index, (o, h, low, c) in enumerate(rows)
    ]


def load_sample_bars(path: Path) -> list[Bar]:
    """The real BTCUSDT sample as `Bar`s (plain csv reading, no pandas needed here)."""
    bars: list[Bar] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            time = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
            bars.append(
                Bar(
                    time,
                    float(row["open"]),
                    float(row["high"]),
                    float(row["low"]),
                    float(row["close"]),
                    float(row["volume"]),
                )
            )
    return bars


def run_kernel(
    bars: Sequence[Bar],
    decider: ScriptedDecider | AlternatingDecider,
    positions: PositionAdapter[P],
    *,
    config: RunConfiguration | None = None,
    cash: float = 10_000.0,
    instrument: Instrument = BTC,
) -> KernelRunner[P]:
    """Run every bar through a fresh kernel and return the runner (state, events, tracker)."""
    kernel = BarDriver(
        config=config or RunConfiguration.default(),
        instrument=instrument,
        positions=positions,
        decider=decider,
        bar_interval=HOUR,
    )
    runner = KernelRunner(kernel, kernel.initial_state(cash), PerformanceTracker(cash, HOUR))
    for index, bar in enumerate(bars):
        runner.feed(bar, index)
    return runner
