"""A real session (`atb live --live-trading`, a subprocess) against a local exchange that fails
the ways real exchanges fail, and an exchange that trades on while the session is down.

- With every fault enabled at a few percent (429 and 418 with `Retry-After`, 500, requests that
  hang before or after the exchange processed them; seeded), the session decides exactly what a
  session without faults decides, trades the same trades, and never sends a client id twice.
- A position left alone while atb is killed for ten bars is stopped out by the exchange at its
  level; the restarted session folds that fill into the bar it happened in and carries on.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from atb.domain.events import DecisionMade, OrderFilled
from atb.domain.fills import FillKind
from atb.persistence.store import SessionStore
from atb.venues.sandbox.exchange import OrderType
from atb.venues.sandbox.faults import Fault, FaultPlan
from atb.venues.sandbox.server import RequestSeen
from tests.support.rehearsal import (
    HOUR_MS,
    Rehearsal,
    demo_bars,
    last_processed,
    rehearsal,
    run_to_end,
    start_session,
)

FAULT_RATES = {
    Fault.RATE_LIMITED: 0.01,
    Fault.BANNED: 0.005,
    Fault.SERVER_ERROR: 0.01,
    Fault.HANG: 0.005,
    Fault.HANG_AFTER: 0.01,
}
"""Four percent of requests fail, one way or another; six attempts in a row fail about once in
a billion."""
FAULT_SEED = 15


@attrs.define
class CountedFaults(FaultPlan):
    """A seeded fault plan that counts what it drew."""

    drawn: collections.Counter[Fault | None] = attrs.field(factory=collections.Counter)
    _count_lock: threading.Lock = attrs.field(factory=threading.Lock)

    def next_fault(self) -> Fault | None:
        fault = super().next_fault()
        with self._count_lock:
            self.drawn[fault] += 1
        return fault


@attrs.frozen
class Outcome:
    decisions: list[tuple[datetime, str, str]]
    trades: list[tuple[object, ...]]
    balances: dict[str, float]
    duplicates: list[str]
    seconds: float
    feed_errors: int


def _run(tmp_path: Path, name: str, faults: FaultPlan | None) -> Outcome:
    db, log = tmp_path / f"{name}.sqlite3", tmp_path / f"{name}.log"
    started = time.monotonic()
    with rehearsal(demo_bars()) as staged:
        if faults is not None:
            # From the session's first account read on: the start before it (`load_markets`)
            # is not retried by `atb live` (see the report of this test's author).
            def enable(seen: RequestSeen) -> bool:
                if seen.path == "/api/v3/account" and staged.server.faults is not faults:
                    staged.server.faults = faults
                return False

            staged.on_request = enable
        process = start_session(staged, db, log)
        run_to_end(staged, process, db)
        feed_errors = sum(1 for e in process.log_events() if e.get("event") == "feed_error")
        balances = staged.balances()
        duplicates = staged.duplicates()
    seconds = time.monotonic() - started
    with SessionStore.open(db, read_only=True) as store:
        (session,) = store.list_sessions()
        decisions = [
            (e.time, e.action, e.reason)
            for e in store.events(session.id)
            if isinstance(e, DecisionMade)
        ]
        trades: list[tuple[object, ...]] = [
            (t.entry_time, t.exit_time, t.entry_price, t.exit_price, t.quantity, t.exit_reason)
            for t in store.trades(session.id)
        ]
    return Outcome(decisions, trades, balances, duplicates, seconds, feed_errors)


def test_with_every_fault_at_a_few_percent_a_session_decides_and_trades_as_without(
    tmp_path: Path,
) -> None:
    faults = CountedFaults(FAULT_RATES, seed=FAULT_SEED, retry_after_s=0, hang_s=0.05)
    # Side by side (two exchanges, two sessions): the test takes the faulty run's time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        calm_run = pool.submit(_run, tmp_path, "calm", None)
        faulty_run = pool.submit(_run, tmp_path, "faulty", faults)
        calm, faulty = calm_run.result(), faulty_run.result()
    print(  # the numbers behind the test (pytest -s)
        f"calm {calm.seconds:.1f} s, faulty {faulty.seconds:.1f} s; "
        f"requests {faults.drawn.total()}, faults "
        f"{ {f.value: n for f, n in faults.drawn.items() if f is not None} }, "
        f"feed errors {faulty.feed_errors}"
    )
    # Every kind of fault happened, many times.
    assert all(faults.drawn[fault] >= 3 for fault in FAULT_RATES), faults.drawn
    assert sum(faults.drawn[fault] for fault in FAULT_RATES) >= 40
    assert faulty.duplicates == []
    assert len(calm.decisions) >= 6
    assert faulty.decisions == calm.decisions
    assert len(calm.trades) >= 5
    assert faulty.trades == calm.trades
    assert faulty.balances == calm.balances


# --- a position stopped out by the exchange while atb is down ----------------------------------

ENTRY_BAR = datetime(2025, 2, 7, 15, tzinfo=UTC)
"""The DEMO bar whose open fills an entry (sma_cross, `STRATEGY_ARGS`) that then falls through
its 2 % stop seven bars later (the 22:00 bar) without reaching a target or the scale-in rung."""
STOP_BAR = datetime(2025, 2, 7, 22, tzinfo=UTC)
DOWN_BARS = 10


@attrs.define
class KillAtEntry:
    """Kills the session at its first candle request once the position entered at `ENTRY_BAR`'s
    open rests protected on the exchange (the request is dropped: the clock stays put)."""

    staged: Rehearsal
    pid: int = 0
    stops: list[str] = attrs.Factory(list)
    fired: threading.Event = attrs.Factory(threading.Event)

    def __call__(self, seen: RequestSeen) -> bool:
        if self.fired.is_set() or seen.answered or seen.path != "/api/v3/klines":
            return False
        if self.staged.clock() != _ms(ENTRY_BAR):
            return False
        stops = [
            order.client_order_id
            for order in self.staged.exchange.open_orders()
            if order.type is OrderType.STOP_LOSS_LIMIT and order.side == "SELL"
        ]
        if not stops:
            return False
        self.stops.extend(stops)
        os.kill(self.pid, signal.SIGKILL)
        self.fired.set()
        return True


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_a_position_left_while_atb_is_down_is_stopped_out_at_its_level_and_applied_on_restart(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars(8)) as staged:
        kill = KillAtEntry(staged)
        staged.on_request = kill
        first = start_session(staged, db, log)
        kill.pid = first.process.pid
        assert kill.fired.wait(timeout=60), "the session never held the position"
        first.kill()
        assert first.process.returncode == -signal.SIGKILL
        processed = last_processed(db)
        assert processed is not None
        assert _ms(processed.time) == _ms(ENTRY_BAR) - HOUR_MS  # the deciding bar, stored

        # Ten bars trade while atb is down; the exchange's stop fills at its level.
        staged.clock.advance(DOWN_BARS)
        legs = [staged.exchange.order(None, client_id) for client_id in kill.stops]
        assert len(legs) >= 2  # the position's tranches (an OCO list's stop leg each)
        assert [leg.status for leg in legs] == ["FILLED"] * len(legs)
        by_order = {leg.order_id: leg for leg in legs}
        fills = [trade for trade in staged.exchange.trades() if trade.order_id in by_order]
        assert {trade.order_id for trade in fills} == set(by_order)
        bars = {_ms(bar.time): bar for bar in staged.bars}
        (stop_price,) = {leg.stop_price for leg in legs}
        assert stop_price is not None
        (fill_bar_ms,) = {trade.time_ms - trade.time_ms % HOUR_MS for trade in fills}
        fill_bar = bars[fill_bar_ms]
        expected_price = min(stop_price, fill_bar.open)  # the level, or the open gapping through
        assert all(trade.price == expected_price for trade in fills)
        assert fill_bar.low <= stop_price
        assert fill_bar.time == STOP_BAR  # seven bars into the ten atb was down
        sold = sum(trade.quantity for trade in fills)

        # atb comes back: it applies the fill in its bar and trades on to the end.
        staged.on_request = None
        second = start_session(staged, db, log)
        run_to_end(staged, second, db)
        assert staged.duplicates() == []
        balances = staged.balances()
    refused = [e for e in second.log_events(own=True) if e.get("event") in ("error", "adopted")]
    assert refused == []

    with SessionStore.open(db, read_only=True) as store:
        (session,) = store.list_sessions()
        trades = store.trades(session.id)
        events = store.events(session.id)
        loaded = store.load_state(session.id)
    assert loaded is not None
    state, _time = loaded
    (stopped,) = [t for t in trades if t.entry_time == ENTRY_BAR]
    assert stopped.exit_reason == "stop loss"
    # The exchange's price: the venue averages the legs' fills (38834.64 three times comes
    # back as 38834.64000000001), hence a relative 1e-12.
    assert stopped.exit_price == pytest.approx(expected_price, rel=1e-12)
    assert stopped.exit_time == fill_bar.time
    assert stopped.quantity == pytest.approx(sold, rel=1e-12)
    (exit_fill,) = [
        e.fill
        for e in events
        if isinstance(e, OrderFilled)
        and e.position_id == stopped.trade_id
        and e.fill.kind is FillKind.EXIT
    ]
    assert exit_fill.time == fill_bar.time  # the bar the exchange filled it in
    assert exit_fill.price == pytest.approx(expected_price, rel=1e-12)
    assert exit_fill.quantity == pytest.approx(sold, rel=1e-12)
    assert exit_fill.reason == "stop loss"
    # The account holds what the session says (dust below a lot per buy).
    position = state.position
    held = 0.0 if position is None else position.quantity
    buys = sum(
        1
        for e in events
        if isinstance(e, OrderFilled) and e.fill.kind in (FillKind.ENTRY, FillKind.SCALE_IN)
    )
    assert abs(balances["BTC"] - held) <= 1e-5 * buys
    cost = 0.0 if position is None else position.quantity * position.entry_price
    assert abs(balances["USDT"] - (state.cash - cost)) <= 1e-6 * state.cash
