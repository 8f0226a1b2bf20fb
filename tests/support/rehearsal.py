"""A real-money rehearsal: `atb live --live-trading` against a lockstep sandbox on 127.0.0.1.

The sandbox runs in the test process (so a test can read the exchange, audit every request and
kill the session at an exact request); `atb live` runs as a real subprocess with the keys in its
environment, exactly as a user starts it. The lockstep clock moves one bar each time the session
has caught up and asks for the next, and stands still while no session runs — so a run that is
killed and restarted sees the same exchange as one that never stopped.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import pandas as pd

from atb.data.bars import bars_from_frame
from atb.data.loading import load_candles
from atb.domain.bars import Bar
from atb.domain.errors import AtbError
from atb.domain.instruments import Instrument
from atb.persistence.store import SessionStore
from atb.venues.sandbox.clock import LockstepClock
from atb.venues.sandbox.exchange import SandboxExchange
from atb.venues.sandbox.faults import FaultPlan
from atb.venues.sandbox.server import RequestSeen, SandboxServer
from tests.support.live_harness import LiveProcess

KEY = "rehearsal-key-7f3a"
SECRET = "rehearsal-secret-d0-n0t-l0g-9b1c"
"""Made-up credentials; the secret is distinctive so a grep can find any leak of it."""
HOUR_MS = 3_600_000
HISTORY = 60
"""Bars already closed when the rehearsal starts (the session's warm-up comes from them)."""

STRATEGY_ARGS = (
    "sma_cross",
    "--symbol", "BTCUSDT", "--timeframe", "1h",
    "--param", "fast=5", "--param", "slow=20",
    "--param", "stop_loss=0.02", "--param", "take_profit=0.06",
    "--set", "trailing.activation_pct=0.01", "--set", "trailing.distance_pct=0.01",
    "--set", "partials.exit_targets=[[0.015,0.25],[0.03,0.25]]",
    "--set", "partials.scale_in_thresholds=[[0.008,0.25]]",
    "--set", "costs.slippage=0",
)  # fmt: skip
"""A strategy that enters, scales in, takes partial profits, trails and stops out on 1h bars."""


def demo_bars(days: int = 20, start: str = "2025-02-01") -> list[Bar]:
    """`days` of DEMO 1h candles from `start` (generated offline, the same on every machine)."""
    first = pd.Timestamp(start, tz="UTC")
    end = (first + pd.Timedelta(days=days)).isoformat()
    frame = load_candles("DEMO", "1h", first.isoformat(), end, allow_network=False).frame
    return bars_from_frame(frame)


@attrs.define
class Rehearsal:
    """The exchange side of a rehearsal, and what it saw."""

    bars: list[Bar]
    clock: LockstepClock
    exchange: SandboxExchange
    server: SandboxServer
    faults: FaultPlan
    posted: list[str] = attrs.Factory(list)
    """Every client order id a placement carried, in arrival order (legs of a list too)."""
    on_request: Callable[[RequestSeen], bool] | None = None
    """A test's hook (a kill switch), called for every request after the audit; True drops
    the request unprocessed."""
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    @property
    def url(self) -> str:
        """`--exchange-url`."""
        return self.server.url

    def observe(self, seen: RequestSeen) -> bool:
        """The server's observer: audit placements, then ask the test's hook."""
        hook = self.on_request
        drop = hook is not None and hook(seen)
        if seen.method == "POST" and not seen.answered and not drop:
            ids = [
                value
                for name, value in seen.params.items()
                if name in ("newClientOrderId", "aboveClientOrderId", "belowClientOrderId")
            ]
            with self._lock:
                self.posted.extend(ids)
        return drop

    def duplicates(self) -> list[str]:
        """Client ids that reached the exchange in more than one placement."""
        with self._lock:
            counts = collections.Counter(self.posted)
        return sorted(client_id for client_id, count in counts.items() if count > 1)

    def balances(self) -> dict[str, float]:
        """Total (free + locked) per asset."""
        return {asset: free + locked for asset, (free, locked) in self.exchange.balances().items()}

    @property
    def last_bar(self) -> Bar:
        """The last bar the replay will close."""
        return self.bars[-1]


@contextlib.contextmanager
def rehearsal(
    bars: Sequence[Bar],
    *,
    balances: dict[str, float] | None = None,
    history: int = HISTORY,
    participation: float | None = None,
) -> Iterator[Rehearsal]:
    """A lockstep sandbox over `bars` with `history` bars closed, serving on 127.0.0.1."""
    start = int(bars[history].time.timestamp() * 1000)
    end = int(bars[-1].time.timestamp() * 1000) + HOUR_MS
    clock = LockstepClock(start, bar_ms=HOUR_MS, end_ms=end)
    exchange = SandboxExchange(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        instrument=Instrument("BTCUSDT", 0.01, 1e-5, 5.0, base_asset="BTC", quote_asset="USDT"),
        bars=list(bars),
        bar_ms=HOUR_MS,
        balances=balances or {"USDT": 10_000.0, "BTC": 0.0},
        now_ms=clock,
        participation=participation,
    )
    faults = FaultPlan()
    server = SandboxServer(exchange, api_key=KEY, secret=SECRET, faults=faults)
    staged = Rehearsal(list(bars), clock, exchange, server, faults)
    server.observer = staged.observe
    server.start()
    try:
        yield staged
    finally:
        server.stop()


def start_session(
    staged: Rehearsal,
    db: Path,
    log: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    strategy: Sequence[str] = STRATEGY_ARGS,
) -> LiveProcess:
    """`atb live … --live-trading` against the rehearsal, keys in the environment."""
    args = [
        *strategy, "--live-trading", "--exchange-url", staged.url, "--db", str(db),
        "--poll-interval", "0.02", "--log-format", "json", *extra,
    ]  # fmt: skip
    keys = {"ATB_API_KEY": KEY, "ATB_API_SECRET": SECRET}
    return LiveProcess(args, log, env={**keys, **(env or {})})


def last_processed(db: Path) -> Bar | None:
    """The last bar the store's newest session committed (None before any)."""
    if not db.exists():
        return None
    try:
        with SessionStore.open(db, read_only=True) as store:
            session = store.latest_session()
            if session is None:
                return None
            bars = store.processed_bars(session.id)
    except AtbError:
        return None  # being created
    return bars[-1] if bars else None


def run_to_end(staged: Rehearsal, process: LiveProcess, db: Path, timeout: float = 240.0) -> None:
    """Wait until the session has processed the replay's last bar, then stop it cleanly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_alive()
        last = last_processed(db)
        if last is not None and last.time >= staged.last_bar.time:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the session did not reach {staged.last_bar.time} in {timeout} s")
    assert process.terminate() == 0
