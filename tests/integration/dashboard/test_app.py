"""The dashboard's app against real stores: a store written by real paper replays (`atb live
… --replay`), and a store of 100,000 bars. Its JSON documents, the parity badge, the token on
every route of a non-local bind, read-only methods, and bounded, fast charts."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from starlette.types import ASGIApp

from atb.dashboard.app import DashboardSettings, build_app
from atb.dashboard.payloads import MAX_CHART_POINTS, session_detail
from atb.dashboard.server import bind
from atb.dashboard.stores import StoreReader, open_stores
from atb.managers.order_journal import (
    AccountBaseline,
    ExchangeOrder,
    FillPair,
    JournalStatus,
    OrderShape,
)
from atb.persistence.fields import dump_time
from atb.persistence.order_journal import StoreJournal
from atb.persistence.store import SessionStore
from tests.support.cli import run_atb

TOKEN = "dashboard-test-token-7f3a"
ROUTES = (
    "/",
    "/static/dashboard.js",
    "/static/dashboard.css",
    "/static/plotly.min.js",
    "/api/overview",
    "/api/stores/0/sessions/1",
    "/api/stores/0/sessions/2",
    "/no/such/page",
)


@pytest.fixture(scope="module")
def replay_db(tmp_path_factory: pytest.TempPathFactory, sample_csv: Path) -> Path:
    """Session 1: sma_cross over 300 closed bars (trades, stops); session 2: buy_and_hold with
    the partial ladder on 50 bars, still holding its position."""
    folder = tmp_path_factory.mktemp("dashboard")
    frame = pd.read_csv(sample_csv)
    db = folder / "live.sqlite3"
    for strategy, rows, extra in (
        ("sma_cross", 400, ("--param", "stop_loss=0.02", "--set", "trailing=on")),
        ("buy_and_hold", 150, ("--set", "partials=on")),
    ):
        data = folder / f"{strategy}.csv"
        frame.iloc[:rows].to_csv(data, index=False)
        ran = run_atb(
            "live", strategy, "--symbol", "BTCUSDT", "--timeframe", "1h", "--paper-trading",
            "--replay", str(data), "--db", str(db), "--log-format", "json", *extra,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr[-2000:]
    return db


@pytest.fixture(scope="module")
def readers(replay_db: Path) -> Iterator[list[StoreReader]]:
    opened = open_stores([replay_db])
    yield opened
    for reader in opened:
        reader.close()


@contextlib.contextmanager
def serving(app: ASGIApp) -> Iterator[httpx.Client]:
    """The app served by uvicorn on a free local port (in a thread), and a client for it."""
    listener = bind("127.0.0.1", 0)
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture(scope="module")
def client(readers: list[StoreReader]) -> Iterator[httpx.Client]:
    with serving(build_app(readers, DashboardSettings(poll_seconds=0.5))) as served:
        yield served


def test_overview_lists_every_session_stopped_with_its_figures(
    client: httpx.Client, replay_db: Path
) -> None:
    response = client.get("/api/overview")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["poll_seconds"] == 0.5
    (store,) = document["stores"]
    assert store["path"] == str(replay_db.resolve())
    newest, oldest = store["sessions"]
    assert (newest["id"], newest["strategy"], oldest["id"], oldest["strategy"]) == (
        2, "buy_and_hold", 1, "sma_cross",
    )  # fmt: skip
    with SessionStore.open(replay_db, read_only=True) as reader:
        equity = reader.equity(1)
        trades = reader.trades(1)
    assert oldest["bars"] == len(equity)
    assert oldest["equity"] == equity[-1].equity
    assert oldest["trades"] == len(trades) > 0
    assert oldest["last_bar_time"] == "2023-01-17T15:00:00Z"
    # Both replays ran out: a clean stop, resumable, not a crash.
    assert oldest["liveness"] == {
        "state": "stopped", "detail": "resumable", "pid": None, "resumable": True,
    }  # fmt: skip
    assert oldest["real"] is False


def test_session_detail_has_charts_trades_with_legs_events_and_health(
    client: httpx.Client, replay_db: Path
) -> None:
    document = client.get("/api/stores/0/sessions/1").json()
    with SessionStore.open(replay_db, read_only=True) as reader:
        equity = reader.equity(1)
        trades = reader.trades(1)
        events = reader.events(1)
    charts = document["charts"]
    assert charts["points"] == len(equity)
    assert charts["equity"]["v"] == [point.equity for point in equity]  # short: drawn whole
    assert charts["equity"]["t"][0] == equity[0].time.isoformat().replace("+00:00", "Z")
    assert max(charts["drawdown"]["v"]) == 0.0
    assert min(charts["drawdown"]["v"]) == document["summary"]["max_drawdown"] < 0
    newest = document["trades"][0]
    assert newest["id"] == trades[-1].trade_id
    assert [leg["kind"] for leg in newest["legs"]] == [leg.kind.value for leg in trades[-1].legs]
    assert newest["pnl"] == trades[-1].pnl
    assert [event["seq"] for event in document["events"]] == list(
        range(len(events), len(events) - 50, -1)
    )
    assert document["events"][0]["kind"] == events[-1].kind
    assert document["account"] == {"mode": "paper"}
    health = document["health"]
    assert health["last_bar_time"] == "2023-01-17T15:00:00Z"
    assert health["last_bar_close"] == "2023-01-17T16:00:00Z"
    assert health["running"] is False
    assert health["feed_lag_seconds"] > 0


def test_an_open_position_shows_its_ladder(client: httpx.Client, replay_db: Path) -> None:
    document = client.get("/api/stores/0/sessions/2").json()
    with SessionStore.open(replay_db, read_only=True) as reader:
        loaded = reader.load_state(2)
    assert loaded is not None
    held = loaded[0].position
    assert held is not None
    position = document["position"]
    assert position["side"] == "long"
    assert position["quantity"] == held.quantity
    assert position["entry_price"] == held.entry_price
    assert position["stop_loss"] == held.stop_loss
    assert position["unrealized_pnl"] == loaded[0].equity - loaded[0].cash
    rungs = [(level["kind"], level["rung"]) for level in position["ladder"]]
    assert ("partial exit", 3) in rungs
    base = held.first_entry_price
    prices = {level["rung"]: level["price"] for level in position["ladder"]}
    assert prices[3] == pytest.approx(base * 1.10, rel=1e-4)


def test_the_parity_badge_computes_in_the_background_and_says_identical(
    client: httpx.Client,
) -> None:
    first = client.get("/api/stores/0/sessions/1").json()["parity"]
    deadline = time.monotonic() + 60
    verdict = first
    while verdict["state"] == "computing" and time.monotonic() < deadline:
        time.sleep(0.2)
        verdict = client.get("/api/stores/0/sessions/1").json()["parity"]
    assert verdict["state"] == "identical", verdict
    assert verdict["as_of"] == "2023-01-17T15:00:00Z (369 bars)"
    assert verdict["current"] is True
    assert (verdict["bars"], verdict["total_divergences"]) == (369, 0)


def test_an_unknown_session_or_store_is_a_404_in_json(client: httpx.Client) -> None:
    missing = client.get("/api/stores/0/sessions/9")
    assert missing.status_code == 404
    assert "no session 9" in missing.json()["error"]
    assert client.get("/api/stores/3/sessions/1").status_code == 404


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_nothing_but_reads_is_served(client: httpx.Client, route: str, method: str) -> None:
    response = client.request(method, route)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_a_local_dashboard_refuses_a_foreign_host_header(client: httpx.Client) -> None:
    assert client.get("/api/overview", headers={"Host": "attacker.example"}).status_code == 400
    assert client.get("/api/overview", headers={"Host": "localhost:8050"}).status_code == 200
    assert client.get("/api/overview", headers={"Host": "[::1]:8050"}).status_code == 200


@pytest.fixture(scope="module")
def guarded(readers: list[StoreReader]) -> Iterator[httpx.Client]:
    with serving(build_app(readers, DashboardSettings(host="0.0.0.0", token=TOKEN))) as served:
        yield served


@pytest.mark.parametrize("route", ROUTES)
def test_off_localhost_every_route_needs_the_token(guarded: httpx.Client, route: str) -> None:
    refused = [
        guarded.get(route),
        guarded.get(route, headers={"Authorization": "Bearer wrong"}),
        guarded.get(route, params={"token": TOKEN[:-1]}),
        guarded.post(route),
    ]
    assert [response.status_code for response in refused] == [401, 401, 401, 401]
    assert all(TOKEN not in response.text for response in refused)
    expected = 404 if route == "/no/such/page" else 200
    by_header = guarded.get(route, headers={"Authorization": f"Bearer {TOKEN}"})
    by_query = guarded.get(route, params={"token": TOKEN})
    assert (by_header.status_code, by_query.status_code) == (expected, expected)


def test_the_page_passes_its_token_on_to_its_assets(guarded: httpx.Client) -> None:
    page = guarded.get("/", params={"token": TOKEN}).text
    assert f'src="/static/dashboard.js?token={TOKEN}"' in page
    assert f'href="/static/dashboard.css?token={TOKEN}"' in page


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session of 100,000 one-minute bars (written straight into the tables in one
    transaction: the engine would take minutes). Its strategy is unknown to atb, so the parity
    badge gives up at once instead of replaying 100k bars in the background."""
    db = tmp_path_factory.mktemp("big") / "big.sqlite3"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    count = 100_000
    with SessionStore.open(db) as store:
        session = store.create_session(
            strategy="dashboard_load_test",
            symbol="BTCUSDT",
            timeframe="1m",
            params={},
            config={},
            initial_balance=10_000.0,
        )
        times = [dump_time(start + timedelta(minutes=i)) for i in range(count)]
        # A wave with a slow drift: many local peaks and troughs to keep.
        equity = [10_000.0 + 500.0 * ((i * 37) % 1_000) / 1_000.0 - i * 0.01 for i in range(count)]
        with store.writing("fill 100,000 bars") as connection:
            connection.executemany(
                "INSERT INTO bars (session_id, time, open, high, low, close, volume)"
                " VALUES (?, ?, 100.0, 101.0, 99.0, 100.5, 1.0)",
                [(session.id, time_) for time_ in times],
            )
            connection.executemany(
                "INSERT INTO equity (session_id, bar_time, equity, cash, exposure)"
                " VALUES (?, ?, ?, ?, 0.0)",
                [
                    (session.id, time_, value, value)
                    for time_, value in zip(times, equity, strict=True)
                ],
            )
            connection.execute(
                "UPDATE sessions SET last_bar_time = ? WHERE id = ?", (times[-1], session.id)
            )
    return db


