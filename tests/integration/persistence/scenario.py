"""A deterministic live-like session for the store tests: the real kernel with `LivePosition`s,
a seeded random-walk series and a decider that enters both sides, swaps policies and exits, with
trailing stops, partial exits, scale-ins, time exits (max holding, weekend flat: entries refused
over the weekend) and dynamic risk on, so every table gets rows.

`run_session(db, total)` is what a live engine does with the store: resume the active session
(or create it), reload the last committed state, and process the remaining bars one by one,
recording each in one transaction. It also runs as `python -m tests.integration.persistence.
scenario DB TOTAL` for the lock and crash tests (printing "bar N" after each commit).
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from atb.config import config_from_assignments
from atb.domain.bars import Bar
from atb.domain.decisions import HOLD, Action, Decision
from atb.domain.instruments import Instrument
from atb.domain.models import LivePosition
from atb.domain.protocols import PositionState
from atb.engines.driver import BarDriver
from atb.managers.kernel_state import KernelState, StepResult
from atb.managers.positions import LivePositionAdapter
from atb.persistence.store import SessionStore
from atb.strategies.policies import policy_bundle, trailing

HOUR = timedelta(hours=1)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
INSTRUMENT = Instrument(symbol="BTCUSDT", tick_size=0.01, lot_step=0.00001, min_notional=5.0)
CONFIG = config_from_assignments(
    [
        "trailing=on",
        "partials=on",
        "time_exits.max_holding=4h",
        "time_exits.weekend_flat=true",
        "risk.max_position=0.6",
        "risk.max_drawdown=0.12",
        "dynamic_risk.tiers=[[0.01, 0.8], [0.03, 0.5]]",
    ]
)
STRATEGY, SYMBOL, TIMEFRAME = "scenario", "BTCUSDT", "1h"


class ScenarioDecider:
    """Enters every 5 bars when flat (long, then short), swaps policies 2 bars later, exits 4
    bars after the entry; a pure function of the bar index and the position (resume-safe)."""

    def decide(self, bar_index: int, bar: Bar, position: PositionState | None) -> Decision:
        phase = bar_index % 5
        if position is None:
            if phase != 0:
                return HOLD
            side = Action.ENTER_LONG if (bar_index // 5) % 2 == 0 else Action.ENTER_SHORT
            return Decision(side, size=0.5, stop_loss_pct=0.02, reason=f"enter at {bar_index}")
        if phase == 2:
            bundle = policy_bundle(trailing=trailing(distance_pct=0.008))
            return Decision(Action.HOLD, policies=bundle, reason="tighten trailing")
        if phase == 4:
            return Decision(Action.EXIT, reason="scenario exit")
        return HOLD


def make_kernel(id_prefix: str) -> BarDriver[LivePosition]:
    """The scenario's kernel (live position class)."""
    return BarDriver(
        config=CONFIG,
        instrument=INSTRUMENT,
        positions=LivePositionAdapter(),
        decider=ScenarioDecider(),
        bar_interval=HOUR,
        id_prefix=id_prefix,
    )


def make_bars(count: int, seed: int = 7) -> list[Bar]:
    """A seeded hourly random walk (about 1.2 % per bar) with valid OHLC."""
    rng = random.Random(seed)
    price = 100.0
    bars: list[Bar] = []
    for index in range(count):
        open_ = round(price * (1 + rng.uniform(-0.004, 0.004)), 2)
        close = round(open_ * (1 + rng.gauss(0.0, 0.012)), 2)
        high = round(max(open_, close) * (1 + rng.uniform(0, 0.01)), 2)
        low = round(min(open_, close) * (1 - rng.uniform(0, 0.01)), 2)
        bars.append(Bar(T0 + index * HOUR, open_, high, low, close, rng.uniform(1, 50)))
        price = close
    return bars


def reference_run(count: int, id_prefix: str = "s1") -> list[StepResult[LivePosition]]:
    """The uninterrupted run over the first `count` bars: one step result per bar."""
    kernel = make_kernel(id_prefix)
    state: KernelState[LivePosition] = kernel.initial_state(10_000.0)
    results: list[StepResult[LivePosition]] = []
    for index, bar in enumerate(make_bars(count)):
        result = kernel.step(state, bar, index)
        results.append(result)
        state = result.state
    return results


def run_session(db: Path, total: int, *, announce: bool = False) -> int:
    """Resume (or start) the scenario session in `db` and process bars up to `total`.

    Returns the session id. With `announce`, prints `bar N` after each committed bar.
    """
    with SessionStore.open(db) as store:
        session = store.find_active_session(STRATEGY, SYMBOL, TIMEFRAME)
        if session is None:
            session = store.create_session(
                strategy=STRATEGY,
                symbol=SYMBOL,
                timeframe=TIMEFRAME,
                params={"size": 0.5},
                config=CONFIG,
                initial_balance=10_000.0,
            )
        else:
            session = store.resume_session(session.id)
        kernel = make_kernel(session.id_prefix)
        loaded = store.load_state(session.id)
        state = kernel.initial_state(10_000.0) if loaded is None else loaded[0]
        bars = make_bars(total)
        start = 0 if loaded is None else next(i for i, b in enumerate(bars) if b.time > loaded[1])
        for index in range(start, total):
            result = kernel.step(state, bars[index], index)
            store.record_step(session.id, bars[index], result)
            state = result.state
            if announce:
                print(f"bar {index + 1}", flush=True)
        return session.id


if __name__ == "__main__":
    run_session(Path(sys.argv[1]), int(sys.argv[2]), announce=True)
