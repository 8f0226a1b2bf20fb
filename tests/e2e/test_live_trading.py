"""`atb live --live-trading` as a user runs it, against a local exchange in lockstep.

The session trades through entries, scale-ins, partial exits, trailing stops and exits with its
protective orders on the exchange; its decisions are the backtest's on the same candles, the
account reconciles with the session's state, and the API secret appears in nothing it wrote.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from atb.domain.events import DecisionMade, OrderFilled, PositionClosed, StopMoved
from atb.domain.fills import FillKind
from atb.persistence.store import SessionStore
from tests.support.cli import run_atb
from tests.support.rehearsal import (
    KEY,
    SECRET,
    STRATEGY_ARGS,
    demo_bars,
    rehearsal,
    run_to_end,
    start_session,
)


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
        "error: --live-trading needs an API key: set ATB_API_KEY and ATB_API_SECRET, or pass "
        "--key-file"
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
