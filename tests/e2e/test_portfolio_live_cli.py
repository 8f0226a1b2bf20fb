"""`atb live --symbols` and `atb parity --symbols` as a user runs them: the real `atb` in a
subprocess (and under a pseudo-terminal), replaying pairs from a folder.

A live portfolio killed with SIGKILL at several points and restarted each time ends identical
to an uninterrupted run — every bar time, account, member state, event, order and trade — and
`atb parity` proves it identical to the portfolio backtest of its candles. Synthetic pairs
always; the five real pairs of `../shared/data/portfolio/` when present (skipped otherwise).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from atb.data.loading import load_candles
from atb.persistence.portfolio_store import PortfolioStore
from atb.persistence.store import SessionStore
from tests.support.cli import ATB, run_atb
from tests.support.fake_binance import FakeBinance
from tests.support.live_harness import LiveProcess, wait_until
from tests.support.portfolio_pairs import SYNTHETIC, write_pairs
from tests.support.terminal import run_in_terminal, strip_escapes

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "portfolio"
REAL = ("DASHBTC", "ETHBTC", "LTCBTC", "XMRBTC", "ZECBTC")
STRATEGY = (
    "sma_cross", "--param", "fast=5", "--param", "slow=20", "--param", "stop_loss=0.01",
    "--param", "take_profit=0.015",
    "--set", "trailing.activation_pct=0.003", "--set", "trailing.distance_pct=0.002",
    "--set", "partials.exit_targets=[[0.004, 0.25], [0.008, 0.25]]",
    "--set", "partials.scale_in_thresholds=[[0.002, 0.25]]",
    "--set", "risk.max_position=0.3", "--set", "risk.max_positions=3",
    "--set", "correlation=on", "--initial-balance", "1",
)  # fmt: skip


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("pairs"), bars=500)


def _live(symbols: tuple[str, ...], data: Path, db: Path, *extra: str) -> list[str]:
    rules = [] if symbols == REAL else ["--instruments", str(data / "instruments.toml")]
    return [
        *STRATEGY, "--symbols", ",".join(symbols), "--timeframe", _timeframe(symbols),
        "--paper-trading", "--replay", str(data), "--db", str(db), "--log-format", "json",
        *rules, *extra,
    ]  # fmt: skip


def _timeframe(symbols: tuple[str, ...]) -> str:
    return "5m" if symbols == REAL else "1h"


def _stepped(db: Path) -> int:
    """Bar times the store's portfolio has committed (0 before it exists)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            (count,) = connection.execute("SELECT COUNT(*) FROM portfolio_steps").fetchone()
            return int(count)
    except sqlite3.Error:  # the writer is still creating the schema
        return 0


def _crash_and_compare(
    symbols: tuple[str, ...], data: Path, tmp_path: Path, kills: tuple[int, ...], pace: str
) -> None:
    clean_db, crashed_db = tmp_path / "clean.sqlite3", tmp_path / "crashed.sqlite3"
    clean = run_atb("live", *_live(symbols, data, clean_db), timeout=600)
    assert clean.returncode == 0, clean.stderr[-2000:]
    log = tmp_path / "crashed.log"
    for target in kills:
        process = LiveProcess(_live(symbols, data, crashed_db, "--pace", pace), log)

        def reached(bars: int = target) -> bool:
            return _stepped(crashed_db) >= bars

        wait_until(reached, timeout=300, process=process)
        process.kill()
    last = run_atb("live", *_live(symbols, data, crashed_db), timeout=600)
    assert last.returncode == 0, last.stderr[-2000:]
    with (
        SessionStore.open(clean_db, read_only=True) as first,
        SessionStore.open(crashed_db, read_only=True) as second,
    ):
        one, two = PortfolioStore(first), PortfolioStore(second)
        steps = one.steps(1)
        assert steps == two.steps(1)
        assert len(steps) > max(kills)
        assert one.events(1) == two.events(1)
        assert one.last_account(1) == two.last_account(1)
        assert len(two.list_portfolios()) == 1  # every restart resumed the same portfolio
        trades = 0
        for symbol, session_id in one.get(1).members.items():
            assert first.events(session_id) == second.events(session_id), symbol
            assert first.load_state(session_id) == second.load_state(session_id), symbol
            assert first.trades(session_id) == second.trades(session_id), symbol
            orders = second.orders(session_id)
            assert len({order.order_id for order in orders}) == len(orders)
            assert orders == first.orders(session_id)
            trades += len(first.trades(session_id))
        assert trades > 20
    parity = run_atb("parity", "--db", str(crashed_db))
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert "identical: portfolio 1" in parity.stdout


