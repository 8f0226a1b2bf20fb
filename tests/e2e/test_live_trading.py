"""`atb live --live-trading` as a user runs it, against a local exchange in lockstep.

The session trades through entries, scale-ins, partial exits, trailing stops and exits with its
protective orders on the exchange; its decisions are the backtest's on the same candles, the
account reconciles with the session's state, and the API secret appears in nothing it wrote.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest

from atb.domain.events import DecisionMade, OrderFilled, PositionClosed, StopMoved
from atb.domain.fills import FillKind
from atb.domain.models import LivePosition, Trade
from atb.managers.kernel_state import KernelState
from atb.persistence.store import SessionStore
from atb.venues.sandbox.exchange import OrderType
from atb.venues.sandbox.server import RequestSeen
from tests.support.cli import ATB, run_atb
from tests.support.live_harness import LiveProcess
from tests.support.rehearsal import (
    KEY,
    SECRET,
    STRATEGY_ARGS,
    Rehearsal,
    demo_bars,
    rehearsal,
    run_to_end,
    start_session,
)
from tests.support.terminal import run_in_terminal


def test_a_real_session_trades_every_level_on_the_exchange_and_decides_as_the_backtest(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars()) as staged:
        process = start_session(staged, db, log)
        run_to_end(staged, process, db)
        balances = staged.balances()
        open_orders = staged.exchange.open_orders()
        assert staged.duplicates() == []

    with SessionStore.open(db, read_only=True) as store:
        session = store.latest_session()
        assert session is not None
        events = store.events(session.id)
        trades = store.trades(session.id)
        state = store.load_state(session.id)
    assert state is not None
    fills = collections.Counter(e.fill.kind for e in events if isinstance(e, OrderFilled))
    # Every kind of fill went through the exchange.
    assert fills[FillKind.ENTRY] >= 3
    assert fills[FillKind.SCALE_IN] >= 1
    assert fills[FillKind.PARTIAL_EXIT] >= 1
    assert fills[FillKind.EXIT] >= 3
    assert any(isinstance(e, StopMoved) for e in events)
    reasons = {t.exit_reason for t in trades}
    assert reasons & {"stop loss", "trailing stop", "breakeven stop"}

    # The account holds exactly what the session says it holds (dust below a lot per buy).
    kernel, _time = state
    position = kernel.position
    held = 0.0 if position is None else position.quantity
    buys = fills[FillKind.ENTRY] + fills[FillKind.SCALE_IN]
    assert abs(balances["BTC"] - held) <= 1e-5 * buys
    cost = 0.0 if position is None else position.quantity * position.entry_price
    assert balances["USDT"] == pytest.approx(kernel.cash - cost, rel=1e-9)
    # Only the open position's protection rests on the exchange.
    assert all(order.client_order_id.startswith(session.id_prefix) for order in open_orders)
    assert (position is None) == (not open_orders)

    # The decisions are the backtest's of the same candles.
    parity = run_atb("parity", "--db", str(db), "--session", str(session.id), "--json")
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert '"decisions_identical": true' in parity.stdout
    decisions = [e for e in events if isinstance(e, DecisionMade)]
    assert len(decisions) >= 6

    # The secret is in nothing the session wrote: store, log, anything in its folder.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in parity.stdout + parity.stderr


def test_live_trading_without_keys_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run_atb(
        "live", *STRATEGY_ARGS, "--live-trading", "--exchange-url", "http://127.0.0.1:9",
        "--db", str(tmp_path / "s.db"),
        env={"ATB_API_KEY": "", "ATB_API_SECRET": ""},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: trading on the exchange needs an API key: set ATB_API_KEY and ATB_API_SECRET, "
        "or pass --key-file"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_key_file_others_can_read_is_refused_without_quoting_it(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.toml"
    key_file.write_text(f'api_key = "{KEY}"\nsecret = "{SECRET}"\n')
    key_file.chmod(0o644)
    with rehearsal(demo_bars(5)) as staged:
        result = run_atb(
            "live", *STRATEGY_ARGS, "--live-trading", "--exchange-url", staged.url,
            "--db", str(tmp_path / "s.db"), "--key-file", str(key_file),
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --key-file {key_file}: readable by others (mode 0644, owner uid "
        f"{key_file.stat().st_uid}); it must belong to you with mode 0600 (chmod 600)"
    )
    assert SECRET not in result.stdout + result.stderr
    assert not (tmp_path / "s.db").exists()


def test_an_unexplained_balance_refuses_the_start_and_adopt_records_it(tmp_path: Path) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars(5), balances={"USDT": 10_000.0, "BTC": 0.25}) as staged:
        refused = run_atb(
            "live", *STRATEGY_ARGS, "--live-trading", "--exchange-url", staged.url,
            "--db", str(db), env={"ATB_API_KEY": KEY, "ATB_API_SECRET": SECRET},
        )  # fmt: skip
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines()[-1] == (
            "error: BTC: the exchange account holds 0.25, a new session expects 0 (sell it, "
            "or pass --adopt to leave it outside the session)"
        )
        assert not db.exists()
        process = start_session(staged, db, log, "--adopt")
        run_to_end(staged, process, db)
    adopted = [e for e in process.log_events() if e.get("event") == "adopted"]
    assert adopted
    assert "BTC: 0.25 held before the session" in str(adopted[0]["what"])


def test_a_closed_position_is_not_decided_twice_after_sigterm_and_resume(tmp_path: Path) -> None:
    """Stopped mid-run and started again, the session resumes and ends where one run would."""
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars()) as staged:
        first = start_session(staged, db, log)
        while (len(staged.posted)) < 6:
            first.check_alive()
        assert first.terminate() == 0
        second = start_session(staged, db, log)
        run_to_end(staged, second, db)
        assert staged.duplicates() == []
    with SessionStore.open(db, read_only=True) as store:
        sessions = store.list_sessions()
        assert len(sessions) == 1
        closed = [e for e in store.events(sessions[0].id) if isinstance(e, PositionClosed)]
    assert len(closed) >= 3


def _session_of(db: Path) -> tuple[list[Trade], KernelState[LivePosition]]:
    with SessionStore.open(db, read_only=True) as store:
        session = store.latest_session()
        assert session is not None
        loaded = store.load_state(session.id)
        assert loaded is not None
        return store.trades(session.id), loaded[0]


def test_max_order_value_refuses_every_larger_buy_before_it_is_sent(tmp_path: Path) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars(10)) as staged:
        process = start_session(staged, db, log, "--max-order-value", "100")
        run_to_end(staged, process, db)
        assert staged.exchange.trades() == []
        assert staged.posted == []
    refused = [e for e in process.log_events() if e.get("event") == "order_refused"]
    assert len(refused) >= 2
    assert refused[0]["reason"] == "order value above --max-order-value"
    assert str(refused[0]["detail"]).endswith("> 100.00 USDT")
    trades, state = _session_of(db)
    assert trades == []
    assert state.position is None
    assert state.cash == 10_000.0


def test_max_daily_loss_flattens_the_position_on_the_exchange_and_stops(tmp_path: Path) -> None:
    """On these candles the session is 14.29 USDT below the day's opening equity at the close of
    2025-02-07 21:00, holding a position: the rail sells it on the exchange and stops."""
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars()) as staged:
        process = start_session(staged, db, log, "--max-daily-loss", "12")
        assert process.process.wait(timeout=120) == 0  # it stopped by itself
        assert staged.exchange.open_orders() == []
        assert staged.balances()["BTC"] < 1e-4  # dust only
        last = staged.exchange.trades()[-1]
    (breach,) = [e for e in process.log_events() if e.get("event") == "max_daily_loss"]
    assert round(float(str(breach["loss"])), 2) == 14.29
    flattened = [e for e in process.log_events() if e.get("event") == "flattened"]
    assert [(e["reason"], e["orders"]) for e in flattened] == [("flatten: max daily loss", 1)]
    _trades, state = _session_of(db)
    assert state.position is not None  # applied when the session steps its next bar
    (close,) = state.pending
    assert close.reason == "flatten: max daily loss"
    assert last.side == "SELL"
    assert last.quantity == state.position.quantity


def test_stop_with_flatten_closes_the_position_then_stops(tmp_path: Path) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars()) as staged:
        process = start_session(staged, db, log)
        deadline = time.monotonic() + 120
        while not any(o.type.value == "STOP_LOSS_LIMIT" for o in staged.exchange.open_orders()):
            process.check_alive()
            assert time.monotonic() < deadline, "no protected position within 120 s"
            time.sleep(0.005)
        # Hold the market still (no kline gets through, so no bar closes) while asking.
        staged.on_request = lambda request: request.path == "/api/v3/klines"
        stopped = run_atb("live", "stop", "--db", str(db), "--flatten")
        assert stopped.returncode == 0, stopped.stderr
        assert process.process.wait(timeout=30) == 0
        assert staged.exchange.open_orders() == []
        assert staged.balances()["BTC"] < 1e-4
        sold = staged.exchange.trades()[-1]
    flattened = [e for e in process.log_events() if e.get("event") == "flattened"]
    assert [(e["reason"], e["orders"]) for e in flattened] == [
        ("flatten: atb live stop --flatten", 1)
    ]
    _trades, state = _session_of(db)
    assert sold.side == "SELL"
    # The close is queued after whatever the exchange already executed (an entry sent at the
    # last close, when the stop came right after it), and applied when the session next steps.
    assert state.pending[-1].reason == "flatten: atb live stop --flatten"
    if state.position is not None:
        assert len(state.pending) == 1
        assert sold.quantity == state.position.quantity
    else:
        assert [order.intent.value for order in state.pending] == ["open long", "close"]


def test_validate_only_sends_every_order_to_the_test_endpoint_and_fills_on_paper(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    seen: list[str] = []

    def audit(request: RequestSeen) -> bool:
        if request.method == "POST" and not request.answered:
            seen.append(request.path)
        return False

    with rehearsal(demo_bars(10)) as staged:
        staged.on_request = audit
        args = [
            *STRATEGY_ARGS, "--validate-only", "--exchange-url", staged.url, "--db", str(db),
            "--poll-interval", "0.02", "--log-format", "json",
        ]  # fmt: skip
        process = LiveProcess(args, log, env={"ATB_API_KEY": KEY, "ATB_API_SECRET": SECRET})
        run_to_end(staged, process, db)
        assert staged.exchange.trades() == []
        assert staged.exchange.open_orders() == []
    validated = [e for e in process.log_events() if e.get("event") == "order_validated"]
    assert len(validated) >= 2
    assert set(seen) == {"/api/v3/order/test"}
    assert len(seen) == len(validated)
    trades, _state = _session_of(db)
    assert len(trades) >= 1
    parity = run_atb("parity", "--db", str(db))
    assert parity.returncode == 0, parity.stdout
    assert parity.stdout.startswith("identical")


def _restart_reconciles(staged: Rehearsal, db: Path, log: Path) -> list[dict[str, object]]:
    """Start the session again: it must resume (recovered and reconciled: the health line
    comes once the session is open), then stop cleanly."""
    again = start_session(staged, db, log)
    deadline = time.monotonic() + 60
    while not any(e.get("event") == "health" for e in again.log_events(own=True)):
        again.check_alive()
        assert time.monotonic() < deadline, "the restarted session did not resume"
        time.sleep(0.02)
    assert again.terminate() == 0
    return again.log_events(own=True)


def test_thin_volume_fills_exits_in_parts_and_the_account_still_reconciles(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    # A resting order may take 0.0002 % of a bar's volume: about 0.003 BTC, less than a tranche.
    with rehearsal(demo_bars(), participation=0.000002) as staged:
        run_to_end(staged, start_session(staged, db, log), db)
        trades = staged.exchange.trades()
        orders = [
            staged.exchange.order(order_id, None) for order_id in {t.order_id for t in trades}
        ]
        # Orders that filled in part; the session re-planned the rest and replaced them.
        partly = [o for o in orders if o.executed < o.quantity - 1e-9]
        assert len(partly) >= 2
        assert {o.status for o in partly} == {"CANCELED"}
        _restart_reconciles(staged, db, log)
        assert staged.duplicates() == []
    _trades, state = _session_of(db)
    held = 0.0 if state.position is None else state.position.quantity
    buys = sum(1 for trade in trades if trade.side == "BUY")
    assert abs(staged.balances()["BTC"] - held) <= 1e-5 * buys


def test_an_order_of_the_session_unknown_to_its_journal_is_cancelled_at_start(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "live.sqlite3", tmp_path / "live.log"
    with rehearsal(demo_bars(5)) as staged:
        run_to_end(staged, start_session(staged, db, log), db)
        with SessionStore.open(db, read_only=True) as store:
            session = store.latest_session()
            assert session is not None
        orphan = f"{session.id_prefix}-p999999-sl0-1"
        staged.exchange.place(
            client_order_id=orphan,
            side="BUY",
            order_type=OrderType.LIMIT,
            quantity=0.001,
            price=round(staged.last_bar.close * 0.5, 2),
            stop_price=None,
        )
        events = _restart_reconciles(staged, db, log)
        assert staged.exchange.order(None, orphan).status == "CANCELED"
    assert [e["client_id"] for e in events if e.get("event") == "orphan_cancelled"] == [orphan]


def test_rules_that_differ_from_the_exchanges_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    db = tmp_path / "live.sqlite3"
    with rehearsal(demo_bars(5)) as staged:
        result = run_atb(
            "live", *STRATEGY_ARGS, "--live-trading", "--exchange-url", staged.url,
            "--db", str(db), "--tick-size", "0.1",
            env={"ATB_API_KEY": KEY, "ATB_API_SECRET": SECRET},
        )  # fmt: skip
        assert staged.posted == []
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: BTCUSDT: tick size 0.1 differs from the exchange's 0.01; real orders follow "
        "the exchange's rules (drop the override)"
    )
    assert not db.exists()


def test_a_real_session_in_a_terminal_reads_as_text_and_ends_with_its_summary(
    tmp_path: Path,
) -> None:
    """As a person runs it: a line per bar and per exchange event, then (the daily-loss rail
    ends it) the flatten and the session's summary."""
    db = tmp_path / "live.sqlite3"
    with rehearsal(demo_bars()) as staged:
        args = [
            str(ATB), "live", *STRATEGY_ARGS, "--live-trading", "--exchange-url", staged.url,
            "--db", str(db), "--poll-interval", "0.02", "--max-daily-loss", "12",
        ]  # fmt: skip
        run = run_in_terminal(args, env={"ATB_API_KEY": KEY, "ATB_API_SECRET": SECRET})
    assert run.exit_code == 0, run.describe()
    screen = run.screen
    assert "Traceback" not in screen
    assert "2025-02-07 21:00" in screen  # the bar of the breach, as a bar line
    assert "flattened" in screen
    assert "Live session 1 (live trading): sma_cross on BTCUSDT 1h" in screen
    assert SECRET not in screen