def test_a_100k_bar_session_is_served_fast_with_bounded_charts(big_db: Path) -> None:
    readers = open_stores([big_db])
    try:
        with serving(build_app(readers, DashboardSettings())) as client:
            started = time.monotonic()
            response = client.get("/api/stores/0/sessions/1")
            elapsed = time.monotonic() - started
            started = time.monotonic()
            again = client.get("/api/stores/0/sessions/1")  # no new bar: the cached curve
            cached = time.monotonic() - started
            overview = client.get("/api/overview").json()
    finally:
        for reader in readers:
            reader.close()
    assert response.status_code == 200
    document = response.json()
    charts = document["charts"]
    assert charts["points"] == 100_000
    assert len(charts["equity"]["t"]) <= MAX_CHART_POINTS
    assert len(charts["drawdown"]["v"]) <= MAX_CHART_POINTS
    assert min(charts["drawdown"]["v"]) == document["summary"]["max_drawdown"]
    assert len(response.content) < 200_000
    assert elapsed < 2.0, f"{elapsed:.2f} s for the 100k-bar session"
    assert again.json()["charts"] == charts
    assert cached < 0.5, f"{cached:.2f} s for the 100k-bar session's second poll"
    assert overview["stores"][0]["sessions"][0]["bars"] == 100_000


