"""A whole session through the store with the real kernel: every table agrees with the
uninterrupted run, a resumed session ends exactly where an uninterrupted one does, and readers
see consistent snapshots while the writer works."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from atb.domain.events import OrderFilled, PositionClosed
from atb.persistence.mappers_events import EVENT_KINDS
from atb.persistence.store import SessionStore
from tests.integration.persistence.scenario import make_bars, reference_run, run_session

BARS = 300


def test_session_matches_the_uninterrupted_run_table_by_table(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    sid = run_session(db, BARS)
    reference = reference_run(BARS)
    events = [event for result in reference for event in result.events]
    kinds = {event.kind for event in events}
    # The scenario covers (nearly) every kind; a one-symbol session never has a portfolio
    # rule cut an entry ("reduced").
    assert kinds >= set(EVENT_KINDS) - {"close_only", "reduced"}
    with SessionStore.open(db, read_only=True) as store:
        assert store.processed_bars(sid) == make_bars(BARS)
        assert store.events(sid) == events
        assert store.load_state(sid) == (reference[-1].state, make_bars(BARS)[-1].time)
        assert [s for _, s in store.states(sid)] == [r.state for r in reference]
        assert [(p.equity, p.cash, p.exposure) for p in store.equity(sid)] == [
            (r.equity, r.state.cash, r.exposure) for r in reference
        ]
        trades = [e.trade for e in events if isinstance(e, PositionClosed)]
        assert store.trades(sid) == trades
        fills = [(e.position_id, e.fill) for e in events if isinstance(e, OrderFilled)]
        assert [(f.position_id, f.fill) for f in store.fills(sid)] == fills

        orders = store.orders(sid)
        statuses = Counter(order.status for order in orders)
        pending = {order.order_id for order in orders if order.status == "pending"}
        assert pending == {order.order_id for order in reference[-1].state.pending}
        assert statuses["rejected"] == Counter(e.kind for e in events)["rejected"]
        assert len({order.order_id for order in orders}) == len(orders)
        filled = {order.order_id for order in orders if order.status == "filled"}
        assert {fill.order_id for _, fill in fills} <= filled

        positions = store.positions(sid)
        assert {p.position_id for p in positions if p.status == "closed"} == {
            t.trade_id for t in trades
        }
        still_open = [p for p in positions if p.status == "open"]
        assert [p.position for p in still_open] == (
            [] if reference[-1].state.position is None else [reference[-1].state.position]
        )
        assert store.get_session(sid).last_bar_time == make_bars(BARS)[-1].time


def test_resumed_session_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    whole, pieces = tmp_path / "whole.db", tmp_path / "pieces.db"
    run_session(whole, BARS)
    for upto in (1, 2, 97, 150, 151, BARS):
        assert run_session(pieces, upto) == 1  # resumes the same session every time
    with (
        SessionStore.open(whole, read_only=True) as a,
        SessionStore.open(pieces, read_only=True) as b,
    ):
        assert len(b.list_sessions()) == 1
        assert b.load_state(1) == a.load_state(1)
        assert b.events(1) == a.events(1)
        assert b.trades(1) == a.trades(1)
        assert b.orders(1) == a.orders(1)
        assert b.positions(1) == a.positions(1)
        assert b.equity(1) == a.equity(1)


def test_readers_work_while_a_writer_holds_the_store(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    sid = run_session(db, 10)
    bars = make_bars(20)
    reference = reference_run(20)
    with SessionStore.open(db) as writer, SessionStore.open(db, read_only=True) as reader:
        for index in range(10, 20):
            writer.record_step(sid, bars[index], reference[index])
            loaded = reader.load_state(sid)
            assert loaded == (reference[index].state, bars[index].time)
            assert len(reader.processed_bars(sid)) == index + 1
        # A plain sqlite3 reader sees the WAL journal mode persisted in the file.
        with sqlite3.connect(db) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
