"""`SessionStore` on real SQLite files: sessions, one bar per transaction with every table
written consistently, refusal of out-of-order bars and reused order ids with nothing written."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from atb.config import config_to_dict
from atb.domain.bars import Bar
from atb.domain.events import (
    DecisionMade,
    KernelEvent,
    OrderFilled,
    OrderPlaced,
    PositionClosed,
    StopMoved,
)
from atb.domain.fills import FillKind
from atb.domain.models import LivePosition, Trade
from atb.domain.sides import OrderAction, PositionSide
from atb.managers.dynamic_risk import NO_TIER
from atb.managers.kernel_state import KernelState
from atb.managers.orders import MarketOrder, OrderIntent
from atb.managers.run_config import RunConfiguration
from atb.persistence.errors import StoreError
from atb.persistence.store import SessionStore
from tests.support.builders import make_fill, make_live_position

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
TABLES = ("bars", "kernel_states", "orders", "fills", "positions", "trades", "equity", "events")


def bar(index: int) -> Bar:
    return Bar(T0 + index * HOUR, 100.0 + index, 102.5 + index, 99.1 + index, 101.3 + index, 7.0)


def state(
    *, cash: float, position: LivePosition | None = None, pending: Sequence[MarketOrder] = ()
) -> KernelState[LivePosition]:
    return KernelState(
        cash=cash,
        position=position,
        pending=tuple(pending),
        equity=cash,
        peak_equity=10_000.0,
        tier=NO_TIER,
        close_only=False,
        order_seq=len(pending),
        position_seq=0 if position is None else 1,
        ambiguous_bars=0,
    )


ENTRY = MarketOrder("s1-o1", T0, OrderIntent.OPEN_LONG, "signal", 0.5, 0.02, None, None)
ENTRY_FILL = make_fill(
    FillKind.ENTRY, OrderAction.BUY, 101.05, 0.3, fee=0.03, time=T0 + HOUR, order_id="s1-o1"
)
POSITION = make_live_position(
    PositionSide.LONG,
    101.05,
    0.3,
    position_id="s1-p1",
    entry_time=T0 + HOUR,
    stop_loss=99.03,
    legs=(ENTRY_FILL,),
    client_order_id="s1-o1",
    fees_paid=0.03,
)
EXIT_FILL = make_fill(
    FillKind.EXIT,
    OrderAction.SELL,
    99.03,
    0.3,
    fee=0.02,
    time=T0 + 2 * HOUR,
    order_id="s1-o2",
    reason="stop loss",
)
TRADE = Trade(
    trade_id="s1-p1",
    symbol="BTCUSDT",
    side=PositionSide.LONG,
    entry_time=T0 + HOUR,
    exit_time=T0 + 2 * HOUR,
    entry_price=101.05,
    exit_price=99.03,
    quantity=0.3,
    gross_pnl=(99.03 - 101.05) * 0.3,
    fees=0.05,
    slippage=0.0,
    exit_reason="stop loss",
    legs=(ENTRY_FILL, EXIT_FILL),
    best_price=102.0,
    worst_price=99.0,
)
SWAP = MarketOrder("s1-o3", T0 + 2 * HOUR, OrderIntent.SWAP_POLICIES, "tighten")

# Four bars: an entry intent, its fill, a stop-out plus a policy swap intent, then nothing (the
# swap has no position to apply to: cancelled).
SCRIPT: list[tuple[tuple[KernelEvent, ...], KernelState[LivePosition]]] = [
    (
        (
            DecisionMade(T0, "enter long", 0.5, "signal"),
            OrderPlaced(T0, "s1-o1", OrderIntent.OPEN_LONG, "signal"),
        ),
        state(cash=10_000.0, pending=[ENTRY]),
    ),
    (
        (
            OrderFilled(T0 + HOUR, "s1-p1", ENTRY_FILL),
            StopMoved(T0 + HOUR, "s1-p1", None, 99.03, "breakeven"),
        ),
        state(cash=9_999.97, position=POSITION),
    ),
    (
        (
            OrderFilled(T0 + 2 * HOUR, "s1-p1", EXIT_FILL),
            PositionClosed(T0 + 2 * HOUR, TRADE),
            OrderPlaced(T0 + 2 * HOUR, "s1-o3", OrderIntent.SWAP_POLICIES, "tighten"),
        ),
        state(cash=9_999.344, pending=[SWAP]),
    ),
    ((), state(cash=9_999.344)),
]


def new_store(tmp_path: Path) -> tuple[SessionStore, int]:
    store = SessionStore.open(tmp_path / "store.db")
    session = store.create_session(
        strategy="ml_basic",
        symbol="BTCUSDT",
        timeframe="1h",
        params={"threshold": 0.1, "window": 24},
        config=RunConfiguration.default(),
        initial_balance=10_000.0,
    )
    return store, session.id


def record_script(store: SessionStore, session_id: int, upto: int = len(SCRIPT)) -> None:
    for index, (events, after) in enumerate(SCRIPT[:upto]):
        exposure = 0.0 if after.position is None else 0.003
        store.record_bar(
            session_id,
            bar(index),
            events=events,
            state=after,
            equity=after.equity,
            exposure=exposure,
        )


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


# --- sessions ----------------------------------------------------------------------------------


def test_session_lifecycle(tmp_path: Path) -> None:
    store, first = new_store(tmp_path)
    with store:
        record = store.get_session(first)
        assert (record.strategy, record.symbol, record.timeframe) == ("ml_basic", "BTCUSDT", "1h")
        assert record.params == {"threshold": 0.1, "window": 24}
        assert record.config == config_to_dict(RunConfiguration.default())
        assert record.run_configuration() == RunConfiguration.default()
        assert record.id_prefix == f"s{first}"
        assert record.active
        assert record.last_bar_time is None
        assert record.writer_pid == os.getpid()
        assert store.find_active_session("ml_basic", "BTCUSDT", "1h") == record
        assert store.find_active_session("ml_basic", "ETHUSDT", "1h") is None

        other = store.create_session(
            strategy="sma_cross",
            symbol="ETHUSDT",
            timeframe="4h",
            params={},
            config={"trailing": "on"},
            initial_balance=500,
            model_id="model-7",
            id_prefix="eth",
        )
        assert other.id > first
        assert other.id_prefix == "eth"
        assert other.model_id == "model-7"
        assert store.latest_session() == other
        assert [s.id for s in store.list_sessions()] == [first, other.id]
        stopped = store.mark_stopped(other.id)
        assert stopped.status == "stopped"
        assert stopped.stopped_at is not None
        assert store.find_active_session("sma_cross", "ETHUSDT", "4h") is None
        with pytest.raises(StoreError, match=f"no active session {other.id}"):
            store.resume_session(other.id)
        assert store.resume_session(first).id == first
        with pytest.raises(StoreError, match="no session 99"):
            store.get_session(99)


def test_session_ids_and_prefixes_never_repeat(tmp_path: Path) -> None:
    store, first = new_store(tmp_path)
    with store, pytest.raises(StoreError, match=r"UNIQUE.*id_prefix"):
        store.create_session(
            strategy="x",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=1.0,
            id_prefix=f"s{first}",
        )


def test_params_must_be_json(tmp_path: Path) -> None:
    store, _ = new_store(tmp_path)
    with store, pytest.raises(StoreError, match="not JSON values"):
        store.create_session(
            strategy="x",
            symbol="BTCUSDT",
            timeframe="1h",
            params={"when": T0},
            config={},
            initial_balance=1.0,
        )


# --- recording ---------------------------------------------------------------------------------


def test_record_bar_writes_every_table_consistently(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    with store:
        record_script(store, sid)
        assert counts(store.path) == {
            "bars": 4,
            "kernel_states": 4,
            "orders": 3,
            "fills": 2,
            "positions": 1,
            "trades": 1,
            "equity": 4,
            "events": 7,
        }
        assert store.processed_bars(sid) == [bar(i) for i in range(4)]
        assert store.events(sid) == [event for events, _ in SCRIPT for event in events]
        assert store.trades(sid) == [TRADE]
        assert store.get_session(sid).last_bar_time == bar(3).time
        loaded = store.load_state(sid)
        assert loaded == (SCRIPT[-1][1], bar(3).time)
        assert [s for _, s in store.states(sid)] == [s for _, s in SCRIPT]

        orders = {order.order_id: order for order in store.orders(sid)}
        entry = orders["s1-o1"]
        assert (entry.intent, entry.status, entry.fraction, entry.stop_loss_pct) == (
            "open long",
            "filled",
            0.5,
            0.02,
        )
        assert (entry.created_at, entry.updated_at) == (T0, T0 + HOUR)
        stop = orders["s1-o2"]  # a resting level: created and filled inside bar 2
        assert (stop.intent, stop.status, stop.reason) == (None, "filled", "stop loss")
        swap = orders["s1-o3"]  # no position to apply it to at bar 3: dropped
        assert (swap.intent, swap.status, swap.updated_at) == (
            "swap policies",
            "cancelled",
            bar(3).time,
        )

        assert [(f.position_id, f.fill) for f in store.fills(sid)] == [
            ("s1-p1", ENTRY_FILL),
            ("s1-p1", EXIT_FILL),
        ]
        (position,) = store.positions(sid)
        assert (position.status, position.closed_at) == ("closed", TRADE.exit_time)
        assert position.position == POSITION  # last state seen at a close, manager state and all
        equity = store.equity(sid)
        assert [(p.time, p.equity, p.cash) for p in equity] == [
            (bar(i).time, s.equity, s.cash) for i, (_, s) in enumerate(SCRIPT)
        ]
        assert equity[1].exposure == 0.003


def test_pending_order_is_stored_before_it_is_acted_on(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    with store:
        record_script(store, sid, upto=1)
        (order,) = store.orders(sid)
        assert (order.order_id, order.status, order.intent) == ("s1-o1", "pending", "open long")
        loaded = store.load_state(sid)
        assert loaded is not None
        assert loaded[0].pending == (ENTRY,)


def test_out_of_order_and_duplicate_bars_are_refused(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    with store:
        record_script(store, sid, upto=2)
        before = counts(store.path)
        for index in (1, 0):
            with pytest.raises(
                StoreError, match=rf"{re.escape(str(store.path))}.*not after the last processed"
            ):
                store.record_bar(
                    sid, bar(index), events=(), state=state(cash=1.0), equity=1.0, exposure=0.0
                )
        assert counts(store.path) == before
        store.mark_stopped(sid)
        with pytest.raises(StoreError, match="is stopped"):
            store.record_bar(
                sid, bar(5), events=(), state=state(cash=1.0), equity=1.0, exposure=0.0
            )


def test_a_failing_bar_leaves_nothing_behind(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    with store:
        record_script(store, sid)
        before = counts(store.path)
        state_before = store.load_state(sid)
        # Bar 4 reuses client order id s1-o1: the orders insert fails late in the transaction,
        # after the bar and its events were already inserted.
        reused = attrs.evolve(ENTRY, created_at=bar(4).time)
        events = (
            DecisionMade(bar(4).time, "enter long", 0.5, "again"),
            OrderPlaced(bar(4).time, "s1-o1", OrderIntent.OPEN_LONG, "again"),
        )
        with pytest.raises(
            StoreError, match=rf"{re.escape(str(store.path))}.*UNIQUE.*order_id.*rolled back"
        ):
            store.record_bar(
                sid,
                bar(4),
                events=events,
                state=state(cash=9_999.344, pending=[reused]),
                equity=9_999.344,
                exposure=0.0,
            )
        assert counts(store.path) == before
        assert store.load_state(sid) == state_before
        assert store.get_session(sid).last_bar_time == bar(3).time
        # The store is still usable: the same bar without the reused id records fine.
        store.record_bar(
            sid, bar(4), events=events[:1], state=state(cash=1.0), equity=1.0, exposure=0.0
        )
        assert counts(store.path)["bars"] == 5


def test_a_full_disk_fails_the_bar_cleanly(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    record_script(store, sid, upto=2)
    store.close()
    # Reopen with the file capped at (about) its current size: the next big bar cannot fit.
    size = store.path.stat().st_size
    big = DecisionMade(bar(2).time, "enter long", 0.5, "x" * 200_000)
    with SessionStore.open(store.path, max_bytes=size) as capped:
        before = counts(capped.path)
        with pytest.raises(StoreError, match=rf"{re.escape(str(capped.path))}.*full.*rolled back"):
            capped.record_bar(
                sid, bar(2), events=(big,), state=state(cash=1.0), equity=1.0, exposure=0.0
            )
        assert counts(capped.path) == before
    with SessionStore.open(store.path) as roomy:
        roomy.record_bar(
            sid, bar(2), events=(big,), state=state(cash=1.0), equity=1.0, exposure=0.0
        )
        assert roomy.events(sid)[-1] == big


def test_naive_bar_time_is_refused_with_nothing_written(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    with store:
        naive = Bar(datetime(2024, 1, 1), 1.0, 1.0, 1.0, 1.0)
        with pytest.raises(StoreError, match="naive"):
            store.record_bar(sid, naive, events=(), state=state(cash=1.0), equity=1.0, exposure=0.0)
        assert counts(store.path)["bars"] == 0


def test_read_only_and_closed_stores_refuse_writes(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    record_script(store, sid, upto=2)
    with SessionStore.open(store.path, read_only=True) as reader:
        assert reader.read_only
        assert reader.processed_bars(sid) == store.processed_bars(sid)
        with pytest.raises(StoreError, match="open read-only"):
            reader.mark_stopped(sid)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="is closed"):
        store.list_sessions()


def test_tampered_data_is_reported_with_file_and_key(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    record_script(store, sid, upto=2)
    store.close()
    with sqlite3.connect(store.path) as connection:
        connection.execute('UPDATE events SET payload = \'{"kind": "order"}\' WHERE seq = 2')
    with (
        SessionStore.open(store.path, read_only=True) as reader,
        pytest.raises(
            StoreError, match=rf"{re.escape(str(reader.path))}.*events\[1, 2\]\.time: missing"
        ),
    ):
        reader.events(sid)


def test_history_bars_round_trip_in_time_order(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    with store:
        history = [bar(index) for index in range(3)]
        store.record_history(sid, history)
        assert store.history_bars(sid) == history
        assert store.processed_bars(sid) == []
        with pytest.raises(StoreError):
            store.record_history(sid, history[:1])  # the same bars twice
        assert store.history_bars(sid) == history


def test_lock_holder_names_the_writer_pid_only_while_it_holds_the_lock(tmp_path: Path) -> None:
    import os

    from atb.persistence.lock import lock_holder

    path = tmp_path / "store.db"
    assert lock_holder(path) is None
    with SessionStore.open(path):
        assert lock_holder(path) == os.getpid()
    assert lock_holder(path) is None


def test_a_session_and_its_history_are_created_in_one_transaction(tmp_path: Path) -> None:
    history = [bar(index) for index in range(4)]
    with SessionStore.open(tmp_path / "store.db") as store:
        session = store.create_session(
            strategy="sma_cross",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config=RunConfiguration.default(),
            initial_balance=1_000.0,
            history=history,
        )
        assert store.history_bars(session.id) == history
        # A failing history leaves no session behind either.
        with pytest.raises(StoreError):
            store.create_session(
                strategy="sma_cross",
                symbol="ETHUSDT",
                timeframe="1h",
                params={},
                config=RunConfiguration.default(),
                initial_balance=1_000.0,
                history=[history[0], history[0]],
            )
        assert [s.symbol for s in store.list_sessions()] == ["BTCUSDT"]


def test_the_size_cap_counts_the_write_ahead_log(tmp_path: Path) -> None:
    store, sid = new_store(tmp_path)
    record_script(store, sid, upto=2)
    store.close()
    main = store.path.stat().st_size
    cap = main + 40_000  # room for the log to grow a little, not for the big bars below
    big = DecisionMade(bar(2).time, "enter long", 0.5, "x" * 30_000)
    with SessionStore.open(store.path, max_bytes=cap) as capped:
        capped.record_bar(
            sid, bar(2), events=(big,), state=state(cash=1.0), equity=1.0, exposure=0.0
        )
        wal = store.path.with_name(store.path.name + "-wal")
        assert wal.stat().st_size > 0  # the bar went to the log, not the main file

        def fill_up() -> None:
            for index in range(3, 10):
                capped.record_bar(
                    sid, bar(index), events=(big,), state=state(cash=1.0), equity=1.0,
                    exposure=0.0,
                )  # fmt: skip

        with pytest.raises(StoreError, match=r"is full \(.* bytes with its write-ahead log"):
            fill_up()
        assert store.path.stat().st_size + wal.stat().st_size < cap + 80_000


def test_a_store_reached_through_a_symlink_shares_its_lock(tmp_path: Path) -> None:
    store, _sid = new_store(tmp_path)
    link = tmp_path / "alias.db"
    link.symlink_to(store.path)
    with pytest.raises(StoreError, match="is already open for writing"):
        SessionStore.open(link)
    store.close()
    with SessionStore.open(link) as again:
        assert again.path == store.path.resolve()
