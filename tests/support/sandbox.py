"""A sandbox exchange on 127.0.0.1 over nine days of DEMO candles, with a clock moved by hand."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from atb.data.bars import bars_from_frame
from atb.data.loading import load_candles
from atb.domain.bars import Bar
from atb.domain.instruments import Instrument
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


def running_sandbox() -> Iterator[Sandbox]:
    """Start a sandbox a minute into bar 5 with 10,000 USDT; stop it afterwards."""
    frame = load_candles("DEMO", "1h", "2025-01-01", "2025-01-10", allow_network=False).frame
    bars = bars_from_frame(frame)
    clock = Clock(int(bars[5].time.timestamp() * 1000) + 60_000)  # a minute into bar 5
    exchange = SandboxExchange(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        instrument=Instrument("BTCUSDT", 0.01, 1e-5, 5.0),
        bars=bars,
        bar_ms=HOUR_MS,
        balances={"USDT": 10_000.0, "BTC": 0.0},
        now_ms=clock,
    )
    server = SandboxServer(exchange, api_key=KEY, secret=SECRET).start()
    try:
        yield Sandbox(bars, clock, exchange, server)
    finally:
        server.stop()