def test_a_real_money_session_shows_its_reconciliation_and_fill_deviations(
    tmp_path: Path,
) -> None:
    """The account panel from what a real session journals (written here through the journal
    the exchange venue uses): the baseline, an order still to reconcile, one open on the
    exchange, and a fill 10 bps worse than the simulation's."""
    db = tmp_path / "real.sqlite3"
    bar = datetime(2024, 1, 1, tzinfo=UTC)
    with SessionStore.open(db) as store:
        session = store.create_session(
            strategy="sma_cross",
            symbol="BTCUSDT",
            timeframe="1h",
            params={},
            config={},
            initial_balance=1_000.0,
            id_prefix="atb1a2b3c",
        )
        journal = StoreJournal(store, session.id)
        journal.record_baseline(
            AccountBaseline(
                base_asset="BTC",
                quote_asset="USDT",
                outside_base=0.5,
                outside_quote=20.0,
                adopted="BTC: 0.5 held",
            )
        )
        journal.write(
            [
                ExchangeOrder(
                    client_id=f"atb1a2b3c-{n}",
                    position_id=None,
                    kernel_order_id=None,
                    level=None,
                    rung=0,
                    list_id=None,
                    side="buy",
                    shape=OrderShape.LIMIT,
                    quantity=0.01,
                    price=40_000.0,
                    stop_price=None,
                    status=status,
                    exchange_id=None,
                    created_at=bar,
                )
                for n, status in ((1, JournalStatus.INTENT), (2, JournalStatus.OPEN))
            ]
        )
        journal.record_fill_pair(
            FillPair(
                bar_time=bar,
                client_id="atb1a2b3c-0",
                slot="market:o1",
                side="buy",
                liquidity="taker",
                real_price=40_040.0,
                real_quantity=0.01,
                real_fee=0.4,
                real_time=bar + timedelta(seconds=2),
                simulated_price=40_000.0,
                simulated_quantity=0.01,
                simulated_fee=0.4,
            )
        )
        account = session_detail(store, session.id, None, now=bar)["account"]
    assert isinstance(account, dict)
    assert account["mode"] == "live trading"
    assert account["baseline"] == {
        "base_asset": "BTC", "quote_asset": "USDT", "outside_base": 0.5, "outside_quote": 20.0,
        "adopted": "BTC: 0.5 held",
    }  # fmt: skip
    assert account["orders"] == {"intent": 1, "open": 1}
    assert str(account["reconciliation"]).startswith("1 journalled order(s) not yet confirmed")
    assert [order["client_id"] for order in account["open_orders"]] == ["atb1a2b3c-2"]
    quality = account["fill_quality"]
    assert quality["paired_fills"] == 1
    assert quality["price_bps_against"]["median"] == pytest.approx(10.0)
