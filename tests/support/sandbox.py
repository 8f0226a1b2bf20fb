"""A sandbox exchange on 127.0.0.1 over nine days of DEMO candles, with a clock moved by hand
(`running_sandbox`) or in lockstep with the client's klines requests
(`running_lockstep_sandbox`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import attrs

from atb.data.bars import bars_from_frame
from atb.data.loading import load_candles
from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
from atb.venues.sandbox.clock import LockstepClock
from atb.venues.sandbox.exchange import SandboxExchange
from atb.venues.sandbox.server import SandboxServer

KEY, SECRET = "sandbox-key", "sandbox-secret-do-not-log"
HOUR_MS = 3_600_000


@attrs.define
class Clock:
    """The replay clock, moved by hand."""

    now: int

    def __call__(self) -> int:
        return self.now


@attrs.frozen
class Sandbox:
    bars: list[Bar]
    clock: Clock
    exchange: SandboxExchange
    server: SandboxServer

    def opened_ms(self, index: int) -> int:
        return int(self.bars[index].time.timestamp() * 1000)


@attrs.frozen
class LockstepSandbox:
    bars: list[Bar]
    clock: LockstepClock
    exchange: SandboxExchange
    server: SandboxServer

    def opened_ms(self, index: int) -> int:
        return int(self.bars[index].time.timestamp() * 1000)


def _demo_bars() -> list[Bar]:
    frame = load_candles("DEMO", "1h", "2025-01-01", "2025-01-10", allow_network=False).frame
    return bars_from_frame(frame)


def _exchange(bars: list[Bar], clock: Callable[[], int]) -> SandboxExchange:
    return SandboxExchange(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        instrument=Instrument("BTCUSDT", 0.01, 1e-5, 5.0),
        bars=bars,
        bar_ms=HOUR_MS,
        balances={"USDT": 10_000.0, "BTC": 0.0},
        now_ms=clock,
    )


def running_sandbox() -> Iterator[Sandbox]:
    """Start a sandbox a minute into bar 5 with 10,000 USDT; stop it afterwards."""
    bars = _demo_bars()
    clock = Clock(int(bars[5].time.timestamp() * 1000) + 60_000)  # a minute into bar 5
    exchange = _exchange(bars, clock)
    server = SandboxServer(exchange, api_key=KEY, secret=SECRET).start()
    try:
        yield Sandbox(bars, clock, exchange, server)
    finally:
        server.stop()


def running_lockstep_sandbox() -> Iterator[LockstepSandbox]:
    """Start a lockstep sandbox at the open of bar 5 (bars 0-4 closed) with 10,000 USDT."""
    bars = _demo_bars()
    start = int(bars[5].time.timestamp() * 1000)
    end = int(bars[-1].time.timestamp() * 1000) + HOUR_MS
    clock = LockstepClock(start, bar_ms=HOUR_MS, end_ms=end)
    exchange = _exchange(bars, clock)
    server = SandboxServer(exchange, api_key=KEY, secret=SECRET).start()
    try:
        yield LockstepSandbox(bars, clock, exchange, server)
    finally:
        server.stop()
