"""The write-ahead order journal in the store: orders kept in first-written order and updated
in place, fills kept once by trade id, the account baseline kept and replaced, all durable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import attrs

from atb.managers.fills import LevelKind
from atb.managers.order_journal import (
    AccountBaseline,
    ExchangeOrder,
    ExchangeTrade,
    FillPair,
    JournalStatus,
    OrderShape,
)
from atb.persistence.order_journal import StoreJournal
from atb.persistence.store import SessionStore
from tests.unit.persistence.test_store import new_store

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _stop(client_id: str) -> ExchangeOrder:
    return ExchangeOrder(
        client_id=client_id,
        position_id="atbx-p000001",
        kernel_order_id=None,
        level=LevelKind.STOP_LOSS,
        rung=0,
        list_id="atbx-p000001-px0-1-L",
        side="sell",
        shape=OrderShape.STOP,
        quantity=0.01,
        price=58_506.0,
        stop_price=58_800.0,
        status=JournalStatus.INTENT,
        exchange_id=None,
        created_at=T0,
    )


def _market(client_id: str) -> ExchangeOrder:
    return ExchangeOrder(
        client_id=client_id,
        position_id=None,
        kernel_order_id=client_id,
        level=None,
        rung=0,
        list_id=None,
        side="buy",
        shape=OrderShape.MARKET,
        quantity=0.01075,
        price=None,
        stop_price=None,
        status=JournalStatus.INTENT,
        exchange_id=None,
        created_at=T0,
    )


def _trade(trade_id: str, client_id: str) -> ExchangeTrade:
    return ExchangeTrade(
        trade_id=trade_id,
        client_id=client_id,
        side="buy",
        price=61_948.3,
        quantity=0.01075,
        commission=1.075e-05,
        commission_asset="BTC",
        time=T0,
    )


def test_orders_are_written_before_and_updated_after_each_answer(tmp_path: Path) -> None:
    store, session_id = new_store(tmp_path)
    journal = StoreJournal(store, session_id)
    entry, stop = _market("atbx-o0000001"), _stop("atbx-p000001-sl0-1")
    journal.write([entry, stop])
    journal.write([entry.now(JournalStatus.FILLED, exchange_id="17")])
    journal.record_trades(
        [_trade("5", entry.client_id), _trade("5", entry.client_id)],
        [stop.now(JournalStatus.CANCEL_INTENT)],
    )
    journal.record_trades([_trade("5", entry.client_id)], [])  # seen before: kept once
    store.close()

    with SessionStore.open(tmp_path / "store.db", read_only=True) as reopened:
        again = StoreJournal(reopened, session_id)
        orders = again.orders()
        assert [(o.client_id, o.status, o.exchange_id) for o in orders] == [
            ("atbx-o0000001", JournalStatus.FILLED, "17"),
            ("atbx-p000001-sl0-1", JournalStatus.CANCEL_INTENT, None),
        ]
        assert orders[1] == stop.now(JournalStatus.CANCEL_INTENT)
        assert orders[0].key is None
        assert orders[1].key == (LevelKind.STOP_LOSS, 0)
        assert again.trades() == [_trade("5", entry.client_id)]
        assert again.baseline() is None


def test_the_account_baseline_is_kept_and_an_adoption_replaces_it(tmp_path: Path) -> None:
    store, session_id = new_store(tmp_path)
    journal = StoreJournal(store, session_id)
    first = AccountBaseline(
        base_asset="BTC", quote_asset="USDT", outside_base=0.0, outside_quote=250.5
    )
    journal.record_baseline(first)
    assert journal.baseline() == first
    adopted = AccountBaseline(
        base_asset="BTC",
        quote_asset="USDT",
        outside_base=0.25,
        outside_quote=250.5,
        adopted="BTC: 0.25 held for the session where 0 was expected",
    )
    journal.record_baseline(adopted)
    assert journal.baseline() == adopted
    store.close()


def test_statuses_say_whether_an_order_can_still_rest_or_change() -> None:
    assert {s for s in JournalStatus if s.live} == {
        JournalStatus.INTENT,
        JournalStatus.OPEN,
        JournalStatus.CANCEL_INTENT,
    }
    assert {s for s in JournalStatus if not s.final} == {
        JournalStatus.INTENT,
        JournalStatus.OPEN,
        JournalStatus.CANCEL_INTENT,
    }
    detailed = _stop("x").now(JournalStatus.REJECTED, detail="exchange refused: no")
    assert (detailed.status, detailed.detail, detailed.exchange_id) == (
        JournalStatus.REJECTED,
        "exchange refused: no",
        None,
    )


def test_a_fill_pair_is_kept_and_a_bar_processed_again_replaces_it(tmp_path: Path) -> None:
    store, session_id = new_store(tmp_path)
    journal = StoreJournal(store, session_id)
    first = FillPair(
        bar_time=T0,
        client_id="atbx-o0000001",
        slot="market:atbx-o0000001",
        side="buy",
        liquidity="taker",
        real_price=41_723.52,
        real_quantity=0.01913,
        real_fee=0.83,
        real_time=T0,
        simulated_price=41_700.0,
        simulated_quantity=0.01915,
        simulated_fee=0.8,
    )
    journal.record_fill_pair(first)
    again = attrs.evolve(first, simulated_price=41_723.52)
    journal.record_fill_pair(again)
    assert journal.fill_pairs() == [again]
    store.close()