def test_synthetic_pairs_killed_and_restarted_end_as_an_uninterrupted_run(
    synthetic: Path, tmp_path: Path
) -> None:
    _crash_and_compare(SYNTHETIC, synthetic, tmp_path, kills=(40, 150, 300), pace="0.01")


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the real pairs are not at {SHARED}")
def test_the_five_real_pairs_killed_and_restarted_end_as_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    _crash_and_compare(REAL, SHARED, tmp_path, kills=(500, 2500, 4500), pace="0.001")


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the real pairs are not at {SHARED}")
def test_parity_of_the_five_real_pairs_is_identical() -> None:
    done = run_atb(
        "parity", "--strategy", *STRATEGY, "--symbols", ",".join(REAL), "--timeframe", "5m",
        "--data", str(SHARED),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "identical: portfolio 1, 5739 bars compared" in done.stdout


def test_parity_of_synthetic_pairs_given_as_files_is_identical(synthetic: Path) -> None:
    files = [arg for symbol in SYNTHETIC for arg in ("--data", str(synthetic / f"{symbol}_1h.csv"))]
    done = run_atb(
        "parity", "--json", "--strategy", *STRATEGY, "--symbols", ",".join(SYNTHETIC),
        "--timeframe", "1h", *files, "--instruments", str(synthetic / "instruments.toml"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"portfolio": 1' in done.stdout
    assert '"identical": true' in done.stdout


def test_a_live_portfolio_replay_in_a_terminal(synthetic: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    args = _live(SYNTHETIC, synthetic, db)
    args[args.index("json")] = "text"
    run = run_in_terminal([str(ATB), "live", *args])
    screen = strip_escapes(run.raw)
    assert run.exit_code == 0, screen[-2000:]
    assert "Traceback" not in screen
    assert "replay sma_cross 3 symbols 1h" in screen  # the progress display
    assert "Live portfolio 1 (paper), 3 symbols" in screen  # the closing summary
    for symbol in SYNTHETIC:
        assert symbol in screen
    status = run_atb("live", "status", "--db", str(db), env={"COLUMNS": "250"})
    assert status.returncode == 0, status.stderr
    assert "live portfolios" in status.stdout
    assert "AAABTC (portfolio 1)" in status.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--live-trading",), "--live-trading does not apply to a portfolio (--symbols)"),
        (("--tick-size", "0.01"), "--tick-size does not apply to a portfolio (--symbols)"),
        (("--symbol", "AAABTC"), "name the market with --symbol S, or a portfolio with --symbols"),
    ],
)
def test_options_a_portfolio_lacks_are_refused_in_one_line(
    synthetic: Path, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    db = tmp_path / "live.sqlite3"
    args = [arg for arg in _live(SYNTHETIC, synthetic, db) if arg != "--paper-trading"]
    if "--live-trading" not in extra:
        args.append("--paper-trading")
    done = run_atb("live", *args, *extra)
    assert done.returncode == 2
    assert message in done.stderr
    assert not db.exists()


def test_mixed_quote_currencies_are_refused_and_leave_no_store(tmp_path: Path) -> None:
    folder = write_pairs(tmp_path / "pairs", bars=320)
    (folder / "AAABTC_1h.csv").rename(folder / "AAAUSDT_1h.csv")
    db = tmp_path / "live.sqlite3"
    args = _live(SYNTHETIC, folder, db)
    args[args.index(",".join(SYNTHETIC))] = "AAAUSDT,BBBBTC"
    rules = (folder / "instruments.toml").read_text()
    (folder / "instruments.toml").write_text(
        rules.replace("[AAABTC]", "[AAAUSDT]").replace('"BTC"', '"USDT"', 1)
    )
    done = run_atb("live", *args)
    assert done.returncode == 2, done.stderr
    assert "mixed quote currencies" in done.stderr.strip().splitlines()[-1]
    assert not db.exists()


def test_a_portfolio_is_pruned_whole_and_never_flattened(synthetic: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    first = run_atb("live", *_live(SYNTHETIC, synthetic, db))
    assert first.returncode == 0, first.stderr[-2000:]
    log = tmp_path / "second.log"
    second = LiveProcess(_live(SYNTHETIC, synthetic, db, "--new-session", "--pace", "0.05"), log)
    wait_until(lambda: _stepped(db) > 480, timeout=60, process=second)  # the second has begun
    flatten = run_atb("live", "stop", "--flatten", "--db", str(db))
    assert flatten.returncode == 2
    assert "runs portfolio 2: --flatten does not apply to a portfolio yet" in flatten.stderr
    stopped = run_atb("live", "stop", "--db", str(db))
    assert stopped.returncode == 0, stopped.stderr
    assert second.process.wait(timeout=30) == 0
    assert any(event["event"] == "stopped" for event in second.log_events(own=True))

    member = run_atb("live", "prune", "--session", "1", "--db", str(db))
    assert member.returncode == 2
    assert "session 1 is the AAABTC member of portfolio 1: prune the portfolio whole" in (
        member.stderr
    )
    active = run_atb("live", "prune", "--portfolio", "2", "--db", str(db))
    assert active.returncode == 2
    assert "portfolio 2 in" in active.stderr
    pruned = run_atb("live", "prune", "--all-stopped", "--db", str(db))
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("pruned session(s) none and portfolio(s) 1: ")
    with SessionStore.open(db, read_only=True) as store:
        assert [portfolio.id for portfolio in PortfolioStore(store).list_portfolios()] == [2]
        assert {session.portfolio_id for session in store.list_sessions()} == {2}


EXCHANGE_BARS = 400
EXCHANGE_START = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=150)
"""Where the fake exchange's clock stands when the portfolio starts: 150 bars of history."""


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[FakeBinance]:
    """The synthetic pairs (BBBBTC with two missing bars, CCCBTC listed 30 bars later) served by
    a fake Binance on 127.0.0.1, with BTC-quoted rules; its clock paused at EXCHANGE_START."""
    folder = write_pairs(tmp_path / "pairs", bars=EXCHANGE_BARS)
    frames = {
        symbol: load_candles(symbol, "1h", data_file=folder / f"{symbol}_1h.csv").frame
        for symbol in SYNTHETIC
    }
    with FakeBinance(frames["AAABTC"], symbol="AAABTC", timeframe="1h") as fake:
        for symbol in SYNTHETIC:
            if symbol != "AAABTC":
                fake.add_series(symbol, "1h", frames[symbol])
            fake.set_rules(
                symbol, tick_size="0.000001", step_size="0.001", min_qty="0.001",
                min_notional="0.0001", base=symbol[:3], quote="BTC",
            )  # fmt: skip
        fake.set_clock(EXCHANGE_START, speed=0.0)
        yield fake


def _portfolio_started(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            (count,) = connection.execute("SELECT COUNT(*) FROM portfolios").fetchone()
            return int(count) > 0
    except sqlite3.Error:
        return False


def test_a_portfolio_on_an_exchange_survives_a_kill_and_matches_its_backtest(
    exchange: FakeBinance, tmp_path: Path
) -> None:
    """Three feeds polled over HTTP, a gap and a later listing, SIGKILL mid-run and a restart
    that catches up the bars that closed meanwhile: identical to the portfolio backtest of the
    candles it stored, and those are every closed bar the exchange served."""
    db = tmp_path / "live.sqlite3"
    args = [
        *STRATEGY, "--symbols", ",".join(SYNTHETIC), "--timeframe", "1h", "--paper-trading",
        "--exchange-url", exchange.url, "--db", str(db), "--poll-interval", "0.02",
        "--log-format", "json",
    ]  # fmt: skip
    env = {"ATB_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "live.log"
    first = LiveProcess(args, log, env)
    wait_until(lambda: _portfolio_started(db), timeout=60, process=first)
    exchange.set_clock(exchange.now_ms(), speed=3600.0 * 20)  # 20 bars a second
    wait_until(lambda: _stepped(db) >= 60, timeout=60, process=first)
    first.kill()
    second = LiveProcess(args, log, env)
    expected = EXCHANGE_BARS - 150 - 1  # every bar but the last, which may still be forming
    wait_until(lambda: _stepped(db) >= expected, timeout=120, process=second)
    exchange.set_clock(exchange.now_ms(), speed=0.0)
    assert second.terminate() == 0
    parity = run_atb("parity", "--db", str(db))
    assert parity.returncode == 0, parity.stdout + parity.stderr
    assert "identical: portfolio 1" in parity.stdout
    with SessionStore.open(db, read_only=True) as store:
        portfolio = PortfolioStore(store).get(1)
        processed = {
            symbol: [bar.time for bar in store.processed_bars(portfolio.members[symbol])]
            for symbol in SYNTHETIC
        }
        history_ends = {
            store.history_bars(portfolio.members[symbol])[-1].time for symbol in SYNTHETIC
        }
    # Every bar that closed while the sessions ran (the last one may or may not have closed
    # before the clock was stopped), in order, none lost at the kill, none twice.
    hours = [EXCHANGE_START + pd.Timedelta(hours=n) for n in range(EXCHANGE_BARS - 150)]
    hours = hours[: len(processed["AAABTC"])]
    assert len(hours) >= expected
    gap = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=300)  # BBBBTC has none
    assert history_ends == {EXCHANGE_START - pd.Timedelta(hours=1)}
    assert processed == {
        "AAABTC": hours,
        "BBBBTC": [time for time in hours if time != gap],
        "CCCBTC": hours,
    }
